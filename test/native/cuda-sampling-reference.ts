// Test helpers for the GPU sampler: a host stand-in that decodes a NativeSampleRequest back into RowSampling and
// samples it with the host sampler (so the encoding is checked end to end without a GPU), and a mixed-settings step
// script over a small test model.
import type { NativeSampleRequest, NativeSampleResult } from '../../src/native/addon.js';
import { ROW_FLOAT_FIELDS, ROW_INT_FIELDS, RowFloat, RowInt } from '../../src/native/cuda-sampling.js';
import type { RowSampling, StepBatch } from '../../src/runner/batch.js';
import { defaultRowSampling, Sampler } from '../../src/runner/sampler.js';
import { buildStepBatch, type BatchRowSpec } from '../../src/runner/ts/step-batch-builder.js';

/** row i of a request as the host sampler's settings (+ its grammar mask row) */
export function decodeRow(req: NativeSampleRequest, i: number, vocab: number): { sampling: RowSampling; grammar: Int32Array | null } {
  const words = Math.ceil(vocab / 32);
  const I = (f: RowInt) => req.rowInts[i * ROW_INT_FIELDS + f]!;
  const F = (f: RowFloat) => req.rowFloats[i * ROW_FLOAT_FIELDS + f]!;
  const g = I(RowInt.GrammarMask);
  const l = I(RowInt.ListMask);
  let allowed: Int32Array | null = null;
  if (l >= 0) {
    const ids: number[] = [];
    for (let t = 0; t < vocab; t++) if ((req.listMasks[l * words + (t >> 5)]! >>> (t & 31)) & 1) ids.push(t);
    allowed = Int32Array.from(ids);
  }
  const bias = new Map<number, number>();
  for (let j = I(RowInt.BiasStart); j < I(RowInt.BiasStart) + I(RowInt.BiasCount); j++) bias.set(req.biasIds[j]!, req.biasValues[j]!);
  const p0 = I(RowInt.PenaltyStart);
  const nPrompt = I(RowInt.PromptCount);
  const sampling: RowSampling = {
    ...defaultRowSampling(),
    temperature: F(RowFloat.Temperature),
    topP: F(RowFloat.TopP),
    topK: I(RowInt.TopK),
    minP: F(RowFloat.MinP),
    repetitionPenalty: F(RowFloat.Repetition),
    presencePenalty: F(RowFloat.Presence),
    frequencyPenalty: F(RowFloat.Frequency),
    logitBias: bias.size > 0 ? bias : null,
    allowedTokenIds: allowed,
    // the GPU's counter-based key: the engine-global stream is (engine seed, stream counter)
    seed: (I(RowInt.SeedLo) >>> 0) + (I(RowInt.SeedHi) >>> 0) * 4294967296,
    outputIndex: I(RowInt.Counter) >>> 0,
    logprobs: I(RowInt.NumLogprobs),
    promptTokenIds: Array.from(req.penaltyIds.subarray(p0, p0 + nPrompt)),
    outputTokenIds: Array.from(req.penaltyIds.subarray(p0 + nPrompt, p0 + nPrompt + I(RowInt.OutputCount))),
  };
  return { sampling, grammar: g >= 0 ? req.grammarMasks.slice(g * words, (g + 1) * words) : null };
}

/** what the GPU sampler computes, on the host: one host-sampler call per decoded row */
export function hostSampleRequest(req: NativeSampleRequest, logits: Float32Array, vocab: number): NativeSampleResult {
  const n = req.numRows;
  let topN = 0;
  for (let i = 0; i < n; i++) topN = Math.max(topN, req.rowInts[i * ROW_INT_FIELDS + RowInt.NumLogprobs]!);
  const out: NativeSampleResult = {
    tokens: new Int32Array(n),
    logprob: new Float64Array(n),
    rank: new Int32Array(n),
    topN,
    topIds: new Int32Array(n * topN).fill(-1),
    topLogprobs: new Float64Array(n * topN),
    logits: new Float32Array(req.copyRows.length * vocab),
    timing: { forwardGpuMs: 0, gpuGapMs: 0, sampleGpuMs: 0, hostPrepMs: 0, hostWaitMs: 0 },
  };
  for (let i = 0; i < n; i++) {
    const { sampling, grammar } = decodeRow(req, i, vocab);
    const one: StepBatch = { ...buildStepBatch([{ tokenIds: [0], startPosition: 0, blockTable: [0], sample: true }], 1), sampling: [sampling], grammarBitmask: grammar, grammarRows: grammar ? Uint8Array.of(1) : null };
    const r = new Sampler(0).sample(logits.subarray(i * vocab, (i + 1) * vocab), vocab, one);
    out.tokens[i] = r.sampledTokenIds[0]!;
    const lp = r.logprobs[0];
    if (!lp) continue;
    out.logprob[i] = lp.logprob;
    out.rank[i] = lp.rank;
    lp.top.forEach((e, j) => {
      out.topIds[i * topN + j] = e.tokenId;
      out.topLogprobs[i * topN + j] = e.logprob;
    });
  }
  req.copyRows.forEach((r, k) => out.logits.set(logits.subarray(r * vocab, (r + 1) * vocab), k * vocab));
  return out;
}

