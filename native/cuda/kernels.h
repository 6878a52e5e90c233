// Launchers of the CUDA kernels of one decoder forward. Residual stream fp32, KV cache bf16, GEMM inputs bf16
// (cuBLASLt steps) or fp32 (decode-sized GEMV steps).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace serval {

/** x[t] = float(table[ids[t]]) */
void launchEmbeddingGather(const __nv_bfloat16* table, const int32_t* ids, float* x, int T, int H, cudaStream_t s);

/** out[i] = rmsnorm(x[r] + delta[r]) * w for r = rows[i] (rows null: r = i, and x[r] += delta[r] in place); out in
 *  bf16 (cuBLASLt GEMM input) or fp32 (GEMV input). */
void launchAddRmsNorm(float* x, const float* delta, const float* w, __nv_bfloat16* out, const int32_t* rows,
                      int numOut, int H, float eps, cudaStream_t s);
void launchAddRmsNorm(float* x, const float* delta, const float* w, float* out, const int32_t* rows, int numOut, int H,
                      float eps, cudaStream_t s);

/** Per token: optional q/k RMSNorm per head, RoPE on q and k (rotate-half), K/V written to the paged cache at the
 *  slot mapping; q is rotated in place in qkv [T, (nh + 2 nkv) * hd]. */
void launchQkNormRopeKvWrite(float* qkv, const float* qNormW, const float* kNormW, const float* invFreq,
                             const int32_t* positions, const int32_t* slots, __nv_bfloat16* kCache,
                             __nv_bfloat16* vCache, int T, int nh, int nkv, int hd, float eps, cudaStream_t s);

/** out[t, i] = bf16(silu(gu[t, i]) * gu[t, I + i]) */
void launchSiluMul(const float* gu, __nv_bfloat16* out, int T, int I, cudaStream_t s);

/** Paged causal attention over variable-length rows (prefill chunks with cached context, and decode), GQA.
 *  tokenRow[t] = row of token t; token t attends KV positions 0..positions[t]; out [T, nh * hd] bf16.
 *  Computes the T tokens tokenList[0..T) (tokenList null: tokens 0..T-1). Dispatch: attention_dispatch.h. */
void launchPagedAttention(const float* qkv, const __nv_bfloat16* kCache, const __nv_bfloat16* vCache,
                          const int32_t* tokenList, const int32_t* tokenRow, const int32_t* positions, const int32_t* blockTables,
                          int maxBlocksPerRow, int blockSize, __nv_bfloat16* out, int T, int nh, int nkv, int hd,
                          cudaStream_t s);

/** Decode-sized GEMM (kernels_gemv.cu) for T <= kGemvMaxTokens tokens, K % 8 == 0: x [T, K] (fp32, or bf16 for the
 *  attention output) times bf16 weight rows W[n, :], fp32 accumulate; `split` (1, 2, 4, 8) warps share each row's K
 *  (gemvSplitFor picks it from the shape). Decode steps keep their GEMM inputs in fp32 (no speed cost at these
 *  sizes, fewer bf16 roundings: see bench/native/README.md, accuracy). */
constexpr int kGemvMaxTokens = 8;
bool gemvSupported(int T, int K);
/** split for a GEMV over numRows weight rows of length K (paired-row epilogues: count both rows) */
int gemvSplitFor(int numRows, int K, int numSms);
/** y[T, N] (fp32) = x · W^T (+ bias[N]) */
void launchGemvLinear(const __nv_bfloat16* x, const __nv_bfloat16* w, const float* bias, float* y, int T, int N, int K,
                      int split, cudaStream_t s);
void launchGemvLinear(const float* x, const __nv_bfloat16* w, const float* bias, float* y, int T, int N, int K,
                      int split, cudaStream_t s);
/** act[T, I] = silu(x · Wg^T) * (x · Wu^T) (fp32) with wGateUp = [Wg; Wu] ([2I, K]): gate/up projection + SiLU-and-mul */
void launchGemvGateUpSilu(const float* x, const __nv_bfloat16* wGateUp, float* act, int T, int I, int K, int split,
                          cudaStream_t s);
/** The fused QKV projection (+ bias) with RoPE and the K/V cache write of launchQkNormRopeKvWrite (without q/k norm):
 *  rotated q to qkv [T, (nh + 2 nkv) hd] (fp32; its k/v parts are not written), rotated k and v to the cache. */
void launchGemvQkvRopeKv(const float* x, const __nv_bfloat16* wQkv, const float* bias, float* qkv,
                         const float* invFreq, const int32_t* positions, const int32_t* slots,
                         __nv_bfloat16* kCache, __nv_bfloat16* vCache, int T, int nh, int nkv, int hd, int K,
                         int split, cudaStream_t s);

/** Weight conversion on upload and dummy weights. */
void launchF32ToBf16(const float* src, __nv_bfloat16* dst, size_t n, cudaStream_t s);
void launchF16ToBf16(const uint16_t* src, __nv_bfloat16* dst, size_t n, cudaStream_t s);
void launchBf16ToF32(const __nv_bfloat16* src, float* dst, size_t n, cudaStream_t s);
/** uniform(-scale, scale) from a counter hash of (seed, index): reproducible, no RNG state */
void launchFillUniformBf16(__nv_bfloat16* dst, size_t n, float scale, uint64_t seed, cudaStream_t s);
void launchFillF32(float* dst, size_t n, float value, cudaStream_t s);

}  // namespace serval
