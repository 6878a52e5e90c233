// The batch sizes decode-only steps run at on the cuda backend (CUDA graphs are captured for each at start-up), close
// to vLLM's cudagraph capture sizes (1, 2, 4, then multiples of 8) up to the first size that covers the largest
// decode step the scheduler can send (max_num_seqs rows, at most max_num_batched_tokens), capped at 512. One change:
// every size from 1 to 8. Steps of up to 8 rows run the fused GEMV decode layer, whose time grows with each row (7B on
// an H200: 4.3 ms at 1 row, 8.6 at 5, 12.9 at 8), so padding 5 rows to 8 cost 50 % (bench/native/README.md).
// A decode step of n rows runs at the smallest size >= n (the extra rows are inert padding: native/cuda/cuda_model.cu);
// a larger step runs eager at its own size.

/** vLLM's largest capture size */
export const MAX_DECODE_BATCH_SIZE = 512;
/** rows up to which decode steps run the GEMV decode layer (native/cuda/kernels.h kGemvMaxTokens) */
const GEMV_DECODE_ROWS = 8;

export function decodeBatchSizes(maxNumSeqs: number, maxNumBatchedTokens: number): number[] {
  for (const [name, v] of [['max_num_seqs', maxNumSeqs], ['max_num_batched_tokens', maxNumBatchedTokens]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  }
  const largestStep = Math.min(maxNumSeqs, maxNumBatchedTokens, MAX_DECODE_BATCH_SIZE);
  const sizes: number[] = [];
  for (let s = 1; ; s = s < GEMV_DECODE_ROWS ? s + 1 : s + 8) {
    // a padded step needs activation rows for all its rows: never above the token budget
    if (s > maxNumBatchedTokens) break;
    sizes.push(s);
    if (s >= largestStep) break;
  }
  return sizes;
}
