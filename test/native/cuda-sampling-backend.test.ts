// The cuda backend's step on a real GPU model (GPU machine): forward begun from the worker thread, every row sampled
// on the GPU, equal to the ts composition (host sampler) over the same GPU logits — tokens, logprobs, prompt
// logprobs — with CUDA graphs on, and the event loop free while the step runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cudaInfo, loadNativeAddon } from '../../src/native/addon.js';
import { NativeCudaForwardModel } from '../../src/native/cuda-backend.js';
import { createCudaSamplingBackend } from '../../src/native/cuda-sampling-backend.js';
import { nativeModelSpec } from '../../src/native/native-spec.js';
import { loadModelConfig } from '../../src/loader/model-config.js';
import type { StepResult } from '../../src/runner/batch.js';
import { createTsBackend } from '../../src/runner/ts-backend.js';
import { makeNativeTestModel } from './native-test-helpers.js';
import { mixedSteps, STEP_BLOCK_SIZE, STEP_VOCAB } from './cuda-sampling-reference.js';

const hasGpu = cudaInfo().deviceCount > 0;
const gpuOnly = { skip: hasGpu ? false : 'no CUDA device (the cuda backend runs on the GPU machine)' };

function assertClose(have: StepResult, want: StepResult, label: string): void {
  assert.deepEqual([...have.sampledTokenIds], [...want.sampledTokenIds], `${label}: tokens`);
  have.logprobs.forEach((h, i) => {
    const w = want.logprobs[i];
    if (!w || !h) return assert.equal(h, w, `${label}: row ${i} logprobs presence`);
    assert.ok(Math.abs(h.logprob - w.logprob) < 1e-5, `${label}: row ${i} logprob ${h.logprob} vs ${w.logprob}`);
    assert.equal(h.rank, w.rank);
    assert.deepEqual(h.top.map((e) => e.tokenId), w.top.map((e) => e.tokenId), `${label}: row ${i} top ids`);
    h.top.forEach((e, j) => assert.ok(Math.abs(e.logprob - w.top[j]!.logprob) < 1e-5));
  });
  assert.deepEqual(have.promptLogprobs, want.promptLogprobs, `${label}: prompt logprobs (host, from the copied rows)`);
}

test('GPU-sampled steps equal the ts composition over the same GPU model; the event loop runs meanwhile', gpuOnly, async () => {
  const dir = makeNativeTestModel('qwen2', STEP_VOCAB);
  const gpu = NativeCudaForwardModel.load(dir, { numBlocks: 64, blockSize: STEP_BLOCK_SIZE, maxNumTokens: 128 });
  try {
    const opts = { numBlocks: 64, blockSize: STEP_BLOCK_SIZE, seed: 5, kind: 'cuda' as const };
    const ref = createTsBackend(gpu, opts);
    const got = createCudaSamplingBackend(gpu, opts);
    for (const [s, b] of mixedSteps().entries()) {
      const want = await ref.execute(b); // the same batch twice: the KV writes repeat the same values
      let ticked = false;
      setImmediate(() => (ticked = true));
      const have = await got.execute(b);
      assert.ok(ticked, `step ${s}: the event loop turned while the step ran`);
      assertClose(have, want, `step ${s}`);
      assert.equal(have.sampledTokenIds[4], -1);
    }
  } finally {
    gpu.close();
  }
});

test('native sample() without a begun forward, and a second forward while one is begun, are clear errors', gpuOnly, async () => {
  const dir = makeNativeTestModel('qwen2', STEP_VOCAB);
  const config = loadModelConfig(dir);
  const model = new (loadNativeAddon().CudaModel!)(nativeModelSpec(config), [], { numBlocks: 8, blockSize: 4, dummyWeights: true });
  try {
    const none = new Int32Array(0);
    const empty = { numRows: 0, rowInts: none, rowFloats: new Float64Array(0), grammarMasks: none, listMasks: none, biasIds: none, biasValues: new Float64Array(0), penaltyIds: none, copyRows: none };
    assert.throws(() => model.sample(empty), /no forward to sample/);
    const batch = { numTokens: 1, tokenIds: Int32Array.of(1), positions: Int32Array.of(0), slotMapping: Int32Array.of(0), numRows: 1, queryStartLoc: Int32Array.of(0, 1), contextLens: Int32Array.of(1), blockTables: Int32Array.of(0), maxBlocksPerRow: 1, logitTokenIndices: Int32Array.of(0) };
    await model.forwardBegin(batch);
    assert.throws(() => model.forward(batch), /another forward/);
    await assert.rejects(model.sample({ ...empty, numRows: 2, rowInts: new Int32Array(26), rowFloats: new Float64Array(12) }), /numRows 2 exceeds the forward's 1 logit rows/);
    await model.forwardBegin(batch); // the failed sample released the model
    const out = await model.sample(empty);
    assert.equal(out.tokens.length, 0);
    assert.ok(out.timing.forwardGpuMs > 0);
  } finally {
    model.close();
  }
});
