// Programmatic dependent launch (PDL, sm_90+) for the kernels of a decode step. A batch-1 decode step is a chain of
// ~200 short kernels; between two of them the GPU idles for the launch and for the previous kernel's tail (its last
// warps draining). With PDL the next kernel is launched while the previous one still runs: its blocks take the SM
// slots the previous grid leaves free, issue what does not depend on it (a batch-1 GEMV's first weight loads), then wait
// (griddepcontrol.wait) for the previous grid to complete and its writes to be visible. CUDA graph capture records
// these launches as programmatic edges.
//
// Rules every kernel launched through launchMaybePdl follows (so that the chain stays ordered transitively):
//   - pdlWaitForPrevious() before its first read of anything an earlier kernel of the stream wrote and before its
//     first global write, and on every path (a grid that exits without waiting could finish before its predecessor);
//   - pdlLaunchDependents() (lets the next kernel launch; it takes effect once every block of the grid has executed it
//     or exited) where the kernel's own memory traffic is done: GEMVs after their weight loads, the norms and the
//     split-KV merge at once (one block per row / head; their dependent GEMV issues its first weight loads meanwhile).
//     Letting the GEMVs' dependents launch right after their wait instead was measured slower on an H200
//     (bench/native/README.md, "programmatic dependent launch").
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

/** compute capability major of the current device, queried once per device */
inline int currentDeviceCcMajor() {
  constexpr int kMaxDevices = 64;
  static int major[kMaxDevices];
  static std::once_flag once[kMaxDevices];
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  if (dev >= kMaxDevices) throw std::runtime_error("CUDA device index " + std::to_string(dev) + " >= 64");
  std::call_once(once[dev], [dev] { CUDA_CHECK(cudaDeviceGetAttribute(&major[dev], cudaDevAttrComputeCapabilityMajor, dev)); });
  return major[dev];
}

inline bool& pdlThreadEnabled() {
  static thread_local bool enabled = false;
  return enabled;
}

/** While alive, launchMaybePdl on this thread uses PDL when `enabled` and the device is sm_90+. Nests. */
class PdlScope {
 public:
  explicit PdlScope(bool enabled) : saved_(pdlThreadEnabled()) { pdlThreadEnabled() = enabled; }
  ~PdlScope() { pdlThreadEnabled() = saved_; }
  PdlScope(const PdlScope&) = delete;
  PdlScope& operator=(const PdlScope&) = delete;

 private:
  bool saved_;
};

/** whether launches on this thread, current device, use PDL now */
inline bool pdlActive() { return pdlThreadEnabled() && currentDeviceCcMajor() >= 9; }

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
