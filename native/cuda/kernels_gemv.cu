// Decode-sized GEMM (T <= kGemvMaxTokens tokens), bandwidth-bound on the weights: y[t, n] = x[t, :] · W[n, :].
// One launch = many independent work items (one weight row, or a pair of rows the epilogue combines); each item is
// read by S warps that each stream a contiguous 1/S of the row with 16-byte loads (several in flight per lane) and
// reuse every weight chunk for all T tokens. The grid is not persistent: one item group per block and enough blocks
// for several waves, so the hardware block scheduler balances the SMs. S is chosen per shape so that short row
// counts still give enough blocks (gemvSplitFor).
// Epilogues fuse what follows the projection in a decode step: bias; RoPE + K/V cache write (QKV projection);
// SiLU-and-mul (gate/up projection). Their arithmetic is the same as the separate kernels in kernels_elementwise.cu.
// Under PDL (pdl.h: the decode layers) the kernel waits for the previous one only before it reads x, and lets the
// next one launch once its weights are read; with one token, each warp issues its first weight loads before the wait
// (they do not depend on the previous kernel).
#include <cuda_bf16.h>

#include <algorithm>
#include <string>
#include <type_traits>

#include "cuda/cuda_util.h"
#include "cuda/kernels.h"
#include "cuda/pdl.h"

