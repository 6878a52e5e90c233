// The bf16 acceptance check: top-5 logprobs (of the reference's top 5) within a tolerance, and the same
// argmax wherever the reference's top-1/top-2 logprob gap is clear.
import { logSumExp, topKIndices } from '../../src/runner/sampler-logprobs.js';

export interface LogprobComparison {
  /** max |logprob_ref - logprob_got| over the reference's top-5 tokens */
  maxTop5Diff: number;
  refTop1: number;
  gotTop1: number;
  /** reference top-1 minus top-2 logprob */
  refGap: number;
}

export function compareRow(ref: Float32Array, got: Float32Array): LogprobComparison {
  const lseRef = logSumExp(ref);
  const lseGot = logSumExp(got);
  const top = topKIndices(ref, 5);
  let maxTop5Diff = 0;
  for (const i of top) maxTop5Diff = Math.max(maxTop5Diff, Math.abs(ref[i]! - lseRef - (got[i]! - lseGot)));
  return { maxTop5Diff, refTop1: top[0]!, gotTop1: topKIndices(got, 1)[0]!, refGap: ref[top[0]!]! - ref[top[1]!]! };
}

/** compares every vocab-sized row of two logit blocks */
export function compareRows(ref: Float32Array, got: Float32Array, vocab: number): LogprobComparison[] {
  if (ref.length !== got.length) throw new Error(`logit blocks differ in length: ${ref.length} vs ${got.length}`);
  const out: LogprobComparison[] = [];
  for (let o = 0; o < ref.length; o += vocab) out.push(compareRow(ref.subarray(o, o + vocab), got.subarray(o, o + vocab)));
  return out;
}

/** rows that fail: top-5 logprobs off by more than `tol`, or a different argmax despite a gap above `gap` */
export function failures(rows: LogprobComparison[], tol = 5e-2, gap = 1e-2): LogprobComparison[] {
  return rows.filter((r) => r.maxTop5Diff > tol || (r.refGap > gap && r.refTop1 !== r.gotTop1));
}
