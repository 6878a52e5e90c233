// Programmatic dependent launch (PDL, sm_90+) for the kernels of a decode step. A batch-1 decode step is a chain of
// ~200 short kernels; between two of them the GPU idles for the launch and for the previous kernel's tail (the last
// warps draining). With PDL the next kernel is launched while the previous one still runs: it issues what does not
// depend on it (L2 prefetch of its weights), then waits (griddepcontrol.wait) for the previous grid to complete and
// its writes to be visible. CUDA graph capture records these launches as programmatic edges.
//
// Rules every kernel launched through launchMaybePdl follows (so that the chain stays ordered transitively):
//   - pdlWaitForPrevious() before its first read of anything an earlier kernel of the stream wrote and before its
//     first global write, and on every path (a grid that exits without waiting could finish before its predecessor);
//   - pdlLaunchDependents() only at a point after which the kernel no longer needs many SM slots (its dependents'
//     blocks take the free ones).
// Without the attribute (PDL off, or a device before sm_90) both device calls are no-ops, so the kernels stay correct
// in every build and launch mode.
//
// PDL is used only inside a PdlScope(true) on the launching thread (the decode layers of CudaModel, benchmarks):
// other callers of the same launchers keep plain launches.
#pragma once
#include <cuda_runtime.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

#include "cuda/cuda_util.h"

namespace serval {

__device__ __forceinline__ void pdlWaitForPrevious() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdlLaunchDependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

/** Asks the copy engine to bring [p, p + bytes) into L2 (bytes a multiple of 16, p 16-byte aligned); no completion
 *  to wait for. sm_90 only (PDL, which gives the prefetch time to land, is sm_90 only too). */
__device__ __forceinline__ void prefetchL2Bulk(const void* p, unsigned bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(p), "r"(bytes) : "memory");
#endif
}

/** Facts of the current device the PDL launches depend on, queried once per device. */
struct PdlDeviceFacts {
  int ccMajor = 0, numSms = 0, l2Bytes = 0;
};
inline const PdlDeviceFacts& currentPdlDeviceFacts() {
  constexpr int kMaxDevices = 64;
  static PdlDeviceFacts facts[kMaxDevices];
  static std::once_flag once[kMaxDevices];
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  if (dev >= kMaxDevices) throw std::runtime_error("CUDA device index " + std::to_string(dev) + " >= 64");
  std::call_once(once[dev], [dev] {
    PdlDeviceFacts f;
    CUDA_CHECK(cudaDeviceGetAttribute(&f.ccMajor, cudaDevAttrComputeCapabilityMajor, dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&f.numSms, cudaDevAttrMultiProcessorCount, dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&f.l2Bytes, cudaDevAttrL2CacheSize, dev));
    facts[dev] = f;
  });
  return facts[dev];
}

/** Share of L2 that the weight prefetch of one PDL GEMV launch may fill (see gemvPrefetchBytesPerRow). */
constexpr float kDefaultPdlL2PrefetchShare = 0.5f;

struct PdlThreadState {
  bool enabled = false;
  float l2PrefetchShare = kDefaultPdlL2PrefetchShare;
};
inline PdlThreadState& pdlThreadState() {
  static thread_local PdlThreadState s;
  return s;
}

/** While alive, launchMaybePdl on this thread uses PDL when `enabled` and the device is sm_90+. Nests. */
class PdlScope {
 public:
  explicit PdlScope(bool enabled, float l2PrefetchShare = kDefaultPdlL2PrefetchShare) : saved_(pdlThreadState()) {
    pdlThreadState() = PdlThreadState{enabled, l2PrefetchShare};
  }
  ~PdlScope() { pdlThreadState() = saved_; }
  PdlScope(const PdlScope&) = delete;
  PdlScope& operator=(const PdlScope&) = delete;

 private:
  PdlThreadState saved_;
};

/** whether launches on this thread, current device, use PDL now */
inline bool pdlActive() { return pdlThreadState().enabled && currentPdlDeviceFacts().ccMajor >= 9; }

/** SERVAL_PDL: unset, "1" or "on" -> true (PDL on sm_90+ devices); "0" or "off" -> false (plain launches, for
 *  before/after measurements and bisecting); anything else throws naming the accepted values. */
inline bool pdlFromEnv() {
  const char* v = std::getenv("SERVAL_PDL");
  if (!v || !*v) return true;
  const std::string s(v);
  if (s == "1" || s == "on") return true;
  if (s == "0" || s == "off") return false;
  throw std::invalid_argument("SERVAL_PDL=" + s + " is not one of: 1, on, 0, off");
}

/** kernel<<<grid, block, smem, stream>>>(args...), with the programmatic-serialization attribute when pdlActive() */
template <typename... Params, typename... Args>
void launchMaybePdl(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                    Args&&... args) {
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cfg.attrs = attr;
  cfg.numAttrs = pdlActive() ? 1 : 0;
  CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...));
}

}  // namespace serval