namespace serval {

namespace {

constexpr int kGemvThreads = 256;
constexpr int kGemvWarps = kGemvThreads / 32;

/** E consecutive activations x[k .. k+E) as fp32 (x fp32 or the storage type; read through the read-only cache,
 *  reused by all warps of the SM) */
template <int E, class X>
__device__ __forceinline__ void loadX(const X* x, size_t k, float (&f)[E]) {
  if constexpr (std::is_same<X, float>::value) {
#pragma unroll
    for (int i = 0; i < E / 4; ++i) {
      const float4 a = __ldg(reinterpret_cast<const float4*>(x + k) + i);
      f[4 * i] = a.x, f[4 * i + 1] = a.y, f[4 * i + 2] = a.z, f[4 * i + 3] = a.w;
    }
  } else {
    StorageVec<E, X> v;
    static_assert(StorageVec<E, X>::kBytes == 16, "16-bit activations: E = 8");
    v.w[0] = __ldg(reinterpret_cast<const uint4*>(x + k));
    v.toFloats(f);
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

// ---- epilogues: which rows an item reads, and what is written from their dot products -------------------------

/** y[t, n] = dot + bias[n] (fp32) */
struct PlainEpilogue {
  static constexpr int kRows = 1;
  const float* bias;
  float* y;
  int N;
  __device__ int row(int item, int) const { return item; }
  template <int T>
  __device__ void store(int item, const float (&acc)[1][T]) const {
    const float b = bias ? bias[item] : 0.f;
#pragma unroll
    for (int t = 0; t < T; ++t) y[(size_t)t * N + item] = acc[0][t] + b;
  }
};

/** gate row i and up row I + i: act[t, i] = silu(g) * u (fp32: the down projection's GEMV input) */
struct SiluMulEpilogue {
  static constexpr int kRows = 2;
  float* act;
  int I;
  __device__ int row(int item, int r) const { return item + r * I; }
  template <int T>
  __device__ void store(int item, const float (&acc)[2][T]) const {
#pragma unroll
    for (int t = 0; t < T; ++t) {
      const float g = acc[0][t], u = acc[1][t];
      act[(size_t)t * I + item] = g / (1.f + expf(-g)) * u;
    }
  }
};

/** Fused QKV projection rows (q heads, then k heads, then v heads; head dim hd): an item is the rotate-half pair
 *  (i, i + hd/2) of one head. q: rotated, written to qkv (fp32, row stride (nh + 2 nkv) hd) for attention;
 *  k: rotated, v: as is, both written to the paged cache at the token's slot (K/V cache type C). */
template <class C>
struct RopeKvEpilogue {
  static constexpr int kRows = 2;
  const float* bias;
  float* qkv;
  const float* invFreq;
  const int32_t* positions;
  const int32_t* slots;
  C* kCache;
  C* vCache;
  int nh, nkv, hd;
  __device__ int row(int item, int r) const {
    const int half = hd / 2;
    return (item / half) * hd + item % half + r * half;
  }
  template <int T>
  __device__ void store(int item, const float (&acc)[2][T]) const {
    const int half = hd / 2, head = item / half, i = item % half;
    const int r1 = head * hd + i, r2 = r1 + half;
    const float b1 = bias ? bias[r1] : 0.f, b2 = bias ? bias[r2] : 0.f;
    const size_t rowStride = (size_t)(nh + 2 * nkv) * hd;
#pragma unroll
    for (int t = 0; t < T; ++t) {
      const float x1 = acc[0][t] + b1, x2 = acc[1][t] + b2;
      if (head >= nh + nkv) {  // v
        const size_t dst = ((size_t)slots[t] * nkv + (head - nh - nkv)) * hd;
        vCache[dst + i] = toKvCache<C>(x1);
        vCache[dst + i + half] = toKvCache<C>(x2);
        continue;
      }
      float sn, cs;
      sincosf((float)positions[t] * invFreq[i], &sn, &cs);
      const float y1 = x1 * cs - x2 * sn, y2 = x2 * cs + x1 * sn;
      if (head < nh) {
        qkv[t * rowStride + r1] = y1;
        qkv[t * rowStride + r2] = y2;
      } else {
        const size_t dst = ((size_t)slots[t] * nkv + (head - nh)) * hd;
        kCache[dst + i] = toKvCache<C>(y1);
        kCache[dst + i + half] = toKvCache<C>(y2);
      }
    }
  }
};

// ---- the kernel ------------------------------------------------------------------------------------------------

/** Block = kGemvWarps warps = kGemvWarps / S items; warp w reads slice w % S of item blockIdx.x * (8 / S) + w / S.
 *  Weights of storage type WT are streamed in 16-byte chunks of E = 16 / sizeof(WT) elements. */
template <int T, int S, class Epi, class XT, class WT>
__global__ void __launch_bounds__(kGemvThreads) gemvKernel(const XT* __restrict__ x, const WT* __restrict__ w, int K,
                                                           int numItems, Epi epi) {
  // Measured on an H200 for bf16 (bench/native/README.md): the loop below with its first batch before the wait is
  // faster for one token (7B step 4.13 -> 4.02 ms without PDL, 3.95 ms with it) but slower for four (6.82 -> 7.11 ms).
  constexpr bool kHoist = T == 1;
  constexpr int E = 16 / (int)sizeof(WT);
  constexpr int R = Epi::kRows;
  constexpr int kUnroll = R == 1 ? 4 : 2;  // 16-byte loads in flight per lane: kUnroll * R
  __shared__ float partial[S > 1 ? kGemvWarps : 1][R][T];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int item = blockIdx.x * (kGemvWarps / S) + warp / S;
  const int slice = warp % S;
  const bool active = item < numItems;
  const int chunks = K / E;  // 16 bytes each
  const int c0 = (int)((long)chunks * slice / S), c1 = (int)((long)chunks * (slice + 1) / S);

  float acc[R][T];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int t = 0; t < T; ++t) acc[r][t] = 0.f;

  const uint4* wr[R];
#pragma unroll
  for (int r = 0; r < R; ++r) wr[r] = reinterpret_cast<const uint4*>(w + (size_t)epi.row(item, r) * K);
  auto consume = [&](const uint4 (&wv)[R], int c) {
    float wf[R][E];
#pragma unroll
    for (int r = 0; r < R; ++r) reinterpret_cast<const StorageVec<E, WT>*>(&wv[r])->toFloats(wf[r]);
#pragma unroll
    for (int t = 0; t < T; ++t) {
      float xf[E];
      loadX<E>(x, (size_t)t * K + (size_t)c * E, xf);
#pragma unroll
      for (int r = 0; r < R; ++r)
#pragma unroll
        for (int i = 0; i < E; ++i) acc[r][t] += wf[r][i] * xf[i];
    }
  };
  if constexpr (kHoist) {
    // Batches of kUnroll chunks per lane (c, c + 32, ...), all loads of a batch issued before its first use; the
    // first batch goes out before the wait (under PDL: while the previous kernel finishes). Same chunk order as below.
    uint4 wv[kUnroll][R];
    int c = c0 + lane;
    auto loadBatch = [&] {
#pragma unroll
      for (int u = 0; u < kUnroll; ++u)
#pragma unroll
        for (int r = 0; r < R; ++r)
          if (c + 32 * u < c1) wv[u][r] = loadStreaming(wr[r] + c + 32 * u);
    };
    if (active) loadBatch();
    pdlWaitForPrevious();  // x, and the buffers the epilogue writes, belong to the previous kernels until here
    if (active) {
      for (;;) {
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
          if (c + 32 * u < c1) consume(wv[u], c + 32 * u);
        c += 32 * kUnroll;
        if (c >= c1) break;
        loadBatch();
      }
    }
  } else {
    pdlWaitForPrevious();
    if (active) {
      int c = c0 + lane;
      for (; c + 32 * (kUnroll - 1) < c1; c += 32 * kUnroll) {
        uint4 wv[kUnroll][R];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u)
#pragma unroll
          for (int r = 0; r < R; ++r) wv[u][r] = loadStreaming(wr[r] + c + 32 * u);
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) consume(wv[u], c + 32 * u);
      }
      for (; c < c1; c += 32) {
        uint4 wv[R];
#pragma unroll
        for (int r = 0; r < R; ++r) wv[r] = loadStreaming(wr[r] + c);
        consume(wv, c);
      }
    }
  }
  pdlLaunchDependents();  // this warp's weights are read: what is left is the reduction and the epilogue
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int t = 0; t < T; ++t) {
      float v = acc[r][t];
      for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
      acc[r][t] = v;
    }
  if constexpr (S > 1) {
    if (lane == 0)
#pragma unroll
      for (int r = 0; r < R; ++r)
#pragma unroll
        for (int t = 0; t < T; ++t) partial[warp][r][t] = acc[r][t];
    __syncthreads();
    if (slice != 0 || lane != 0 || !active) return;
    // the item's first warp sums its slices in a fixed order (deterministic)
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int t = 0; t < T; ++t) {
        float v = partial[warp][r][t];
        for (int s = 1; s < S; ++s) v += partial[warp + s][r][t];
        acc[r][t] = v;
      }
    epi.template store<T>(item, acc);
  } else {
    if (lane == 0 && active) epi.template store<T>(item, acc);
  }
}

