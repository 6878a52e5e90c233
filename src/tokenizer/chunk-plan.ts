// Splits a batch of texts into contiguous chunks of about equal size (in UTF-16 units, which track encode time),
// one message to a worker each: few enough to keep message overhead low, enough to balance the workers.

/** [start, end) ranges of `lengths`, in order, each about `total / chunks` long and at least `minChunk` (but the last) */
export function planChunks(lengths: readonly number[], chunks: number, minChunk: number): Array<[number, number]> {
  if (!Number.isInteger(chunks) || chunks < 1) throw new Error(`planChunks: chunks must be a positive integer, got ${chunks}`);
  const total = lengths.reduce((a, b) => a + b, 0);
  const target = Math.max(minChunk, total / chunks, 1);
  const out: Array<[number, number]> = [];
  let start = 0;
  let size = 0;
  lengths.forEach((len, i) => {
    size += len;
    if (size >= target) {
      out.push([start, i + 1]);
      start = i + 1;
      size = 0;
    }
  });
  if (start < lengths.length) out.push([start, lengths.length]);
  return out;
}
