// Host-side interface of the CUDA backend, free of CUDA headers so the Node-API bindings compile with g++.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/forward_batch.h"
#include "common/model_spec.h"
#include "cuda/sampling_api.h"

namespace serval {

struct CudaDeviceInfo {
  std::string name;
  size_t totalMemory = 0, freeMemory = 0;
  int major = 0, minor = 0, multiprocessors = 0;
};

struct CudaStatus {
  int deviceCount = 0;
  std::string error;  // empty when devices were enumerated
  std::vector<CudaDeviceInfo> devices;
};

/** Never throws: a machine without driver/GPU gives deviceCount 0 and the CUDA error text. */
CudaStatus queryCuda();

/** Device-to-device copy bandwidth (bytes read + written per second) on `device`, for the decode floor. */
double measureCopyBandwidth(int device, size_t bytes, int iterations);

struct CudaModelOptions {
  int device = 0;
  int numBlocks = 0, blockSize = 16;  // numBlocks 0: no cache until allocateKvCache
  /** fill weights with seeded random values on the GPU instead of reading files (--load-format dummy) */
  bool dummyWeights = false;
  uint64_t seed = 0;
  /** most tokens one forward may carry (sizes the activation buffers) */
  int maxNumTokens = 8192;
  /** decode-sized steps on the GEMV kernels and the fused decode layer (false: cuBLASLt for all, for comparison) */
  bool skinnyGemm = true;
  /** replay decode-only steps (1 token per row) from captured CUDA graphs (--enforce-eager: false) */
  bool cudaGraphs = true;
  /** ascending batch sizes a decode-only step of n rows is padded up to (the smallest >= n), graph replay or eager
   *  alike; larger steps run eager. Empty: no padding, graphs per exact size up to 256 rows, captured on first use. */
  std::vector<int> decodeBatchSizes;
  /** caps the block-table stride of the graphs captureDecodeGraphs records (0: no start-up capture bound) */
  int maxModelLen = 0;
  /** storage type of weights, KV cache and low-precision activations (--dtype); fp32 accumulate in every case */
  DType dtype = DType::BF16;
  /** K/V cache type (--kv-cache-dtype) when it differs from dtype: only F16 under BF16 weights is built
   *  (SERVAL_FOR_EACH_KV_PAIR); unset: the cache is in dtype. Same bytes per value either way. */
  std::optional<DType> kvCacheDtype;
};

struct CudaMemoryReport {
  size_t weightBytes = 0, kvCacheBytes = 0, activationBytes = 0, workspaceBytes = 0;
  /** device memory the sampler's worst case took (reserveSampling) and the captured graphs hold (captureDecodeGraphs),
   *  both measured as cudaMemGetInfo deltas; 0 until those ran */
  size_t samplingBytes = 0, graphBytes = 0;
};

/** what captureDecodeGraphs did */
struct CudaGraphCaptureReport {
  int graphs = 0;
  double milliseconds = 0;
  size_t bytes = 0;
};

/** cudaMemGetInfo on `device`: bytes free and total (everything allocated by anyone counts as used). */
void cudaMemoryInfo(int device, size_t* freeBytes, size_t* totalBytes);

class CudaModelImpl;

/** weights and KV cache in the storage dtype (bf16, fp16 or fp32) on one GPU, fp32 residual stream, cuBLASLt GEMMs;
 *  same forward as CpuModel. */
class CudaModel {
 public:
  CudaModel(const ModelSpec& spec, const std::vector<TensorRef>& tensors, const CudaModelOptions& opts);
  ~CudaModel();
  void forward(const ForwardBatch& b, float* logits);
  /** Enqueues the forward on the GPU and returns without waiting for it; sample() must follow. */
  void enqueueForward(const ForwardBatch& b);
  /** From any thread: blocks until the GPU has finished the forward enqueueForward issued last (its logits are
   *  written); throws the CUDA error when that work failed. Returns at once before any forward. */
  void waitForwardDone();
  /** After enqueueForward: samples its first req.numRows logit rows on the GPU (sampling_api.h), copies back only
   *  tokens, requested logprobs and req.copyRows' logits, and waits for the GPU. */
  void sample(const SampleRequest& req, SampleResult& out);
  /** Replaces the paged KV cache by one of `numBlocks` usable blocks plus the padding rows' scratch block (contents
   *  are zeroed); captured graphs are re-recorded against the new cache in place (no new graph memory). */
  void allocateKvCache(int numBlocks);
  /** Captures the decode graph of every decodeBatchSizes entry x block-table stride bucket up to maxModelLen's (after
   *  the memory profile, so the profile sees their memory). Throws when CUDA graphs are off or no sizes were given. */
  CudaGraphCaptureReport captureDecodeGraphs();
  /** Runs the GPU sampler once on a worst-case request of `rows` rows (every mask, bias, penalties over
   *  `penaltyIdsPerRow` ids, the most top logprobs) so its buffers reach their largest size inside the memory
   *  profile; returns the device bytes that took. Needs a forward of at least `rows` logit rows before it. */
  size_t reserveSampling(int rows, int penaltyIdsPerRow);
  CudaMemoryReport memory() const;
  const ModelSpec& spec() const;

 private:
  std::unique_ptr<CudaModelImpl> impl_;
};

}  // namespace serval
