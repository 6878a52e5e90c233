// Tensor-core GQA decode attention (bf16/fp16 K/V cache; an fp32 cache keeps the CUDA-core split-KV kernel): one block
// per (decode token, KV head, partition of the context). The GQA group's query heads are the M rows of mma.sync
// m16n8k16: rows 0..7 hold E(q) of the group's heads, rows 8..15 their rounding residue q - E(q), so one MMA gives
// both halves of the fp32-accurate score (c[0] + c[2]) — the legacy kernels keep q in fp32. Keys are the N columns.
// K/V tiles of 64 keys are gathered through the block table with cp.async (double-buffered) and shared by 4 warps;
// each warp owns 16 keys of every tile with its own online softmax, and the 4 warps merge at the end. No per-key
// reductions: the kernel is bound by the K/V read. Partitions > 1 write unnormalized partials that the split-KV
// merge kernel (attention_split_decode.cu) combines. Included by attention_dispatch.cu (one translation unit).
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "cuda/attention_dispatch.h"
#include "cuda/cuda_util.h"
#include "cuda/kernels_storage.h"
#include "cuda/mma_sm80.cuh"
#include "cuda/pdl.h"
#include "cuda/smem_opt_in.h"

namespace serval {
namespace gqa_decode {

constexpr int kThreads = 128, kWarps = kThreads / 32;
constexpr int kTile = kGqaDecodeTileKeys;  // keys per K/V tile; each warp owns 16 of them
static_assert(kTile == 16 * kWarps, "one 16-key MMA slice per warp and tile");

template <int HD>
__host__ __device__ constexpr size_t smemBytes() {
  return (size_t)4 * kTile * (HD + 8) * 2;  // K[2], V[2] (16-bit), rows padded (bank conflicts); reused by the merge
}

/** what rounding v to E leaves out (the low half of a two-term E split of v) */
template <class E>
__device__ __forceinline__ float residue(float v) {
  return v - toFloat(fromFloat<E>(v));
}

template <int HD, class E, class O>
__global__ void __launch_bounds__(kThreads)
    gqaDecodeKernel(const float* __restrict__ qkv, const E* __restrict__ kCache, const E* __restrict__ vCache,
                    const int32_t* __restrict__ decodeTokens, const int32_t* __restrict__ tokenRow,
                    const int32_t* __restrict__ positions, const int32_t* __restrict__ blockTables, int tableStride,
                    int blockSize, int nh, int nkv, int partition, float scaleLog2, O* __restrict__ out,
                    float* __restrict__ outF, float* __restrict__ partAcc, float* __restrict__ partMl) {
  constexpr int S = HD + 8;    // smem row stride (elements)
  constexpr int KT = HD / 16;  // k-slices of Q K^T
  constexpr int NT = HD / 8;   // n-tiles of O
  constexpr int CH = HD / 8;   // 16-byte chunks per K/V row
  constexpr int G = kSplitKvMaxGroup;
  static_assert(G == 8, "the group's heads fill rows 0..7 of the MMA, their residues rows 8..15");
  extern __shared__ __align__(16) unsigned char smemRaw[];
  E* sK = reinterpret_cast<E*>(smemRaw);  // [2][kTile][S]
  E* sV = sK + 2 * kTile * S;             // [2][kTile][S]
  __shared__ __align__(16) E sQ[16 * S];  // rows 0..7: E(q) of the group's heads; 8..15: q - E(q)
  __shared__ float sM[kWarps][G], sL[kWarps][G];
  // Under PDL (decode layers): q and this step's K/V come from the previous kernel (pdl.h's rules); once it is
  // complete the dependents (merge, then the o projection, which loads its weights meanwhile) may launch.
  pdlWaitForPrevious();
  pdlLaunchDependents();

  const int i = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z, splits = gridDim.z;
  const int t = decodeTokens ? decodeTokens[i] : i;
  const int group = nh / nkv, tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane >> 2, tg = lane & 3;
  const int ctx = positions[t] + 1, start = split * partition, end = min(ctx, start + partition);
  const size_t partBase = ((size_t)i * nh + (size_t)kvh * group) * splits + split;  // + head * splits
  if (end <= start) {  // partition past this row's context (graphs size partitions for the longest possible context)
    if (tid < group) {
      partMl[(partBase + (size_t)tid * splits) * 2] = -INFINITY;
      partMl[(partBase + (size_t)tid * splits) * 2 + 1] = 0.f;
    }
    return;
  }
  const int32_t* table = blockTables + (size_t)tokenRow[t] * tableStride;

  auto loadKv = [&](int j0, int buf) {
    for (int c = tid; c < kTile * CH; c += kThreads) {
      const int n = c / CH, ch = c % CH, j = j0 + n;
      const bool valid = j < end;
      size_t off = 0;
      if (valid) {
        const int slot = table[j / blockSize] * blockSize + j % blockSize;
        off = ((size_t)slot * nkv + kvh) * HD + ch * 8;
      }
      cpAsync16(sK + (buf * kTile + n) * S + ch * 8, kCache + off, valid);
      cpAsync16(sV + (buf * kTile + n) * S + ch * 8, vCache + off, valid);
    }
    cpAsyncCommit();
  };
  const int nTiles = (end - start + kTile - 1) / kTile;
  loadKv(start, 0);

  const size_t rowStride = (size_t)(nh + 2 * nkv) * HD;
  for (int c = tid; c < G * HD; c += kThreads) {
    const int h = c / HD, d = c % HD;
    const float v = h < group ? qkv[(size_t)t * rowStride + (size_t)(kvh * group + h) * HD + d] * scaleLog2 : 0.f;
    const E hi = fromFloat<E>(v);
    sQ[h * S + d] = hi;
    sQ[(h + 8) * S + d] = fromFloat<E>(v - toFloat(hi));
  }
  __syncthreads();
  uint32_t qf[KT][4];
  {
    const E* base = sQ + g * S + 2 * tg;
#pragma unroll
    for (int ks = 0; ks < KT; ++ks) {
      qf[ks][0] = *reinterpret_cast<const uint32_t*>(base + ks * 16);
      qf[ks][1] = *reinterpret_cast<const uint32_t*>(base + 8 * S + ks * 16);
      qf[ks][2] = *reinterpret_cast<const uint32_t*>(base + ks * 16 + 8);
      qf[ks][3] = *reinterpret_cast<const uint32_t*>(base + 8 * S + ks * 16 + 8);
    }
  }
  float o[NT][4];
#pragma unroll
  for (int n = 0; n < NT; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
  float mRow = -INFINITY, lRow = 0.f;  // head g's running max (log2 units) and this thread's share of the sum

  for (int tile = 0; tile < nTiles; ++tile) {
    const int buf = tile & 1, j0 = start + tile * kTile;
    if (tile + 1 < nTiles) {
      loadKv(j0 + kTile, buf ^ 1);
      cpAsyncWait<1>();
    } else {
      cpAsyncWait<0>();
    }
    __syncthreads();
    const int w0 = j0 + warp * 16;  // this warp's first key
    if (w0 < end) {
      const E* kb = sK + (buf * kTile + warp * 16) * S;
      const E* vb = sV + (buf * kTile + warp * 16) * S;
      float s[2][4];
#pragma unroll
      for (int nt = 0; nt < 2; ++nt) {
        s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
        const E* kp = kb + (nt * 8 + g) * S + 2 * tg;
#pragma unroll
        for (int ks = 0; ks < KT; ++ks) {
          const uint32_t b0 = *reinterpret_cast<const uint32_t*>(kp + ks * 16);
          const uint32_t b1 = *reinterpret_cast<const uint32_t*>(kp + ks * 16 + 8);
          mma16816<E>(s[nt], qf[ks], b0, b1);
        }
      }
      // score of head g for keys w0 + nt*8 + 2tg + {0,1}: E(q) part (rows 0..7) + residue part (rows 8..15)
      float p[2][2];
      float mx = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < 2; ++nt)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int j = w0 + nt * 8 + 2 * tg + e;
          p[nt][e] = j < end ? s[nt][e] + s[nt][e + 2] : -INFINITY;
          mx = fmaxf(mx, p[nt][e]);
        }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float newM = fmaxf(mRow, mx);  // finite: key w0 + 0 < end is seen by every quad
      const float corr = exp2f(mRow - newM);
      float sum = 0.f;
#pragma unroll
      for (int nt = 0; nt < 2; ++nt)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          p[nt][e] = exp2f(p[nt][e] - newM);
          sum += p[nt][e];
        }
      lRow = lRow * corr + sum;
      mRow = newM;
#pragma unroll
      for (int n = 0; n < NT; ++n) o[n][0] *= corr, o[n][1] *= corr, o[n][2] *= corr, o[n][3] *= corr;
      // O += P V over this warp's 16 keys, P split like q: rows 0..7 hold E(p), rows 8..15 the residue p - E(p), so
      // o[.][0..1] + o[.][2..3] is P V with fp32-like P (a bf16 P alone moved top-5 logprobs by up to 0.085 vs the
      // legacy kernel on an H100) for the same number of MMAs.
      const uint32_t a[4] = {pack2<E>(p[0][0], p[0][1]), pack2<E>(residue<E>(p[0][0]), residue<E>(p[0][1])),
                             pack2<E>(p[1][0], p[1][1]), pack2<E>(residue<E>(p[1][0]), residue<E>(p[1][1]))};
      const E* vp = vb + ((lane & 7) + ((lane >> 3) & 1) * 8) * S + (lane >> 4) * 8;
#pragma unroll
      for (int dp = 0; dp < NT / 2; ++dp) {
        uint32_t bfr[4];
        ldmatrixX4Trans(bfr, vp + dp * 16);
        mma16816<E>(o[2 * dp], a, bfr[0], bfr[1]);
        mma16816<E>(o[2 * dp + 1], a, bfr[2], bfr[3]);
      }
    }
    __syncthreads();  // the next iteration's loads overwrite this buffer
  }