template <int T, int S, class Epi, class XT, class WT>
void launchOne(const XT* x, const WT* w, int K, int numItems, const Epi& epi, cudaStream_t s) {
  constexpr int itemsPerBlock = kGemvWarps / S;
  const int blocks = (numItems + itemsPerBlock - 1) / itemsPerBlock;
  launchMaybePdl(gemvKernel<T, S, Epi, XT, WT>, dim3(blocks), dim3(kGemvThreads), 0, s, x, w, K, numItems, epi);
}

template <int T, class Epi, class XT, class WT>
void launchForTokens(const XT* x, const WT* w, int K, int numItems, int split, const Epi& epi,
                     cudaStream_t s) {
  switch (split) {
    case 1: launchOne<T, 1>(x, w, K, numItems, epi, s); break;
    case 2: launchOne<T, 2>(x, w, K, numItems, epi, s); break;
    case 4: launchOne<T, 4>(x, w, K, numItems, epi, s); break;
    case 8: launchOne<T, 8>(x, w, K, numItems, epi, s); break;
    default: throw std::invalid_argument("GEMV: split must be 1, 2, 4 or 8, got " + std::to_string(split));
  }
}

template <class Epi, class XT, class WT>
void launchGemv(const XT* x, const WT* w, int T, int K, int numItems, int split, const Epi& epi,
                cudaStream_t s) {
  if (!gemvSupported(T, K)) throw std::invalid_argument("GEMV: unsupported shape T=" + std::to_string(T) + " K=" + std::to_string(K));
  if (numItems == 0) return;
  switch (T) {
    case 1: launchForTokens<1>(x, w, K, numItems, split, epi, s); break;
    case 2: launchForTokens<2>(x, w, K, numItems, split, epi, s); break;
    case 3: launchForTokens<3>(x, w, K, numItems, split, epi, s); break;
    case 4: launchForTokens<4>(x, w, K, numItems, split, epi, s); break;
    case 5: launchForTokens<5>(x, w, K, numItems, split, epi, s); break;
    case 6: launchForTokens<6>(x, w, K, numItems, split, epi, s); break;
    case 7: launchForTokens<7>(x, w, K, numItems, split, epi, s); break;
    case 8: launchForTokens<8>(x, w, K, numItems, split, epi, s); break;
  }
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace

bool gemvSupported(int T, int K) { return T >= 1 && T <= kGemvMaxTokens && K % 8 == 0 && K > 0; }

int gemvSplitFor(int numRows, int K, int numSms) {
  // Measured on an H200 (bench/native/results/h200-gemv-*.log): one warp per row is fastest as soon as the rows fill
  // ~3 blocks per SM (every Qwen2.5-7B/14B projection); splitting rows across warps only pays for short matrices
  // (Qwen2.5-0.5B's 896-row projections: 4.3 -> 2.2 us with 4 warps per row), where it adds blocks.
  const int chunks = K / 8;
  int split = 1;
  while (split < kGemvWarps && (long)numRows * split / kGemvWarps < 3L * numSms && chunks / (2 * split) >= 8) split *= 2;
  return split;
}

template <class X, class S>
void launchGemvLinear(const X* x, const S* w, const float* bias, float* y, int T, int N, int K, int split,
                      cudaStream_t s) {
  launchGemv(x, w, T, K, N, split, PlainEpilogue{bias, y, N}, s);
}

template <class S>
void launchGemvGateUpSilu(const float* x, const S* wGateUp, float* act, int T, int I, int K, int split,
                          cudaStream_t s) {
  launchGemv(x, wGateUp, T, K, I, split, SiluMulEpilogue{act, I}, s);
}

template <class S, class C>
void launchGemvQkvRopeKv(const float* x, const S* wQkv, const float* bias, float* qkv, const float* invFreq,
                         const int32_t* positions, const int32_t* slots, C* kCache, C* vCache, int T, int nh, int nkv,
                         int hd, int K, int split, cudaStream_t s) {
  if (hd % 2 != 0) throw std::invalid_argument("GEMV QKV+RoPE: headDim must be even");
  launchGemv(x, wQkv, T, K, (nh + 2 * nkv) * (hd / 2), split,
             RopeKvEpilogue<C>{bias, qkv, invFreq, positions, slots, kCache, vCache, nh, nkv, hd}, s);
}

// fp32 inputs for every storage type; inputs of the storage type itself (the attention output) once more for the
// 16-bit types (for fp32 storage that is the same instantiation)
#define SERVAL_INSTANTIATE(S)                                                                                      \
  template void launchGemvLinear<float, S>(const float*, const S*, const float*, float*, int, int, int, int,      \
                                           cudaStream_t);                                                         \
  template void launchGemvGateUpSilu<S>(const float*, const S*, float*, int, int, int, int, cudaStream_t);
SERVAL_FOR_EACH_STORAGE(SERVAL_INSTANTIATE)
#undef SERVAL_INSTANTIATE
#define SERVAL_INSTANTIATE(C, S)                                                                                      \
  template void launchGemvQkvRopeKv<S, C>(const float*, const S*, const float*, float*, const float*, const int32_t*, \
                                          const int32_t*, C*, C*, int, int, int, int, int, int, cudaStream_t);
SERVAL_FOR_EACH_KV_PAIR(SERVAL_INSTANTIATE)
#undef SERVAL_INSTANTIATE
template void launchGemvLinear<__nv_bfloat16, __nv_bfloat16>(const __nv_bfloat16*, const __nv_bfloat16*, const float*,
                                                             float*, int, int, int, int, cudaStream_t);
template void launchGemvLinear<__half, __half>(const __half*, const __half*, const float*, float*, int, int, int, int,
                                               cudaStream_t);

}  // namespace serval
