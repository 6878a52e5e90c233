// GPU greedy sampling for simple rows (issue 6): the row split and the reassembly are checked everywhere with a
// host stand-in for the kernel; on a GPU machine the kernel's tokens are checked against the host sampler on the same
// logits (plain, bitmask and all-masked rows), and a mixed batch through the cuda backend against the ts composition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cudaInfo, loadNativeAddon } from '../../src/native/addon.js';
import { NativeCudaForwardModel } from '../../src/native/cuda-backend.js';
import {
  createCudaSamplingBackend,
  isGpuGreedyRow,
  planGreedyStep,
  type GreedyForwardModel,
} from '../../src/native/cuda-greedy-sampling.js';
import { logitLayout, toNativeBatch } from '../../src/native/native-forward.js';
import { nativeModelSpec, nativeTensorRefs } from '../../src/native/native-spec.js';
import { loadModelConfig } from '../../src/loader/model-config.js';
import { Checkpoint } from '../../src/loader/safetensors.js';
import type { RowSampling, StepBatch } from '../../src/runner/batch.js';
import { defaultRowSampling, Sampler } from '../../src/runner/sampler.js';
import { createTsBackend, type LogitsModel } from '../../src/runner/ts-backend.js';
import { buildStepBatch, type BatchRowSpec } from '../../src/runner/ts/step-batch-builder.js';
import { makeNativeTestModel } from './native-test-helpers.js';

const hasGpu = cudaInfo().deviceCount > 0;
const VOCAB = 5000; // not a multiple of 32: the last bitmask word is partial
const WORDS = Math.ceil(VOCAB / 32);
const BS = 4;
const ROWS = 6;

const row = (over: Partial<RowSampling>): RowSampling => ({ ...defaultRowSampling(), ...over });

/** bitmask allowing exactly `ids` */
function maskOf(ids: number[]): Int32Array {
  const m = new Int32Array(WORDS);
  for (const t of ids) m[t >> 5]! |= 1 << (t & 31);
  return m;
}

// one setting per row: GPU greedy, GPU greedy + mask, host temperature 1 (seeded), host greedy + logprobs, GPU greedy
// with a mask that allows nothing (→ -1), host greedy with a banned token + mask
const SETTINGS: Array<{ sampling: RowSampling; mask: Int32Array | null; gpu: boolean }> = [
  { sampling: row({}), mask: null, gpu: true },
  { sampling: row({}), mask: maskOf([3, 77, 1000, 2048, 4097, 4999]), gpu: true },
  { sampling: row({ temperature: 1, seed: 42, topK: 50 }), mask: null, gpu: false },
  { sampling: row({ logprobs: 2 }), mask: null, gpu: false },
  { sampling: row({}), mask: maskOf([]), gpu: true },
  { sampling: row({ bannedTokenIds: Int32Array.of(5, 6) }), mask: maskOf([5, 6, 7, 4998]), gpu: false },
];

/** six sequences: a prefill step (row 1 also wants prompt logprobs), then three decode steps; sampling from SETTINGS */
function mixedSteps(): StepBatch[] {
  const prompts = Array.from({ length: ROWS }, (_, r) => Array.from({ length: 5 + r }, (_, i) => (r * 911 + i * 383 + 17) % VOCAB));
  const blocks = Array.from({ length: ROWS }, (_, r) => [r * 4, r * 4 + 1, r * 4 + 2, r * 4 + 3]);
  const steps: BatchRowSpec[][] = [prompts.map((p, r) => ({ tokenIds: p, startPosition: 0, blockTable: blocks[r]!, sample: true, promptLogits: r === 1 }))];
  for (let s = 0; s < 3; s++) {
    steps.push(prompts.map((p, r) => ({ tokenIds: [(r * 37 + s * 101) % VOCAB], startPosition: p.length + s, blockTable: blocks[r]!, sample: true })));
  }
  return steps.map((spec, s) => {
    const b = buildStepBatch(spec, BS);
    b.sampling = SETTINGS.map((x, r) => ({ ...x.sampling, outputIndex: s, promptTokenIds: prompts[r]!, outputTokenIds: [] }));
    b.grammarBitmask = new Int32Array(ROWS * WORDS);
    b.grammarRows = new Uint8Array(ROWS);
    SETTINGS.forEach((x, r) => {
      if (!x.mask) return;
      b.grammarRows![r] = 1;
      b.grammarBitmask!.set(x.mask, r * WORDS);
    });
    if (s === 0) {
      const target = Int32Array.from(prompts[1]!, (_, j) => prompts[1]![j + 1] ?? -1);
      b.promptLogprobs = prompts.map((_, r) => (r === 1 ? { numLogprobs: 2, targetTokenIds: target } : null));
    }
    return b;
  });
}