export const STEP_VOCAB = 5000; // not a multiple of 32: the last bitmask word is partial
export const STEP_WORDS = Math.ceil(STEP_VOCAB / 32);
export const STEP_BLOCK_SIZE = 4;
const row = (over: Partial<RowSampling>): RowSampling => ({ ...defaultRowSampling(), ...over });

/** bitmask row allowing exactly `ids` */
export function maskOf(ids: number[], words = STEP_WORDS): Int32Array {
  const m = new Int32Array(words);
  for (const t of ids) m[t >> 5]! |= 1 << (t & 31);
  return m;
}

/** one setting per row: every feature of the host sampler at least once */
export const STEP_SETTINGS: Array<{ sampling: RowSampling; mask: Int32Array | null }> = [
  { sampling: row({}), mask: null },
  { sampling: row({}), mask: maskOf([3, 77, 1000, 2048, 4097, 4999]) },
  { sampling: row({ temperature: 1, seed: 42, topK: 50 }), mask: null },
  { sampling: row({ logprobs: 2 }), mask: null },
  { sampling: row({}), mask: maskOf([]) },
  { sampling: row({ bannedTokenIds: Int32Array.of(5, 6) }), mask: maskOf([5, 6, 7, 4998]) },
  { sampling: row({ temperature: 0.7, seed: 7, topP: 0.8, minP: 0.05, logprobs: 3, repetitionPenalty: 1.3, presencePenalty: 0.4, frequencyPenalty: 0.2 }), mask: null },
  { sampling: row({ temperature: 1.2, logitBias: new Map([[11, 5], [12, -100], [99999, 3]]), allowedTokenIds: Int32Array.of(10, 11, 12, 13, 4999) }), mask: null },
];

/** sequences with STEP_SETTINGS: a prefill step (row 1 also wants prompt logprobs), then three decode steps */
export function mixedSteps(): StepBatch[] {
  const rows = STEP_SETTINGS.length;
  const prompts = Array.from({ length: rows }, (_, r) => Array.from({ length: 5 + r }, (_, i) => (r * 911 + i * 383 + 17) % STEP_VOCAB));
  const blocks = Array.from({ length: rows }, (_, r) => [r * 4, r * 4 + 1, r * 4 + 2, r * 4 + 3]);
  const outputs: number[][] = prompts.map(() => []);
  const steps: BatchRowSpec[][] = [prompts.map((p, r) => ({ tokenIds: p, startPosition: 0, blockTable: blocks[r]!, sample: true, promptLogits: r === 1 }))];
  for (let s = 0; s < 3; s++) {
    steps.push(prompts.map((p, r) => ({ tokenIds: [(r * 37 + s * 101) % STEP_VOCAB], startPosition: p.length + s, blockTable: blocks[r]!, sample: true })));
  }
  return steps.map((spec, s) => {
    const b = buildStepBatch(spec, STEP_BLOCK_SIZE);
    if (s > 0) outputs.forEach((o, r) => o.push((r * 37 + (s - 1) * 101) % STEP_VOCAB, (r * 37 + (s - 1) * 101) % STEP_VOCAB));
    b.sampling = STEP_SETTINGS.map((x, r) => ({ ...x.sampling, outputIndex: s, promptTokenIds: prompts[r]!, outputTokenIds: outputs[r]!.slice() }));
    b.grammarBitmask = new Int32Array(rows * STEP_WORDS);
    b.grammarRows = new Uint8Array(rows);
    STEP_SETTINGS.forEach((x, r) => {
      if (!x.mask) return;
      b.grammarRows![r] = 1;
      b.grammarBitmask!.set(x.mask, r * STEP_WORDS);
    });
    if (s === 0) {
      const target = Int32Array.from(prompts[1]!, (_, j) => prompts[1]![j + 1] ?? -1);
      b.promptLogprobs = prompts.map((_, r) => (r === 1 ? { numLogprobs: 2, targetTokenIds: target } : null));
    }
    return b;
  });
}
