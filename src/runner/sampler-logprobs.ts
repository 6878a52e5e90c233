// Logprobs of raw model output (vLLM v1's default "raw_logprobs"): log-softmax over the unprocessed logits,
// the chosen token's rank, and the top-k alternatives.
import type { TokenLogprobs } from './batch.js';

export function logSumExp(row: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return max + Math.log(sum);
}

/** indices of the k largest values, best first (ties: lower index first) */
export function topKIndices(row: ArrayLike<number>, k: number): number[] {
  if (k <= 0) return [];
  const idx: number[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (idx.length === k && v <= row[idx[k - 1]]) continue;
    let pos = idx.length < k ? idx.length : k - 1;
    if (idx.length < k) idx.push(i);
    while (pos > 0 && row[idx[pos - 1]] < v) {
      idx[pos] = idx[pos - 1];
      pos--;
    }
    idx[pos] = i;
  }
  return idx;
}

export function tokenLogprobs(row: ArrayLike<number>, tokenId: number, numTop: number, lse = logSumExp(row)): TokenLogprobs {
  const v = row[tokenId];
  let rank = 1;
  for (let i = 0; i < row.length; i++) if (row[i] > v) rank++;
  const top = topKIndices(row, numTop).map((t) => ({ tokenId: t, logprob: row[t] - lse }));
  return { logprob: v - lse, rank, top };
}
