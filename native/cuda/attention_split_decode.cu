// Split-KV decode attention: for one-token rows with long contexts, the KV length is cut into partitions that run in
// separate blocks (grid: token x KV head x partition), each producing an unnormalized partial output with its own
// max and sum; a second kernel merges the partitions. One block serves all query heads of a KV head (GQA), so each K/V
// row is read once per group. With one partition the first kernel writes the final output itself. CUDA cores: one
// template for every K/V cache type E (bf16, fp16, fp32) and output type O (SERVAL_FOR_EACH_KV_PAIR). The merge
// kernel also combines the partitions of the tensor-core GQA decode kernel (attention_gqa_decode.cuh), which writes
// the same partial layout.
#include <cuda_bf16.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "cuda/attention_dispatch.h"
#include "cuda/cuda_util.h"
#include "cuda/kernels_storage.h"
#include "cuda/pdl.h"
#include "cuda/smem_opt_in.h"

namespace serval {
namespace {

constexpr int kThreads = 128, kWarps = kThreads / 32;

template <int HD, class E, class O>
__global__ void __launch_bounds__(kThreads)
    splitDecodeKernel(const float* __restrict__ qkv, const E* __restrict__ kCache, const E* __restrict__ vCache,
                      const int32_t* __restrict__ decodeTokens, const int32_t* __restrict__ tokenRow,
                      const int32_t* __restrict__ positions, const int32_t* __restrict__ blockTables, int tableStride,
                      int blockSize, int nh, int nkv, int partition, float scale, O* __restrict__ out,
                      float* __restrict__ outF,
                      float* __restrict__ partAcc, float* __restrict__ partMl) {
  constexpr int DPL = HD / 32;  // dims per lane: a warp reads one K/V row (HD values) in one coalesced access
  constexpr int G = kSplitKvMaxGroup;
  extern __shared__ float smem[];
  float* sQ = smem;                      // [G][HD]
  float* sP = sQ + G * HD;                   // [G][kSplitKvMaxPartition] scores, then probabilities
  float* sRed = sP + G * kSplitKvMaxPartition;  // [kWarps][G][HD]
  __shared__ float sM[G], sL[G], sCorr[G];
  // Under PDL (decode layers): q comes from the previous kernel. Once it is complete the dependents (merge, then the
  // o projection, which prefetches its weights) may take the SM slots this small grid leaves free.
  pdlWaitForPrevious();
  pdlLaunchDependents();

  const int i = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z, splits = gridDim.z;
  const int t = decodeTokens ? decodeTokens[i] : i;
  const int group = nh / nkv, tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int ctx = positions[t] + 1, start = split * partition, end = min(ctx, start + partition), n = end - start;
  const size_t partBase = ((size_t)i * nh + (size_t)kvh * group) * splits + split;  // + g * splits
  if (n <= 0) {  // partition past this row's context (graphs size partitions for the longest possible context)
    if (tid < group) {
      partMl[(partBase + (size_t)tid * splits) * 2] = -INFINITY;
      partMl[(partBase + (size_t)tid * splits) * 2 + 1] = 0.f;
    }
    return;
  }
  const int32_t* table = blockTables + (size_t)tokenRow[t] * tableStride;
  const size_t rowStride = (size_t)(nh + 2 * nkv) * HD;
  for (int k = tid; k < group * HD; k += kThreads)
    sQ[k] = qkv[(size_t)t * rowStride + (size_t)kvh * group * HD + k] * scale;
  __syncthreads();
  float q[G][DPL];
#pragma unroll
  for (int g = 0; g < G; ++g)
#pragma unroll
    for (int e = 0; e < DPL; ++e) q[g][e] = g < group ? sQ[g * HD + lane * DPL + e] : 0.f;

  float acc[G][DPL];
#pragma unroll
  for (int g = 0; g < G; ++g)
#pragma unroll
    for (int e = 0; e < DPL; ++e) acc[g][e] = 0.f;
  if (tid < G) sM[tid] = -INFINITY, sL[tid] = 0.f;
  // The partition is visited in chunks of at most kSplitKvMaxPartition keys (the score buffer), merged online.
  for (int c0 = start; c0 < end; c0 += kSplitKvMaxPartition) {
    const int c1 = min(end, c0 + kSplitKvMaxPartition), cn = c1 - c0;
    // scores: warp w takes keys c0+w, c0+w+4, ...
    for (int j = c0 + warp; j < c1; j += kWarps) {
      const int slot = table[j / blockSize] * blockSize + j % blockSize;
      float k[DPL];
      loadAsFloat<DPL>(kCache + ((size_t)slot * nkv + kvh) * HD + lane * DPL, k);
#pragma unroll
      for (int g = 0; g < G; ++g) {
        if (g >= group) break;
        float dot = 0.f;
#pragma unroll
        for (int e = 0; e < DPL; ++e) dot += q[g][e] * k[e];
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
        if (lane == 0) sP[g * kSplitKvMaxPartition + (j - c0)] = dot;
      }
    }
    __syncthreads();
    // softmax of the chunk, per head (warp per head), merged into the running max/sum; sCorr rescales acc
    for (int g = warp; g < group; g += kWarps) {
      float m = -INFINITY;
      for (int j = lane; j < cn; j += 32) m = fmaxf(m, sP[g * kSplitKvMaxPartition + j]);
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
      const float newM = fmaxf(sM[g], m);
      float l = 0.f;
      for (int j = lane; j < cn; j += 32) {
        const float p = expf(sP[g * kSplitKvMaxPartition + j] - newM);
        sP[g * kSplitKvMaxPartition + j] = p;
        l += p;
      }
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
      __syncwarp();
      if (lane == 0) {
        const float corr = expf(sM[g] - newM);  // 0 for the first chunk (sM = -inf)
        sCorr[g] = corr;
        sL[g] = sL[g] * corr + l;
        sM[g] = newM;
      }
    }
    __syncthreads();
    for (int g = 0; g < G; ++g) {
      if (g >= group) break;
      const float corr = sCorr[g];
#pragma unroll
      for (int e = 0; e < DPL; ++e) acc[g][e] *= corr;
    }
    for (int j = c0 + warp; j < c1; j += kWarps) {
      const int slot = table[j / blockSize] * blockSize + j % blockSize;
      float v[DPL];
      loadAsFloat<DPL>(vCache + ((size_t)slot * nkv + kvh) * HD + lane * DPL, v);
#pragma unroll
      for (int g = 0; g < G; ++g) {
        if (g >= group) break;
        const float p = sP[g * kSplitKvMaxPartition + (j - c0)];
#pragma unroll
        for (int e = 0; e < DPL; ++e) acc[g][e] += p * v[e];
      }
    }
    __syncthreads();  // the next chunk overwrites sP and sCorr
  }
#pragma unroll
  for (int g = 0; g < G; ++g)
#pragma unroll
    for (int e = 0; e < DPL; ++e) sRed[(warp * G + g) * HD + lane * DPL + e] = acc[g][e];
  __syncthreads();
  for (int k = tid; k < group * HD; k += kThreads) {
    const int g = k / HD, d = k % HD;
    float sum = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) sum += sRed[(w * G + g) * HD + d];
    if (splits == 1) {
      const size_t o = ((size_t)t * nh + (size_t)kvh * group + g) * HD + d;
      if (outF)
        outF[o] = sum / sL[g];
      else
        out[o] = fromFloat<O>(sum / sL[g]);
    } else {
      partAcc[(partBase + (size_t)g * splits) * HD + d] = sum;
      if (d == 0) {
        partMl[(partBase + (size_t)g * splits) * 2] = sM[g];
        partMl[(partBase + (size_t)g * splits) * 2 + 1] = sL[g];
      }
    }
  }
}

/** out = sum_s acc_s e^(m_s - M) / sum_s l_s e^(m_s - M); grid (token, head), HD threads. */
template <int HD, class O>
__global__ void splitReduceKernel(const int32_t* __restrict__ decodeTokens, const float* __restrict__ partAcc,
                                  const float* __restrict__ partMl, int nh, int splits, O* __restrict__ out,
                                  float* __restrict__ outF) {
  pdlLaunchDependents();  // under PDL: a tiny kernel; the o projection may launch and prefetch its weights now
  pdlWaitForPrevious();
  const int i = blockIdx.x, h = blockIdx.y, d = threadIdx.x;
  const int t = decodeTokens ? decodeTokens[i] : i;
  const size_t base = ((size_t)i * nh + h) * splits;
  float M = -INFINITY;
  for (int s = 0; s < splits; ++s) M = fmaxf(M, partMl[(base + s) * 2]);
  float L = 0.f, acc = 0.f;
  for (int s = 0; s < splits; ++s) {
    const float l = partMl[(base + s) * 2 + 1];
    if (l == 0.f) continue;  // empty partition
    const float w = expf(partMl[(base + s) * 2] - M);
    L += l * w;
    acc += partAcc[(base + s) * HD + d] * w;
  }
  if (outF)
    outF[((size_t)t * nh + h) * HD + d] = acc / L;
  else
    out[((size_t)t * nh + h) * HD + d] = fromFloat<O>(acc / L);
}

template <int HD, class E, class O>
void launchMergeFor(const AttentionShape& s, const AttentionArgsT<E, O>& a, int numDecode, int splits,
                    cudaStream_t stream) {
  launchMaybePdl(splitReduceKernel<HD, O>, dim3(numDecode, s.numHeads), dim3(HD), 0, stream, a.decodeTokens,
                 a.splitWorkspace, a.splitWorkspace + (size_t)numDecode * s.numHeads * splits * HD, s.numHeads,
                 splits, a.out, a.outF);
}

template <int HD, class E, class O>
void launchFor(const AttentionShape& s, const AttentionArgsT<E, O>& a, int numDecode, int splits, int partition,
               cudaStream_t stream) {
  const size_t smem = ((size_t)kSplitKvMaxGroup * HD * (1 + kWarps) + (size_t)kSplitKvMaxGroup * kSplitKvMaxPartition) * 4;
  static std::atomic<uint64_t> smemConfigured{0};
  ensureDynamicSmem(splitDecodeKernel<HD, E, O>, smem, smemConfigured);
  launchMaybePdl(splitDecodeKernel<HD, E, O>, dim3(numDecode, s.numKvHeads, splits), dim3(kThreads), smem, stream,
                 a.qkv, a.kCache, a.vCache, a.decodeTokens, a.tokenRow, a.positions, a.blockTables, a.tableStride,
                 s.blockSize, s.numHeads, s.numKvHeads, partition, 1.f / sqrtf((float)HD), a.out, a.outF,
                 a.splitWorkspace, a.splitWorkspace + (size_t)numDecode * s.numHeads * splits * HD);
  if (splits > 1) launchMergeFor<HD, E, O>(s, a, numDecode, splits, stream);
}

}  // namespace