  // merge the 4 warps: sO[warp][head][HD] (fp32, in the K/V buffers), then one thread per (head, dim)
  lRow += __shfl_xor_sync(0xffffffffu, lRow, 1);
  lRow += __shfl_xor_sync(0xffffffffu, lRow, 2);
  float* sO = reinterpret_cast<float*>(smemRaw);
  static_assert((size_t)kWarps * G * HD * 4 <= smemBytes<HD>(), "merge buffer fits the K/V tiles");
  if (tg == 0) sM[warp][g] = mRow, sL[warp][g] = lRow;
#pragma unroll
  for (int n = 0; n < NT; ++n) {
    sO[(warp * G + g) * HD + n * 8 + 2 * tg] = o[n][0] + o[n][2];
    sO[(warp * G + g) * HD + n * 8 + 2 * tg + 1] = o[n][1] + o[n][3];
  }
  __syncthreads();
  for (int c = tid; c < group * HD; c += kThreads) {
    const int h = c / HD, d = c % HD;
    float M = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) M = fmaxf(M, sM[w][h]);
    float L = 0.f, acc = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float f = exp2f(sM[w][h] - M);  // 0 for a warp that saw no key (m = -inf)
      L += sL[w][h] * f;
      acc += sO[(w * G + h) * HD + d] * f;
    }
    if (splits == 1) {
      const size_t oi = ((size_t)t * nh + (size_t)kvh * group + h) * HD + d;
      if (outF)
        outF[oi] = acc / L;
      else
        out[oi] = fromFloat<O>(acc / L);
    } else {
      partAcc[(partBase + (size_t)h * splits) * HD + d] = acc;
      if (d == 0) {  // the merge kernel works in natural-log units
        partMl[(partBase + (size_t)h * splits) * 2] = M * 0.6931471805599453f;
        partMl[(partBase + (size_t)h * splits) * 2 + 1] = L;
      }
    }
  }
}

