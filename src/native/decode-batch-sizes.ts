// The batch sizes decode-only steps run at on the cuda backend (CUDA graphs are captured for each at start-up):
// vLLM's cudagraph capture sizes (1, 2, 4, then multiples of 8) up to the first size that covers the largest decode
// step the scheduler can send (max_num_seqs rows, at most max_num_batched_tokens), capped at 512. Padding costs little
// below 8 rows: steps of more than 2 rows (native/cuda/kernels.h kGemvMaxTokens) run cuBLASLt, whose 7B decode step
// is flat from 2 to 9 rows (4.48–4.62 ms on an H200, bench/native/README.md).
// A decode step of n rows runs at the smallest size >= n (the extra rows are inert padding: native/cuda/cuda_model.cu);
// a larger step runs eager at its own size.

/** vLLM's largest capture size */
export const MAX_DECODE_BATCH_SIZE = 512;

const nextSize = (s: number): number => (s < 8 ? s * 2 : s + 8);

export function decodeBatchSizes(maxNumSeqs: number, maxNumBatchedTokens: number): number[] {
  for (const [name, v] of [['max_num_seqs', maxNumSeqs], ['max_num_batched_tokens', maxNumBatchedTokens]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
  }
  const largestStep = Math.min(maxNumSeqs, maxNumBatchedTokens, MAX_DECODE_BATCH_SIZE);
  const sizes: number[] = [];
  for (let s = 1; ; s = nextSize(s)) {
    // a padded step needs activation rows for all its rows: never above the token budget
    if (s > maxNumBatchedTokens) break;
    sizes.push(s);
    if (s >= largestStep) break;
  }
  return sizes;
}