bool splitKvDecodeSupported(int headDim, int group) {
  return (headDim == 64 || headDim == 128 || headDim == 256) && group >= 1 && group <= kSplitKvMaxGroup;
}

template <class E, class O>
void launchSplitKvDecodeAttention(const AttentionShape& s, const AttentionArgsT<E, O>& a, int numDecode, int splits,
                                  int partition, cudaStream_t stream) {
  if (numDecode == 0) return;
  if (partition < 1)
    throw std::runtime_error("split-KV decode attention: partition " + std::to_string(partition) + " out of range");
  if (splits > 1 && (size_t)numDecode * s.numHeads * splits * (s.headDim + 2) > splitKvWorkspaceFloats(s))
    throw std::runtime_error("split-KV decode attention: workspace too small for " + std::to_string(numDecode) +
                             " tokens x " + std::to_string(splits) + " partitions");
  switch (s.headDim) {
    case 64: return launchFor<64, E, O>(s, a, numDecode, splits, partition, stream);
    case 128: return launchFor<128, E, O>(s, a, numDecode, splits, partition, stream);
    case 256: return launchFor<256, E, O>(s, a, numDecode, splits, partition, stream);
    default:
      throw std::runtime_error("split-KV decode attention: headDim " + std::to_string(s.headDim) +
                               " is not implemented (64, 128, 256)");
  }
}

template <class E, class O>
void launchSplitKvMerge(const AttentionShape& s, const AttentionArgsT<E, O>& a, int numDecode, int splits,
                        cudaStream_t stream) {
  switch (s.headDim) {
    case 64: return launchMergeFor<64, E, O>(s, a, numDecode, splits, stream);
    case 128: return launchMergeFor<128, E, O>(s, a, numDecode, splits, stream);
    case 256: return launchMergeFor<256, E, O>(s, a, numDecode, splits, stream);
    default:
      throw std::runtime_error("split-KV merge: headDim " + std::to_string(s.headDim) + " is not implemented (64, 128, 256)");
  }
}

#define SERVAL_INSTANTIATE(E, O)                                                                                  \
  template void launchSplitKvMerge<E, O>(const AttentionShape&, const AttentionArgsT<E, O>&, int, int, cudaStream_t); \
  template void launchSplitKvDecodeAttention<E, O>(const AttentionShape&, const AttentionArgsT<E, O>&, int, int, int, \
                                                   cudaStream_t);
SERVAL_FOR_EACH_KV_PAIR(SERVAL_INSTANTIATE)
#undef SERVAL_INSTANTIATE

}  // namespace serval