test('a row is GPU-simple only when greedy with no logprobs and nothing but a grammar mask changing its logits', () => {
  assert.equal(isGpuGreedyRow(row({})), true);
  assert.equal(isGpuGreedyRow(row({ temperature: 0.7 })), false);
  assert.equal(isGpuGreedyRow(row({ logprobs: 0 })), false);
  assert.equal(isGpuGreedyRow(row({ repetitionPenalty: 1.1 })), false);
  assert.equal(isGpuGreedyRow(row({ presencePenalty: 0.5 })), false);
  assert.equal(isGpuGreedyRow(row({ frequencyPenalty: 0.5 })), false);
  assert.equal(isGpuGreedyRow(row({ logitBias: new Map([[1, 2]]) })), false);
  assert.equal(isGpuGreedyRow(row({ allowedTokenIds: Int32Array.of(1) })), false);
  assert.equal(isGpuGreedyRow(row({ bannedTokenIds: Int32Array.of(1) })), false);
  assert.equal(isGpuGreedyRow(row({ seed: 3, topK: 5, topP: 0.5 })), true); // filters are no-ops for greedy
});

test('the plan uploads only the GPU rows\' bitmasks and copies back only host rows and prompt logits', () => {
  const b = mixedSteps()[0]!;
  const layout = logitLayout(b);
  const plan = planGreedyStep(b, layout, VOCAB);
  assert.deepEqual([...plan.request.rowMask.subarray(0, ROWS)], [-1, 0, -2, -2, 1, -2]);
  assert.equal(plan.request.rowMask.length, layout.tokenIndices.length);
  assert.deepEqual([...plan.request.masks.subarray(0, WORDS)], [...SETTINGS[1]!.mask!]);
  assert.deepEqual([...plan.request.masks.subarray(WORDS)], [...SETTINGS[4]!.mask!]);
  // host rows 2, 3, 5, then row 1's 6 prompt-logit rows (logit rows 6..11)
  assert.deepEqual([...plan.request.copyRows], [2, 3, 5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(plan.hostSampleIdx, [2, 3, 5]);
  assert.deepEqual([...plan.hostBatch.sampleRows], [2, 3, 5]);
  assert.deepEqual([...plan.hostBatch.grammarRows!], [0, 0, 1]);
  assert.deepEqual([...plan.hostBatch.grammarBitmask!.subarray(2 * WORDS)], [...SETTINGS[5]!.mask!]);
  assert.equal(plan.hostBatch.sampling[0], b.sampling[2]);
});

/** deterministic pseudo-logits per (step, logit row) with planted near-ties */
function fakeLogits(batch: StepBatch, step: number): { sample: Float32Array; prompt: Array<Float32Array | null> } {
  const layout = logitLayout(batch);
  const all = new Float32Array(layout.tokenIndices.length * VOCAB);
  for (let i = 0; i < all.length; i++) all[i] = Math.sin(i * 12.9898 + step * 78.233) * 4;
  const nSample = batch.sampleRows.length;
  const prompt = Array.from({ length: batch.numRows }, (_, r) => {
    const s = layout.promptStart[r]!;
    if (s < 0) return null;
    const n = batch.queryStartLoc[r + 1]! - batch.queryStartLoc[r]!;
    return all.subarray(s * VOCAB, (s + n) * VOCAB);
  });
  return { sample: all.subarray(0, nSample * VOCAB), prompt };
}

test('the cuda sampling backend reassembles GPU and host rows exactly like the ts composition (host stand-in kernel)', async () => {
  const steps = mixedSteps();
  let step = 0;
  const logitsModel: LogitsModel = {
    vocabSize: VOCAB,
    forward: (b) => {
      const f = fakeLogits(b, step);
      return { sampleLogits: f.sample, promptLogits: f.prompt };
    },
  };
  // the kernel's stand-in: the host sampler on one greedy row (which the GPU test proves it equals)
  const greedyModel: GreedyForwardModel = {
    vocabSize: VOCAB,
    forwardGreedy: (b) => {
      const f = fakeLogits(b, step);
      const plan = planGreedyStep(b, logitLayout(b), VOCAB);
      const gpuTokens = new Int32Array(b.sampleRows.length).fill(-2);
      const one = new Sampler(0);
      for (let i = 0; i < b.sampleRows.length; i++) {
        const m = plan.request.rowMask[i]!;
        if (m === -2) continue;
        const sub = { ...b, sampleRows: Int32Array.of(b.sampleRows[i]!), sampling: [b.sampling[i]!], grammarRows: Uint8Array.of(m >= 0 ? 1 : 0),
          grammarBitmask: m >= 0 ? plan.request.masks.slice(m * WORDS, (m + 1) * WORDS) : null };
        gpuTokens[i] = one.sample(f.sample.subarray(i * VOCAB, (i + 1) * VOCAB), VOCAB, sub).sampledTokenIds[0]!;
      }
      const host = new Float32Array(plan.hostSampleIdx.length * VOCAB);
      plan.hostSampleIdx.forEach((i, k) => host.set(f.sample.subarray(i * VOCAB, (i + 1) * VOCAB), k * VOCAB));
      return { plan, gpuTokens, hostSampleLogits: host, promptLogits: f.prompt };
    },
  };
  const opts = { numBlocks: 32, blockSize: BS, seed: 5 };
  const ref = createTsBackend(logitsModel, opts);
  const got = createCudaSamplingBackend(greedyModel, { ...opts, kind: 'cuda' });
  for (; step < steps.length; step++) {
    const want = await ref.execute(steps[step]!);
    const have = await got.execute(steps[step]!);
    assert.deepEqual(have, want, `step ${step}`);
    assert.equal(have.sampledTokenIds[4], -1); // the all-masked row fails alone
    assert.ok(have.logprobs[3] !== null && have.logprobs[0] === null);
  }
});

test('GPU greedy tokens equal the host sampler on the same logits (plain, bitmask, all-masked rows)', { skip: hasGpu ? false : 'no CUDA device' }, () => {
  const dir = makeNativeTestModel('qwen2', VOCAB);
  const config = loadModelConfig(dir);
  const checkpoint = Checkpoint.open(dir);
  const tensors = nativeTensorRefs(config, checkpoint);
  checkpoint.close();
  const addon = loadNativeAddon();
  const model = new addon.CudaModel!(nativeModelSpec(config), tensors, { numBlocks: 32, blockSize: BS, maxNumTokens: 64 });
  try {
    let compared = 0;
    for (const b of mixedSteps()) {
      // every sample row greedy on the GPU (its own mask or none), and every logit row copied back as well
      const layout = logitLayout(b);
      const n = b.sampleRows.length;
      const rowMask = new Int32Array(layout.tokenIndices.length).fill(-2);
      const masks: number[] = [];
      for (let i = 0; i < n; i++) {
        if (b.grammarRows![i]) {
          rowMask[i] = masks.length / WORDS;
          masks.push(...b.grammarBitmask!.subarray(i * WORDS, (i + 1) * WORDS));
        } else rowMask[i] = -1;
      }
      const copyRows = Int32Array.from({ length: layout.tokenIndices.length }, (_, i) => i);
      const out = model.forwardGreedy(toNativeBatch(b, layout.tokenIndices), { rowMask, masks: Int32Array.from(masks), copyRows });
      const greedy = { ...b, sampling: b.sampling.map(() => row({})) };
      const want = new Sampler(0).sample(out.logits.subarray(0, n * VOCAB), VOCAB, greedy).sampledTokenIds;
      assert.deepEqual([...out.tokens.subarray(0, n)], [...want]);
      assert.ok([...out.tokens.subarray(n)].every((t) => t === -2), 'prompt-logit rows are not sampled');
      assert.equal(out.tokens[4], -1);
      assert.ok(SETTINGS[1]!.mask && [3, 77, 1000, 2048, 4097, 4999].includes(out.tokens[1]!));
      compared += n;
    }
    assert.ok(compared >= 24);
  } finally {
    model.close();
  }
});

test('a mixed batch through the cuda backend equals the ts composition over the same GPU model', { skip: hasGpu ? false : 'no CUDA device' }, async () => {
  const dir = makeNativeTestModel('qwen2', VOCAB);
  const gpu = NativeCudaForwardModel.load(dir, { numBlocks: 32, blockSize: BS, maxNumTokens: 64 }); // decode steps replay CUDA graphs
  try {
    const opts = { numBlocks: 32, blockSize: BS, seed: 5, kind: 'cuda' as const };
    const ref = createTsBackend(gpu, opts);
    const got = createCudaSamplingBackend(gpu, opts);
    for (const [s, b] of mixedSteps().entries()) {
      const want = await ref.execute(b); // the same batch twice: the KV writes repeat the same values
      const have = await got.execute(b);
      assert.deepEqual(have, want, `step ${s}`);
      assert.equal(have.sampledTokenIds[4], -1);
    }
  } finally {
    gpu.close();
  }
});
