// Launchers of the CUDA kernels of one decoder forward. Residual stream fp32; weights, KV cache and the cuBLASLt
// steps' GEMM inputs in the storage type S (kernels_storage.h: bf16, fp16 or fp32, --dtype); decode-sized GEMV steps
// keep their GEMM inputs in fp32. Each launcher is one template, instantiated for the three storage types.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "common/model_spec.h"
#include "cuda/kernels_storage.h"

namespace serval {

/** x[t] = float(table[ids[t]]) */
template <class S>
void launchEmbeddingGather(const S* table, const int32_t* ids, float* x, int T, int H, cudaStream_t s);

/** out[i] = rmsnorm(x[r] + delta[r]) * w for r = rows[i] (rows null: r = i, and x[r] += delta[r] in place); Out is
 *  the storage type (cuBLASLt GEMM input) or fp32 (GEMV input). */
template <class Out>
void launchAddRmsNorm(float* x, const float* delta, const float* w, Out* out, const int32_t* rows, int numOut, int H,
                      float eps, cudaStream_t s);

/** Per token: optional q/k RMSNorm per head, RoPE on q and k (rotate-half), K/V written to the paged cache (of type
 *  S, the K/V cache type; fp16 saturates: toKvCache) at the slot mapping; q is rotated in place in qkv
 *  [T, (nh + 2 nkv) * hd]. */
template <class S>
void launchQkNormRopeKvWrite(float* qkv, const float* qNormW, const float* kNormW, const float* invFreq,
                             const int32_t* positions, const int32_t* slots, S* kCache, S* vCache, int T, int nh,
                             int nkv, int hd, float eps, cudaStream_t s);

/** out[t, i] = S(silu(gu[t, i]) * gu[t, I + i]) */
template <class S>
void launchSiluMul(const float* gu, S* out, int T, int I, cudaStream_t s);

/** Paged causal attention over variable-length rows (prefill chunks with cached context, and decode), GQA.
 *  tokenRow[t] = row of token t; token t attends KV positions 0..positions[t]; out [T, nh * hd], or outF (fp32)
 *  instead when set. Computes the T tokens tokenList[0..T) (tokenList null: tokens 0..T-1). K/V cache of type C,
 *  output of type S (the pairs of SERVAL_FOR_EACH_KV_PAIR). Dispatch: attention_dispatch.h. */
template <class C, class S = C>
void launchPagedAttention(const float* qkv, const C* kCache, const C* vCache, const int32_t* tokenList,
                          const int32_t* tokenRow, const int32_t* positions, const int32_t* blockTables,
                          int maxBlocksPerRow, int blockSize, S* out, int T, int nh, int nkv, int hd, cudaStream_t s,
                          float* outF = nullptr);

/** Decode-sized GEMM (kernels_gemv.cu) for T <= kGemvMaxTokens tokens, K % 8 == 0: x [T, K] (fp32, or S when
 *  LinearGemm::run sends a small cuBLASLt-path GEMM here) times weight rows W[n, :] of storage type S, fp32
 *  accumulate; `split` (1, 2, 4, 8) warps share each row's K (gemvSplitFor picks it from the shape). Decode steps
 *  keep their GEMM inputs in fp32 (no speed cost at these sizes, fewer roundings: see bench/native/README.md,
 *  accuracy). */
// 2: on an H200 (7B, context 512) the GEMV decode path costs 4.04 ms at 1 row, 4.52 at 2, 5.65 at 3, 12.2 at 8, where
// cuBLASLt takes 4.48-4.62 ms at 2..9 rows (bench/native/README.md, "Decode attention at large batch"). The override
// is a build option for that benchmark only (bench/native/attn-device-run.sh).
#ifndef SERVAL_GEMV_MAX_TOKENS
#define SERVAL_GEMV_MAX_TOKENS 2
#endif
constexpr int kGemvMaxTokens = SERVAL_GEMV_MAX_TOKENS;
bool gemvSupported(int T, int K);
/** split for a GEMV over numRows weight rows of length K (paired-row epilogues: count both rows) */
int gemvSplitFor(int numRows, int K, int numSms);
/** y[T, N] (fp32) = x · W^T (+ bias[N]); X is fp32 or S */
template <class X, class S>
void launchGemvLinear(const X* x, const S* w, const float* bias, float* y, int T, int N, int K, int split,
                      cudaStream_t s);
/** act[T, I] = silu(x · Wg^T) * (x · Wu^T) (fp32) with wGateUp = [Wg; Wu] ([2I, K]): gate/up projection + SiLU-and-mul */
template <class S>
void launchGemvGateUpSilu(const float* x, const S* wGateUp, float* act, int T, int I, int K, int split,
                          cudaStream_t s);
/** The fused QKV projection (+ bias) with RoPE and the K/V cache write of launchQkNormRopeKvWrite (without q/k norm):
 *  rotated q to qkv [T, (nh + 2 nkv) hd] (fp32; its k/v parts are not written), rotated k and v to the cache of type
 *  C (weights S; the pairs of SERVAL_FOR_EACH_KV_PAIR). */
template <class S, class C = S>
void launchGemvQkvRopeKv(const float* x, const S* wQkv, const float* bias, float* qkv, const float* invFreq,
                         const int32_t* positions, const int32_t* slots, C* kCache, C* vCache, int T, int nh, int nkv,
                         int hd, int K, int split, cudaStream_t s);

/** Weight conversion on upload: n values of `from` (a checkpoint dtype, on the device) to S. */
template <class S>
void launchConvertToStorage(const void* src, DType from, S* dst, size_t n, cudaStream_t s);
void launchBf16ToF32(const __nv_bfloat16* src, float* dst, size_t n, cudaStream_t s);
/** uniform(-scale, scale) from a counter hash of (seed, index): reproducible, no RNG state; the same values (rounded
 *  to S) for every storage type */
template <class S>
void launchFillUniform(S* dst, size_t n, float scale, uint64_t seed, cudaStream_t s);
inline void launchFillUniformBf16(__nv_bfloat16* dst, size_t n, float scale, uint64_t seed, cudaStream_t s) {
  launchFillUniform(dst, n, scale, seed, s);
}
void launchFillF32(float* dst, size_t n, float value, cudaStream_t s);

}  // namespace serval
