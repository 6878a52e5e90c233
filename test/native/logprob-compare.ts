// The acceptance check: top-5 logprobs (of the reference's top 5) within a tolerance, and the same argmax
// wherever the reference's top-1/top-2 logprob gap is clear; and the runs it is measured on.
import type { StepBatch } from '../../src/runner/batch.js';
import { logSumExp, topKIndices } from '../../src/runner/sampler-logprobs.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import type { ForwardOutput } from '../../src/runner/ts/ts-model.js';
import { scriptedSteps } from './native-test-helpers.js';

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

export const maxTop5Diff = (rows: LogprobComparison[]): number => Math.max(0, ...rows.map((r) => r.maxTop5Diff));

/** a model that runs step batches and returns all logits (the ts reference, the native backends) */
interface LogitModel {
  forward(batch: StepBatch): ForwardOutput;
}

/** the greedy run's prompt (ids on the full Qwen vocabulary; folded into smaller test vocabularies) and length */
export const GREEDY_PROMPT_IDS: readonly number[] = [9707, 11, 1879, 0, 151643, 42, 1024, 77];
export const GREEDY_STEPS = 24;

/**
 * The GPU model against a reference on the same checkpoint: (1) the scripted steps (chunked prefill, mixed
 * prefill+decode, prompt logits, out-of-order blocks; native-test-helpers.ts), every logit row; (2) a 24-token greedy
 * run of the reference teacher-forced into the GPU model (both see the reference's tokens). Both models need
 * `numBlocks` fresh KV blocks of `blockSize`.
 */
export function compareWithReference(
  ref: LogitModel & { vocabSize: number },
  gpu: LogitModel,
  opts: { numBlocks: number; blockSize: number },
  promptIds: readonly number[] = GREEDY_PROMPT_IDS,
): { scripted: LogprobComparison[]; greedy: LogprobComparison[]; greedyTokens: number[] } {
  const V = ref.vocabSize;
  const scripted: LogprobComparison[] = [];
  for (const batch of scriptedSteps(V)) {
    const want = ref.forward(batch);
    const got = gpu.forward(batch);
    scripted.push(...compareRows(want.sampleLogits, got.sampleLogits, V));
    want.promptLogits.forEach((w, r) => {
      if (w) scripted.push(...compareRows(w, got.promptLogits[r]!, V));
    });
  }
  return { scripted, ...compareGreedyRun(ref, gpu, opts, promptIds) };
}

/**
 * A GREEDY_STEPS-token greedy run of the reference (prompt in one step, then one token per step) teacher-forced into
 * the GPU model: every step's logits compared. Uses the highest `numBlocks` blocks (the scripted steps use low ones).
 */
export function compareGreedyRun(
  ref: LogitModel & { vocabSize: number },
  gpu: LogitModel,
  opts: { numBlocks: number; blockSize: number },
  promptIds: readonly number[] = GREEDY_PROMPT_IDS,
): { greedy: LogprobComparison[]; greedyTokens: number[] } {
  const V = ref.vocabSize;
  const steps = GREEDY_STEPS;
  let pending: readonly number[] = greedyPrompt(promptIds, V);
  const blockTable = Array.from({ length: Math.ceil((pending.length + steps) / opts.blockSize) }, (_, i) => opts.numBlocks - 1 - i);
  const greedy: LogprobComparison[] = [];
  const greedyTokens: number[] = [];
  let start = 0;
  for (let i = 0; i < steps; i++) {
    const batch = buildStepBatch([{ tokenIds: pending, startPosition: start, blockTable, sample: true }], opts.blockSize);
    const want = ref.forward(batch).sampleLogits;
    greedy.push(...compareRows(want, gpu.forward(batch).sampleLogits, V));
    const next = topKIndices(want, 1)[0]!;
    greedyTokens.push(next);
    start += pending.length;
    pending = [next];
  }
  return { greedy, greedyTokens };
}

/** the same ids on the full vocabulary, folded into a small test one */
export const greedyPrompt = (promptIds: readonly number[], vocab: number): number[] => promptIds.map((t) => t % vocab);

/** a row against a reference known only by its top-k ids and logprobs (HF transformers' recorded runs) */
export function compareTopLogprobs(refIds: readonly number[], refLogprobs: readonly number[], got: Float32Array): LogprobComparison {
  const lse = logSumExp(got);
  let maxTop5Diff = 0;
  for (let k = 0; k < Math.min(5, refIds.length); k++) maxTop5Diff = Math.max(maxTop5Diff, Math.abs(refLogprobs[k]! - (got[refIds[k]!]! - lse)));
  return { maxTop5Diff, refTop1: refIds[0]!, gotTop1: topKIndices(got, 1)[0]!, refGap: refLogprobs[0]! - refLogprobs[1]! };
}
