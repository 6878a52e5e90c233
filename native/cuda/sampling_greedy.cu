// One block per row: each thread scans a strided slice of the vocabulary, then a warp-shuffle + shared-memory
// reduction keeps (largest value, lowest id). Reads each logit once: bound by memory bandwidth (~0.6 MB per row).
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "cuda/cuda_util.h"
#include "cuda/sampling_greedy.h"

namespace serval {

namespace {

constexpr int kThreads = 512;

struct Best {
  float v;
  int id;  // INT32_MAX: nothing beat -inf
};

// the better of two candidates: larger value, lowest id on ties (both only ever hold values > -inf or the sentinel)
__device__ __forceinline__ Best better(Best a, Best b) {
  if (b.v > a.v || (b.v == a.v && b.id < a.id)) return b;
  return a;
}

__global__ void greedyArgmaxKernel(const float* __restrict__ logits, int V, const int32_t* __restrict__ rowMask,
                                   const int32_t* __restrict__ masks, int words, int32_t* __restrict__ out) {
  const int r = blockIdx.x;
  const int32_t m = rowMask[r];
  if (m == kGreedySkipRow) return;
  const float* row = logits + (size_t)r * V;
  const int32_t* mask = m >= 0 ? masks + (size_t)m * words : nullptr;
  Best best{-INFINITY, INT32_MAX};
  int anyAllowed = 0;  // a token neither masked nor -inf (NaN counts: the host's hasAllowedToken does the same)
  for (int t = threadIdx.x; t < V; t += blockDim.x) {
    if (mask && ((mask[t >> 5] >> (t & 31)) & 1) == 0) continue;
    const float v = row[t];
    if (v != -INFINITY) anyAllowed = 1;
    if (v > best.v) best = Best{v, t};  // strided ascending ids: strict '>' keeps this thread's lowest id
  }
  for (int off = 16; off > 0; off >>= 1) {
    Best o{__shfl_down_sync(0xffffffffu, best.v, off), __shfl_down_sync(0xffffffffu, best.id, off)};
    best = better(best, o);
  }
  anyAllowed = __syncthreads_or(anyAllowed);
  __shared__ float sv[kThreads / 32];
  __shared__ int si[kThreads / 32];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) {
    sv[warp] = best.v;
    si[warp] = best.id;
  }
  __syncthreads();
  if (warp == 0) {
    const int nw = blockDim.x >> 5;
    best = lane < nw ? Best{sv[lane], si[lane]} : Best{-INFINITY, INT32_MAX};
    for (int off = 16; off > 0; off >>= 1) {
      Best o{__shfl_down_sync(0xffffffffu, best.v, off), __shfl_down_sync(0xffffffffu, best.id, off)};
      best = better(best, o);
    }
    if (lane == 0) out[r] = !anyAllowed ? -1 : best.id == INT32_MAX ? 0 : best.id;
  }
}

}  // namespace

void launchGreedyArgmax(const float* logits, int rows, int V, const int32_t* rowMask, const int32_t* masks, int words,
                        int32_t* out, cudaStream_t s) {
  if (rows <= 0) return;
  greedyArgmaxKernel<<<rows, kThreads, 0, s>>>(logits, V, rowMask, masks, words, out);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace serval
