// Attention dispatch: host-side plan (which kernel computes which tokens) and the per-layer launches. The rules are
// documented in attention_dispatch.h.
#include "cuda/attention_dispatch.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "cuda/attention_gqa_decode.cuh"
#include "cuda/kernels.h"

namespace serval {

bool attentionForceLegacyFromEnv() {
  const char* v = std::getenv("SERVAL_ATTENTION");
  if (!v || !*v || std::string(v) == "auto") return false;
  if (std::string(v) == "legacy") return true;
  throw std::invalid_argument(std::string("SERVAL_ATTENTION=") + v + " is not one of: auto, legacy");
}

namespace {

/** The CUDA-core split-KV kernel: one block per (token, KV head) reads each K/V row once for the whole GQA group with
 *  16-byte loads, where the legacy kernel re-reads it per query head with scalar loads (at 256 rows x 600 tokens of 7B
 *  context that was ~75 % of a decode step). The context is cut into partitions (of at least kSplitKvMinPartition
 *  keys) when the decode tokens alone leave the GPU under-filled: at batch 1, one partition per KV head would leave
 *  most SMs idle. */
void planSplitKvCudaCore(AttentionPlan& p, int maxContext, const AttentionShape& s) {
  p.decodePartition = kWholeContextPartition;
  const long wantSplits = (2L * s.numSms + (long)p.numDecode * s.numKvHeads - 1) / ((long)p.numDecode * s.numKvHeads);
  if (wantSplits < 2) return;  // the decode rows alone fill the GPU: one partition per (token, KV head)
  int partition = (int)((maxContext + wantSplits - 1) / wantSplits);
  partition = std::max(kSplitKvMinPartition, (partition + 15) / 16 * 16);
  const int splits = (maxContext + partition - 1) / partition;
  if (splits < 2) return;
  p.decodeSplits = splits;
  p.decodePartition = partition;
}

/** The tensor-core GQA decode kernel: partitions of whole 64-key tiles until the grid has about
 *  kGqaDecodeTargetBlocksPerSm blocks per SM. Its blocks are short (a partition, not the whole context, once rows x KV
 *  heads < the target), so the last wave is small at every row count: the CUDA-core plan's one block per (token, KV
 *  head) above 2 x SMs gave a whole extra wave of full-context blocks (7B on an H200: 133 rows took 18.1 ms a step,
 *  128 rows 11.6 ms). */
void planGqaTensorCore(AttentionPlan& p, int maxContext, const AttentionShape& s) {
  p.decodePartition = kWholeContextPartition;
  const long units = (long)p.numDecode * s.numKvHeads, target = (long)kGqaDecodeTargetBlocksPerSm * s.numSms;
  const long wantSplits = (target + units - 1) / units;
  if (wantSplits < 2) return;
  int partition = (int)((maxContext + wantSplits - 1) / wantSplits);
  partition = std::max(kGqaDecodeTileKeys, (partition + kGqaDecodeTileKeys - 1) / kGqaDecodeTileKeys * kGqaDecodeTileKeys);
  const int splits = (maxContext + partition - 1) / partition;
  if (splits < 2) return;
  p.decodeSplits = splits;
  p.decodePartition = partition;
}

void planDecodeSplits(AttentionPlan& p, int maxContext, const AttentionShape& s, DecodeKernel kernel) {
  p.decodeSplits = 1;
  p.decodeSplitKernel = false;
  p.decodeTensorCore = false;
  const int group = s.numHeads / s.numKvHeads;
  const bool gqa = gqaDecodeSupported(s.headDim, group, s.storage), cudaCore = splitKvDecodeSupported(s.headDim, group);
  if (kernel == DecodeKernel::GqaTensorCore && !gqa)
    throw std::invalid_argument("GQA tensor-core decode kernel forced for an unsupported shape (head dim " +
                                std::to_string(s.headDim) + ", group " + std::to_string(group) + ", fp32 K/V cache: " +
                                (s.storage == DType::F32 ? "yes" : "no") + ")");
  if (kernel == DecodeKernel::SplitKvCudaCore && !cudaCore)
    throw std::invalid_argument("split-KV decode kernel forced for an unsupported shape (head dim " +
                                std::to_string(s.headDim) + ", group " + std::to_string(group) + ")");
  if (p.numDecode == 0) return;
  if (kernel == DecodeKernel::GqaTensorCore || (kernel == DecodeKernel::Auto && gqa)) {
    p.decodeSplitKernel = p.decodeTensorCore = true;
    planGqaTensorCore(p, maxContext, s);
  } else if (cudaCore) {
    p.decodeSplitKernel = true;
    planSplitKvCudaCore(p, maxContext, s);
  }
}

}  // namespace

bool gqaDecodeSupported(int headDim, int group, DType storage) {
  return storage != DType::F32 && (headDim == 64 || headDim == 128) && group >= 1 && group <= kSplitKvMaxGroup;
}

size_t splitKvWorkspaceFloats(const AttentionShape& s) {
  // Each plan splits only while numDecode * nkv < B * numSms (B: 2 for the CUDA-core kernel,
  // kGqaDecodeTargetBlocksPerSm for the GQA one), into at most ceil(B * numSms / (numDecode * nkv)) partitions:
  // numDecode * nkv * splits < B * numSms + numDecode * nkv < 2 * B * numSms.
  const size_t group = (size_t)s.numHeads / s.numKvHeads;
  const size_t blocksPerSm = 2 * (size_t)std::max(2, kGqaDecodeTargetBlocksPerSm);
  return blocksPerSm * (size_t)s.numSms * group * (size_t)(s.headDim + 2);
}

AttentionPlan planAttention(const ForwardBatch& b, const AttentionShape& s) {
  AttentionPlan p;
  if (s.forceLegacy) {
    p.legacyAll = true;
    return p;
  }
  const bool flash = flashPrefillSupported(s.headDim, s.storage);
  std::vector<std::pair<int, int>> tileOrder;  // (kv length, tile index)
  int maxDecodeContext = 0;
  for (int r = 0; r < b.numRows; ++r) {
    const int first = b.queryStartLoc[r], n = b.queryStartLoc[r + 1] - first;
    if (n == 1 || (n > 1 && !flash)) {
      for (int t = first; t < first + n; ++t) {
        p.decodeTokens.push_back(t);
        maxDecodeContext = std::max(maxDecodeContext, b.positions[t] + 1);
      }
      continue;
    }
    for (int t = first; t < first + n; t += kFlashTileQueries) {
      const int count = std::min(kFlashTileQueries, first + n - t);
      int kvLen = 0;
      for (int k = t; k < t + count; ++k) kvLen = std::max(kvLen, b.positions[k] + 1);
      tileOrder.emplace_back(kvLen, (int)p.tiles.size() / 2);
      p.tiles.push_back(t);
      p.tiles.push_back(count);
    }
  }
  // longest tiles first: the last wave of blocks is then made of short ones
  std::stable_sort(tileOrder.begin(), tileOrder.end(), [](auto& x, auto& y) { return x.first > y.first; });
  std::vector<int32_t> sorted;
  sorted.reserve(p.tiles.size());
  for (auto& e : tileOrder) sorted.insert(sorted.end(), {p.tiles[2 * e.second], p.tiles[2 * e.second + 1]});
  p.tiles.swap(sorted);
  p.numDecode = (int)p.decodeTokens.size();
  p.decodeIsAllTokens = p.numDecode == b.numTokens;  // tokens are ordered by row, so these are 0..T-1
  if (p.decodeIsAllTokens) p.decodeTokens.clear();
  planDecodeSplits(p, maxDecodeContext, s, DecodeKernel::Auto);
  // a decode-only step on a shape the split-KV kernel does not support is just the legacy kernel on all tokens
  if (p.decodeIsAllTokens && !p.decodeSplitKernel) p.legacyAll = true;
  return p;
}

AttentionPlan planDecodeGraph(int T, int maxContext, const AttentionShape& s, DecodeKernel kernel) {
  AttentionPlan p;
  p.numDecode = T;
  p.decodeIsAllTokens = true;
  if (s.forceLegacy) {
    p.legacyAll = true;
    return p;
  }
  planDecodeSplits(p, maxContext, s, kernel);
  if (!p.decodeSplitKernel) p.legacyAll = true;
  return p;
}

template <class C, class S>
void launchAttention(const AttentionPlan& plan, const AttentionShape& s, const AttentionArgsT<C, S>& a,
                     cudaStream_t stream) {
  if (s.storage != StorageTraits<C>::dtype)
    throw std::logic_error("attention: the arguments' K/V cache type differs from the shape's");
  if (plan.legacyAll) {
    launchPagedAttention(a.qkv, a.kCache, a.vCache, nullptr, a.tokenRow, a.positions, a.blockTables, a.tableStride,
                         s.blockSize, a.out, a.numTokens, s.numHeads, s.numKvHeads, s.headDim, stream, a.outF);
    return;
  }
  if (plan.numTiles() > 0) {
    if (!a.tiles) throw std::logic_error("attention plan has prefill tiles but none were uploaded");
    if constexpr (std::is_same<C, float>::value)
      throw std::logic_error("attention plan has flash prefill tiles for an fp32 cache (no tensor-core fp32 kernel)");
    else
      launchFlashPrefillAttention(s, a, plan.numTiles(), stream);
  }
  if (plan.numDecode > 0) {
    if (!plan.decodeIsAllTokens && !a.decodeTokens)
      throw std::logic_error("attention plan has a decode token list but none was uploaded");
    const int32_t* list = plan.decodeIsAllTokens ? nullptr : a.decodeTokens;
    if (plan.decodeSplitKernel) {
      AttentionArgsT<C, S> d = a;
      d.decodeTokens = list;
      if (plan.decodeTensorCore)
        launchGqaDecodeAttention(s, d, plan.numDecode, plan.decodeSplits, plan.decodePartition, stream);
      else
        launchSplitKvDecodeAttention(s, d, plan.numDecode, plan.decodeSplits, plan.decodePartition, stream);
    } else {
      launchPagedAttention(a.qkv, a.kCache, a.vCache, list, a.tokenRow, a.positions, a.blockTables, a.tableStride,
                           s.blockSize, a.out, plan.numDecode, s.numHeads, s.numKvHeads, s.headDim, stream, a.outF);
    }
  }
}

#define SERVAL_INSTANTIATE(C, S)                                                                                 \
  template void launchAttention<C, S>(const AttentionPlan&, const AttentionShape&, const AttentionArgsT<C, S>&,  \
                                      cudaStream_t);
SERVAL_FOR_EACH_KV_PAIR(SERVAL_INSTANTIATE)
#undef SERVAL_INSTANTIATE

}  // namespace serval
