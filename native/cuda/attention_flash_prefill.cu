// Paged flash-attention for prefill on tensor cores (mma.sync m16n8k16 bf16 or fp16 — the type E of the K/V cache,
// --kv-cache-dtype —, fp32 accumulate; sm_80 and sm_90); output in O (the weights' storage type) or fp32. An fp32
// cache has no such MMA: the dispatch sends it to the legacy kernel.
// One block = one tile of up to 64 query tokens of one row x one query head; 4 warps own 16 query rows each. K/V are
// gathered through the block table in blocks of 64 keys with cp.async, double-buffered; online softmax in base 2.
// Q is split into E high and low parts (two MMAs for Q K^T): the legacy kernel keeps Q in fp32, and one bf16
// rounding of Q alone moved the small test models' logprobs past the GPU test's bound.
// Causal by position: query t sees the row's KV positions 0..positions[t] (cached context included).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>

#include "cuda/attention_dispatch.h"
#include "cuda/cuda_util.h"
#include "cuda/kernels_storage.h"
#include "cuda/mma_sm80.cuh"
#include "cuda/smem_opt_in.h"

namespace serval {
namespace {

constexpr int kBM = kFlashTileQueries;  // queries per tile
constexpr int kBN = 64;                 // keys per KV block
constexpr int kThreads = 128;

template <int HD>
constexpr size_t flashSmemBytes() {
  return (size_t)(2 * kBM + 4 * kBN) * (HD + 8) * 2;  // Qhi, Qlo, K[2], V[2] (16-bit); rows padded (bank conflicts)
}

template <int HD, class E, class O>
__global__ void __launch_bounds__(kThreads)
    flashPrefillKernel(const float* __restrict__ qkv, const E* __restrict__ kCache, const E* __restrict__ vCache,
                       const int32_t* __restrict__ tiles, const int32_t* __restrict__ tokenRow,
                       const int32_t* __restrict__ positions, const int32_t* __restrict__ blockTables, int tableStride,
                       int blockSize, O* __restrict__ out, float* __restrict__ outF, int nh, int nkv,
                       float scaleLog2) {
  constexpr int S = HD + 8;   // smem row stride (elements)
  constexpr int KT = HD / 16; // k-slices of Q K^T
  constexpr int NT = HD / 8;  // n-tiles of O
  constexpr int CH = HD / 8;  // 16-byte chunks per K/V row
  extern __shared__ __align__(16) unsigned char smemRaw[];
  E* sQ = reinterpret_cast<E*>(smemRaw);
  E* sQlo = sQ + kBM * S;    // q - E(q), as E
  E* sK = sQlo + kBM * S;    // [2][kBN][S]
  E* sV = sK + 2 * kBN * S;  // [2][kBN][S]
  __shared__ int sPos[kBM];

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane >> 2, tg = lane & 3;
  const int t0 = tiles[2 * blockIdx.x], nq = tiles[2 * blockIdx.x + 1];
  const int h = blockIdx.y, kvh = h / (nh / nkv);
  const int32_t* table = blockTables + (size_t)tokenRow[t0] * tableStride;
  const size_t rowStride = (size_t)(nh + 2 * nkv) * HD;

  // Q tile to smem (E), pre-scaled by softmax scale * log2(e); padding rows are zero and see no key (pos -1).
  for (int i = tid; i < kBM * HD; i += kThreads) {
    const int m = i / HD, d = i % HD;
    const float v = m < nq ? qkv[(size_t)(t0 + m) * rowStride + (size_t)h * HD + d] * scaleLog2 : 0.f;
    const E hi = fromFloat<E>(v);
    sQ[m * S + d] = hi;
    sQlo[m * S + d] = fromFloat<E>(v - toFloat(hi));
  }
  if (tid < kBM) sPos[tid] = tid < nq ? positions[t0 + tid] : -1;
  __syncthreads();
  int kvLen = 0, warpMin = INT_MAX, warpMax = -1;
  for (int m = 0; m < kBM; ++m) kvLen = max(kvLen, sPos[m] + 1);
  for (int m = warp * 16; m < warp * 16 + 16; ++m)
    if (sPos[m] >= 0) warpMin = min(warpMin, sPos[m]), warpMax = max(warpMax, sPos[m]);
  const int pos0 = sPos[warp * 16 + g], pos1 = sPos[warp * 16 + g + 8];

  auto loadKv = [&](int j0, int buf) {
    for (int i = tid; i < kBN * CH; i += kThreads) {
      const int n = i / CH, c = i % CH, j = j0 + n;
      const bool valid = j < kvLen;
      size_t off = 0;
      if (valid) {
        const int slot = table[j / blockSize] * blockSize + j % blockSize;
        off = ((size_t)slot * nkv + kvh) * HD + c * 8;
      }
      cpAsync16(sK + (buf * kBN + n) * S + c * 8, kCache + off, valid);
      cpAsync16(sV + (buf * kBN + n) * S + c * 8, vCache + off, valid);
    }
    cpAsyncCommit();
  };
  const int nBlocks = (kvLen + kBN - 1) / kBN;
  if (nBlocks > 0) loadKv(0, 0);

  uint32_t qf[2][KT][4];  // [hi/lo] A fragments
#pragma unroll
  for (int part = 0; part < 2; ++part) {
    const E* base = (part ? sQlo : sQ) + (warp * 16 + g) * S + 2 * tg;
#pragma unroll
    for (int ks = 0; ks < KT; ++ks) {
      qf[part][ks][0] = *reinterpret_cast<const uint32_t*>(base + ks * 16);
      qf[part][ks][1] = *reinterpret_cast<const uint32_t*>(base + 8 * S + ks * 16);
      qf[part][ks][2] = *reinterpret_cast<const uint32_t*>(base + ks * 16 + 8);
      qf[part][ks][3] = *reinterpret_cast<const uint32_t*>(base + 8 * S + ks * 16 + 8);
    }
  }
  float o[NT][4];
#pragma unroll
  for (int i = 0; i < NT; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float mRow[2] = {-INFINITY, -INFINITY}, lRow[2] = {0.f, 0.f};

  for (int blk = 0; blk < nBlocks; ++blk) {
    const int buf = blk & 1, j0 = blk * kBN;
    if (blk + 1 < nBlocks) {
      loadKv(j0 + kBN, buf ^ 1);
      cpAsyncWait<1>();
    } else {
      cpAsyncWait<0>();
    }
    __syncthreads();
    if (j0 <= warpMax) {  // else every key of the block is in this warp's causal future
      const E* kb = sK + buf * kBN * S;
      const E* vb = sV + buf * kBN * S;
      float s[kBN / 8][4];
#pragma unroll
      for (int nt = 0; nt < kBN / 8; ++nt) {
        s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
        const E* kp = kb + (nt * 8 + g) * S + 2 * tg;
#pragma unroll
        for (int ks = 0; ks < KT; ++ks) {
          const uint32_t b0 = *reinterpret_cast<const uint32_t*>(kp + ks * 16);
          const uint32_t b1 = *reinterpret_cast<const uint32_t*>(kp + ks * 16 + 8);
          mma16816<E>(s[nt], qf[0][ks], b0, b1);
          mma16816<E>(s[nt], qf[1][ks], b0, b1);
        }
      }
      if (j0 + kBN - 1 > warpMin) {  // the block crosses the causal edge of some row of this warp
#pragma unroll
        for (int nt = 0; nt < kBN / 8; ++nt)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int j = j0 + nt * 8 + 2 * tg + (e & 1);
            if (j > (e < 2 ? pos0 : pos1)) s[nt][e] = -INFINITY;
          }
      }
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        float mx = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < kBN / 8; ++nt) mx = fmaxf(mx, fmaxf(s[nt][2 * r], s[nt][2 * r + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float newM = fmaxf(mRow[r], mx);
        const float ref = newM == -INFINITY ? 0.f : newM;  // a row with no visible key yet stays all-zero
        const float corr = exp2f(mRow[r] - ref);
        float sum = 0.f;
#pragma unroll
        for (int nt = 0; nt < kBN / 8; ++nt) {
          s[nt][2 * r] = exp2f(s[nt][2 * r] - ref);
          s[nt][2 * r + 1] = exp2f(s[nt][2 * r + 1] - ref);
          sum += s[nt][2 * r] + s[nt][2 * r + 1];
        }
        lRow[r] = lRow[r] * corr + sum;  // this thread's share; the quad's shares are summed at the end
        mRow[r] = newM;
#pragma unroll
        for (int i = 0; i < NT; ++i) o[i][2 * r] *= corr, o[i][2 * r + 1] *= corr;
      }
      // O += P V: the S accumulators of n-tiles 2kk, 2kk+1 are exactly the A fragment of k-slice kk.
#pragma unroll
      for (int kk = 0; kk < kBN / 16; ++kk) {
        const uint32_t a[4] = {pack2<E>(s[2 * kk][0], s[2 * kk][1]), pack2<E>(s[2 * kk][2], s[2 * kk][3]),
                               pack2<E>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                               pack2<E>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
        const E* vp = vb + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * S + (lane >> 4) * 8;
#pragma unroll
        for (int dp = 0; dp < NT / 2; ++dp) {
          uint32_t bfr[4];
          ldmatrixX4Trans(bfr, vp + dp * 16);
          mma16816<E>(o[2 * dp], a, bfr[0], bfr[1]);
          mma16816<E>(o[2 * dp + 1], a, bfr[2], bfr[3]);
        }
      }
    }
    __syncthreads();  // the next iteration's loads overwrite this buffer
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float l = lRow[r];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const int m = warp * 16 + g + 8 * r;
    if (m >= nq) continue;
    const float inv = l > 0.f ? 1.f / l : 0.f;
    const size_t off = ((size_t)(t0 + m) * nh + h) * HD + 2 * tg;
    if (outF) {  // fp32 output (GEMV steps' o projection)
#pragma unroll
      for (int i = 0; i < NT; ++i)
        *reinterpret_cast<float2*>(outF + off + i * 8) = make_float2(o[i][2 * r] * inv, o[i][2 * r + 1] * inv);
      continue;
    }
#pragma unroll
    for (int i = 0; i < NT; ++i)
      *reinterpret_cast<uint32_t*>(out + off + i * 8) = pack2<O>(o[i][2 * r] * inv, o[i][2 * r + 1] * inv);
  }
}

template <int HD, class E, class O>
void launchFor(const AttentionShape& s, const AttentionArgsT<E, O>& a, int numTiles, cudaStream_t stream) {
  constexpr size_t smem = flashSmemBytes<HD>();
  static std::atomic<uint64_t> smemConfigured{0};
  ensureDynamicSmem(flashPrefillKernel<HD, E, O>, smem, smemConfigured);
  const float scaleLog2 = 1.4426950408889634f / sqrtf((float)HD);
  flashPrefillKernel<HD, E, O><<<dim3(numTiles, s.numHeads), kThreads, smem, stream>>>(
      a.qkv, a.kCache, a.vCache, a.tiles, a.tokenRow, a.positions, a.blockTables, a.tableStride, s.blockSize, a.out,
      a.outF, s.numHeads, s.numKvHeads, scaleLog2);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace

bool flashPrefillSupported(int headDim, DType storage) {
  return storage != DType::F32 && (headDim == 16 || headDim == 32 || headDim == 64 || headDim == 128);
}

template <class E, class O>
void launchFlashPrefillAttention(const AttentionShape& s, const AttentionArgsT<E, O>& a, int numTiles,
                                 cudaStream_t stream) {
  if (numTiles == 0) return;
  switch (s.headDim) {
    case 16: return launchFor<16, E, O>(s, a, numTiles, stream);
    case 32: return launchFor<32, E, O>(s, a, numTiles, stream);
    case 64: return launchFor<64, E, O>(s, a, numTiles, stream);
    case 128: return launchFor<128, E, O>(s, a, numTiles, stream);
    default:
      throw std::runtime_error("flash prefill attention: headDim " + std::to_string(s.headDim) +
                               " is not implemented (16, 32, 64, 128)");
  }
}

// the 16-bit pairs of SERVAL_FOR_EACH_KV_PAIR (an fp32 cache never reaches this kernel)
template void launchFlashPrefillAttention<__nv_bfloat16, __nv_bfloat16>(
    const AttentionShape&, const AttentionArgsT<__nv_bfloat16, __nv_bfloat16>&, int, cudaStream_t);
template void launchFlashPrefillAttention<__half, __half>(const AttentionShape&, const AttentionArgsT<__half, __half>&,
                                                          int, cudaStream_t);
template void launchFlashPrefillAttention<__half, __nv_bfloat16>(const AttentionShape&,
                                                                 const AttentionArgsT<__half, __nv_bfloat16>&, int,
                                                                 cudaStream_t);

}  // namespace serval
