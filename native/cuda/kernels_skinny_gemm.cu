// Skinny GEMM for decode-sized steps (T <= 8 tokens): y[t, n] = x[t, :] · W[n, :] + bias[n]. Bandwidth-bound on
// the weights, so each warp streams whole weight rows with 16-byte loads (several in flight per lane) and reuses
// every loaded weight chunk for all T tokens; x is tiny and stays in L1/L2. cuBLASLt's general kernels leave a
// good part of the memory bandwidth unused at T = 1.
#include <cuda_bf16.h>

#include <algorithm>
#include <string>

#include "cuda/cuda_util.h"
#include "cuda/kernels.h"

namespace serval {

__device__ __forceinline__ void unpackBf16x8(const uint4& v, float* f) {
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&v);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 p = __bfloat1622float2(h[i]);
    f[2 * i] = p.x;
    f[2 * i + 1] = p.y;
  }
}

__device__ __forceinline__ uint4 loadStreaming(const uint4* p) {
  uint4 v;
  // weights are read once per step: keep them out of L1 so x stays cached
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

template <int T>
__global__ void skinnyGemmKernel(const __nv_bfloat16* __restrict__ x, const __nv_bfloat16* __restrict__ w,
                                 const float* __restrict__ bias, float* __restrict__ y, int N, int K) {
  constexpr int kUnroll = 4;
  const int lane = threadIdx.x % 32;
  const int warpId = (blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int numWarps = gridDim.x * blockDim.x / 32;
  const int chunks = K / 8;  // 8 bf16 = 16 bytes
  for (int n = warpId; n < N; n += numWarps) {
    const uint4* wr = reinterpret_cast<const uint4*>(w + (size_t)n * K);
    float acc[T];
#pragma unroll
    for (int t = 0; t < T; ++t) acc[t] = 0.f;
    int c = lane;
    for (; c + 32 * (kUnroll - 1) < chunks; c += 32 * kUnroll) {
      uint4 wv[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) wv[u] = loadStreaming(wr + c + 32 * u);
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        float wf[8];
        unpackBf16x8(wv[u], wf);
#pragma unroll
        for (int t = 0; t < T; ++t) {
          float xf[8];
          unpackBf16x8(__ldg(reinterpret_cast<const uint4*>(x + (size_t)t * K) + c + 32 * u), xf);
#pragma unroll
          for (int i = 0; i < 8; ++i) acc[t] += wf[i] * xf[i];
        }
      }
    }
    for (; c < chunks; c += 32) {
      float wf[8];
      unpackBf16x8(loadStreaming(wr + c), wf);
#pragma unroll
      for (int t = 0; t < T; ++t) {
        float xf[8];
        unpackBf16x8(__ldg(reinterpret_cast<const uint4*>(x + (size_t)t * K) + c), xf);
#pragma unroll
        for (int i = 0; i < 8; ++i) acc[t] += wf[i] * xf[i];
      }
    }
#pragma unroll
    for (int t = 0; t < T; ++t) {
      float v = acc[t];
      for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
      if (lane == 0) y[(size_t)t * N + n] = v + (bias ? bias[n] : 0.f);
    }
  }
}

bool skinnyGemmSupported(int T, int K) { return T >= 1 && T <= kSkinnyGemmMaxTokens && K % 8 == 0; }

void launchSkinnyGemm(const __nv_bfloat16* x, const __nv_bfloat16* w, const float* bias, float* y, int T, int N, int K,
                      int numSms, cudaStream_t s) {
  constexpr int kThreads = 256;
  const int warpsPerBlock = kThreads / 32;
  const int blocks = std::max(1, std::min((N + warpsPerBlock - 1) / warpsPerBlock, numSms * 8));
  switch (T) {
#define SERVAL_SKINNY_CASE(n) \
  case n:                     \
    skinnyGemmKernel<n><<<blocks, kThreads, 0, s>>>(x, w, bias, y, N, K); \
    break;
    SERVAL_SKINNY_CASE(1)
    SERVAL_SKINNY_CASE(2)
    SERVAL_SKINNY_CASE(3)
    SERVAL_SKINNY_CASE(4)
    SERVAL_SKINNY_CASE(5)
    SERVAL_SKINNY_CASE(6)
    SERVAL_SKINNY_CASE(7)
    SERVAL_SKINNY_CASE(8)
#undef SERVAL_SKINNY_CASE
    default:
      throw std::runtime_error("skinny GEMM: unsupported token count " + std::to_string(T));
  }
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace serval