template <int HD, class E, class O>
void launchFor(const AttentionShape& s, const AttentionArgsT<E, O>& a, int numDecode, int splits, int partition,
               cudaStream_t stream) {
  constexpr size_t smem = smemBytes<HD>();
  static std::atomic<uint64_t> smemConfigured{0};
  ensureDynamicSmem(gqaDecodeKernel<HD, E, O>, smem, smemConfigured);
  const float scaleLog2 = 1.4426950408889634f / sqrtf((float)HD);
  launchMaybePdl(gqaDecodeKernel<HD, E, O>, dim3(numDecode, s.numKvHeads, splits), dim3(kThreads), smem, stream, a.qkv,
                 a.kCache, a.vCache, a.decodeTokens, a.tokenRow, a.positions, a.blockTables, a.tableStride, s.blockSize,
                 s.numHeads, s.numKvHeads, partition, scaleLog2, a.out, a.outF, a.splitWorkspace,
                 a.splitWorkspace + (size_t)numDecode * s.numHeads * splits * HD);
}

}  // namespace gqa_decode

/** the GQA decode kernel's partials (splits > 1) are merged by launchSplitKvMerge (attention_split_decode.cu) */
template <class E, class O>
void launchGqaDecodeAttention(const AttentionShape& s, const AttentionArgsT<E, O>& a, int numDecode, int splits,
                              int partition, cudaStream_t stream) {
  if (numDecode == 0) return;
  if constexpr (std::is_same<E, float>::value) {
    throw std::logic_error("GQA decode attention: fp32 storage has no tensor-core kernel (split-KV CUDA-core kernel)");
  } else {
    if (partition < 1)
      throw std::runtime_error("GQA decode attention: partition " + std::to_string(partition) + " out of range");
    if (splits > 1 && (size_t)numDecode * s.numHeads * splits * (s.headDim + 2) > splitKvWorkspaceFloats(s))
      throw std::runtime_error("GQA decode attention: workspace too small for " + std::to_string(numDecode) +
                               " tokens x " + std::to_string(splits) + " partitions");
    switch (s.headDim) {
      case 64: gqa_decode::launchFor<64, E, O>(s, a, numDecode, splits, partition, stream); break;
      case 128: gqa_decode::launchFor<128, E, O>(s, a, numDecode, splits, partition, stream); break;
      default:
        throw std::runtime_error("GQA decode attention: headDim " + std::to_string(s.headDim) +
                                 " is not implemented (64, 128)");
    }
    if (splits > 1) launchSplitKvMerge(s, a, numDecode, splits, stream);
  }
}

}  // namespace serval
