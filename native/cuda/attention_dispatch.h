// Which attention kernel runs which tokens of a step, decided on the host from the step's metadata (explicit rules,
// no silent fallback):
//   - rows with >= 2 query tokens (prefill chunks) -> tensor-core flash-attention prefill kernel, in tiles of
//     kFlashTileQueries tokens of one row, when flashPrefillSupported(headDim, storage) (bf16/fp16 storage: the MMA
//     takes 16-bit inputs); otherwise (fp32 storage, other head dims) the legacy kernel;
//   - rows with 1 query token (decode) -> tensor-core GQA decode kernel when gqaDecodeSupported(headDim, group,
//     storage) (bf16/fp16, head dim 64/128), its context cut into partitions of whole 64-key tiles until the grid
//     has about kGqaDecodeTargetBlocksPerSm blocks per SM at any row count (no wave cliffs); else the CUDA-core
//     split-KV decode kernel when splitKvDecodeSupported(headDim, group) (fp32 storage, head dim 256), partitions
//     only while the decode tokens alone under-fill the GPU; otherwise (unsupported shapes) the legacy kernel (CUDA
//     cores, one block per token and head);
//   - SERVAL_ATTENTION=legacy runs the legacy kernel for every token (benchmarks' before/after, bisecting).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "common/forward_batch.h"
#include "common/model_spec.h"

namespace serval {

constexpr int kFlashTileQueries = 64;
constexpr int kSplitKvMinPartition = 16;
constexpr int kSplitKvMaxPartition = 512;  // keys per chunk of a partition (longer partitions loop)
constexpr int kSplitKvMaxGroup = 8;
constexpr int kWholeContextPartition = 1 << 30;  // one partition covering any context
constexpr int kGqaDecodeTileKeys = 64;           // K/V tile of the GQA decode kernel: its partitions are multiples
constexpr int kGqaDecodeTargetBlocksPerSm = 8;   // grid the GQA decode plan aims at (about 2.7 waves of 3 blocks/SM)

bool flashPrefillSupported(int headDim, DType storage);
bool splitKvDecodeSupported(int headDim, int group);
bool gqaDecodeSupported(int headDim, int group, DType storage);

/** Which kernel runs decode tokens: Auto is the rule above; the others force one (benchmarks, tests), and throw when
 *  the shape does not support it. */
enum class DecodeKernel { Auto, SplitKvCudaCore, GqaTensorCore };

/** Model geometry and device facts the plan depends on. */
struct AttentionShape {
  int numHeads, numKvHeads, headDim, blockSize, numSms;
  bool forceLegacy;  // SERVAL_ATTENTION=legacy
  DType storage = DType::BF16;  // K/V cache type (--kv-cache-dtype; by default --dtype): it picks the kernels
};

/** Reads SERVAL_ATTENTION: unset/"auto" -> false, "legacy" -> true; anything else throws naming the values. */
bool attentionForceLegacyFromEnv();

struct AttentionPlan {
  bool legacyAll = false;           // one legacy launch over all tokens
  std::vector<int32_t> tiles;       // flash prefill tiles: (first token, token count) pairs, longest KV first
  int numDecode = 0;                // decode tokens (one-token rows)
  bool decodeIsAllTokens = false;   // decode tokens are exactly 0..T-1 (no list needed)
  std::vector<int32_t> decodeTokens;  // their token indices when !decodeIsAllTokens
  bool decodeSplitKernel = false;   // decode tokens run a split-KV kernel (else the legacy kernel)
  bool decodeTensorCore = false;    // ... the tensor-core GQA decode kernel (else the CUDA-core split-KV kernel)
  int decodeSplits = 1;             // partitions of the split-KV kernel (1: no reduce pass)
  int decodePartition = 0;          // keys per partition (split-KV only)
  int numTiles() const { return (int)tiles.size() / 2; }
};

/** Plan for an eager step. */
AttentionPlan planAttention(const ForwardBatch& b, const AttentionShape& s);
/** Plan for a captured decode-only graph: T one-token rows whose contexts are at most maxContext (the padded block
 *  table's capacity), so the plan depends only on the graph's key. */
AttentionPlan planDecodeGraph(int T, int maxContext, const AttentionShape& s, DecodeKernel kernel = DecodeKernel::Auto);

/** Floats the split-KV partial results may need (allocate once; never grows, so captured graphs stay valid). */
size_t splitKvWorkspaceFloats(const AttentionShape& s);

/** Device pointers of one layer's attention: K/V cache of type C, output of type S (the weights' storage type: the
 *  cuBLASLt o projection's input), the pairs of SERVAL_FOR_EACH_KV_PAIR. The kernels take the two types as separate
 *  template parameters rather than writing fp32 and converting: a conversion pass would add a launch and an fp32
 *  round trip of the output per layer, the second parameter costs only the extra instantiations. tiles/decodeTokens
 *  point at the uploaded plan lists (may be null when the plan has none). */
template <class C, class S = C>
struct AttentionArgsT {
  const float* qkv;  // [T, (nh + 2 nkv) * hd], q already rotated
  const C* kCache;
  const C* vCache;
  const int32_t* tokenRow;
  const int32_t* positions;
  const int32_t* blockTables;
  int tableStride;
  const int32_t* tiles;
  const int32_t* decodeTokens;
  float* splitWorkspace;
  S* out;  // [T, nh * hd]
  int numTokens;
  /** when set, every kernel writes the output here in fp32 instead of `out`: the fused decode layers feed it to the
   *  fp32-input o-projection GEMV */
  float* outF = nullptr;
};
using AttentionArgs = AttentionArgsT<__nv_bfloat16>;

template <class C, class S>
void launchAttention(const AttentionPlan& plan, const AttentionShape& s, const AttentionArgsT<C, S>& a,
                     cudaStream_t stream);

/** Kernel launchers (attention_flash_prefill.cu: bf16 and fp16 caches; attention_split_decode.cu: all pairs). */
template <class C, class S>
void launchFlashPrefillAttention(const AttentionShape& s, const AttentionArgsT<C, S>& a, int numTiles,
                                 cudaStream_t stream);
template <class C, class S>
void launchSplitKvDecodeAttention(const AttentionShape& s, const AttentionArgsT<C, S>& a, int numDecode, int splits,
                                  int partition, cudaStream_t stream);
/** merges the partitions (splits > 1) of either decode kernel (attention_split_decode.cu) */
template <class C, class S>
void launchSplitKvMerge(const AttentionShape& s, const AttentionArgsT<C, S>& a, int numDecode, int splits,
                        cudaStream_t stream);
/** tensor-core GQA decode (attention_gqa_decode.cuh; bf16/fp16 caches, fp32 throws), merge included */
template <class C, class S>
void launchGqaDecodeAttention(const AttentionShape& s, const AttentionArgsT<C, S>& a, int numDecode, int splits,
                              int partition, cudaStream_t stream);

}  // namespace serval
