// Paged attention for mixed batches: one block per (query token, head), keys visited in tiles of 128 with an
// online softmax. Covers prefill chunks (causal within the chunk, plus the row's cached context) and decode, GQA.
// CUDA cores (any K/V cache type C, fp32 included; output type S), no split over the KV length: the kernel for what the tensor-core prefill and split-KV decode kernels do
// not cover (see attention_dispatch.h for the rules). tokenList (nullable) names the tokens to compute.
#include <cmath>

#include "cuda/cuda_util.h"
#include "cuda/kernels.h"

namespace serval {

constexpr int kAttnThreads = 128;
constexpr int kMaxDimsPerThread = 4;  // headDim <= 512

__device__ __forceinline__ float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ float blockReduce(float v, float* red, bool isMax) {
  v = isMax ? warpMax(v) : warpSum(v);
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
  __syncthreads();
  float r = red[0];
  for (int i = 1; i < kAttnThreads / 32; ++i) r = isMax ? fmaxf(r, red[i]) : r + red[i];
  __syncthreads();
  return r;
}

template <class C, class S>
__global__ void pagedAttentionKernel(const float* qkv, const C* kCache, const C* vCache, const int32_t* tokenList,
                                     const int32_t* tokenRow, const int32_t* positions, const int32_t* blockTables,
                                     int maxBlocksPerRow, int blockSize, S* out, float* outF, int nh, int nkv, int hd,
                                     float scale) {
  extern __shared__ float shared[];
  float* qs = shared;                    // [hd] scaled query
  float* ps = qs + hd;                   // [kAttnThreads] probabilities of the tile
  float* red = ps + kAttnThreads;        // [kAttnThreads / 32] reduction scratch
  int* slotS = reinterpret_cast<int*>(red + kAttnThreads / 32);  // [kAttnThreads] cache slots of the tile
  const int t = tokenList ? tokenList[blockIdx.x] : blockIdx.x, h = blockIdx.y, kvh = h / (nh / nkv), tid = threadIdx.x;
  const int r = tokenRow[t];
  // Causal: the token at position p sees the row's KV positions 0..p.
  const int visible = positions[t] + 1;
  const int32_t* table = blockTables + (size_t)r * maxBlocksPerRow;
  const size_t rowStride = (size_t)(nh + 2 * nkv) * hd;
  for (int d = tid; d < hd; d += kAttnThreads) qs[d] = qkv[t * rowStride + (size_t)h * hd + d] * scale;
  __syncthreads();

  float acc[kMaxDimsPerThread];
  for (int c = 0; c < kMaxDimsPerThread; ++c) acc[c] = 0.f;
  float m = -INFINITY, l = 0.f;
  for (int start = 0; start < visible; start += kAttnThreads) {
    const int j = start + tid;
    float score = -INFINITY;
    if (j < visible) {
      const int slot = table[j / blockSize] * blockSize + j % blockSize;
      slotS[tid] = slot;
      const C* kr = kCache + ((size_t)slot * nkv + kvh) * hd;
      float dot = 0.f;
      for (int d2 = 0; d2 < hd / 2; ++d2) {
        const float2 k2 = pairToFloat2(kr + 2 * d2);
        dot += qs[2 * d2] * k2.x + qs[2 * d2 + 1] * k2.y;
      }
      score = dot;
    }
    const float newM = fmaxf(m, blockReduce(score, red, true));
    const float p = j < visible ? expf(score - newM) : 0.f;
    ps[tid] = p;
    const float tileSum = blockReduce(p, red, false);  // its barriers also publish ps/slotS
    const float corr = expf(m - newM);
    l = l * corr + tileSum;
    const int n = min(kAttnThreads, visible - start);
    for (int c = 0; c < kMaxDimsPerThread; ++c) {
      const int d = tid + c * kAttnThreads;
      if (d >= hd) break;
      float a = acc[c] * corr;
      for (int jj = 0; jj < n; ++jj)
        a += ps[jj] * toFloat(vCache[((size_t)slotS[jj] * nkv + kvh) * hd + d]);
      acc[c] = a;
    }
    m = newM;
    __syncthreads();  // the next tile overwrites ps/slotS
  }
  const float inv = 1.f / l;
  for (int c = 0; c < kMaxDimsPerThread; ++c) {
    const int d = tid + c * kAttnThreads;
    if (d >= hd) break;
    const size_t o = ((size_t)t * nh + h) * hd + d;
    if (outF)
      outF[o] = acc[c] * inv;
    else
      out[o] = fromFloat<S>(acc[c] * inv);
  }
}

template <class C, class S>
void launchPagedAttention(const float* qkv, const C* kCache, const C* vCache, const int32_t* tokenList,
                          const int32_t* tokenRow, const int32_t* positions, const int32_t* blockTables,
                          int maxBlocksPerRow, int blockSize, S* out, int T, int nh, int nkv, int hd, cudaStream_t s,
                          float* outF) {
  if (T == 0) return;
  if (hd > kAttnThreads * kMaxDimsPerThread) throw std::runtime_error("CUDA attention: headDim > 512 is not implemented");
  const size_t shared = (hd + kAttnThreads + kAttnThreads / 32) * sizeof(float) + kAttnThreads * sizeof(int);
  dim3 grid(T, nh);
  pagedAttentionKernel<C, S><<<grid, kAttnThreads, shared, s>>>(qkv, kCache, vCache, tokenList, tokenRow, positions, blockTables,
                                                          maxBlocksPerRow, blockSize, out, outF, nh, nkv, hd,
                                                          1.f / sqrtf((float)hd));
  CUDA_CHECK(cudaGetLastError());
}

#define SERVAL_INSTANTIATE(C, S)                                                                                 \
  template void launchPagedAttention<C, S>(const float*, const C*, const C*, const int32_t*, const int32_t*,     \
                                           const int32_t*, const int32_t*, int, int, S*, int, int, int, int,     \
                                           cudaStream_t, float*);
SERVAL_FOR_EACH_KV_PAIR(SERVAL_INSTANTIATE)
#undef SERVAL_INSTANTIATE

}  // namespace serval
