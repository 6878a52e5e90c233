// CudaModel.forwardDone (GPU machine): the begun step's forward-done event, waited for on a worker thread. It resolves
// once the GPU has finished the forward (never sooner: no earlier than the forward's own GPU time after forwardBegin
// was called), before that step's sample() resolves, while the event loop keeps turning; the cuda backend signals the
// engine's logitsReady with it. Misuse is a clear error; a failed sample() rejects it; close() right after a step
// does not wait for it. Skipped without a GPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cudaInfo, type NativeSampleRequest } from '../../src/native/addon.js';
import { NativeCudaForwardModel } from '../../src/native/cuda-backend.js';
import { createCudaSamplingBackend } from '../../src/native/cuda-sampling-backend.js';
import { StepProfile } from '../../src/native/cuda-step-profile.js';
import { toNativeBatch, logitLayout } from '../../src/native/native-forward.js';
import { loadModelConfig } from '../../src/loader/model-config.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import type { StepBatch } from '../../src/runner/batch.js';
import { makeNativeTestModel } from './native-test-helpers.js';

const hasGpu = cudaInfo().deviceCount > 0;
const gpuOnly = { skip: hasGpu ? false : 'no CUDA device (forwardDone waits for a GPU event)' };

const BLOCK = 16;
const PROMPT = 2048;

/** ~1B parameters of dummy weights: a 2048-token prefill keeps an H100 busy for milliseconds, so the forward's end is
 *  well apart from its enqueue and from a worker thread's hop */
function bigModel(): NativeCudaForwardModel {
  const config = {
    ...loadModelConfig(makeNativeTestModel('llama', 256)),
    hiddenSize: 2048,
    intermediateSize: 8192,
    numLayers: 16,
    numHeads: 16,
    numKvHeads: 8,
    headDim: 128,
    vocabSize: 32000,
  };
  return NativeCudaForwardModel.fromConfig(config, null, { numBlocks: PROMPT / BLOCK, blockSize: BLOCK, loadFormat: 'dummy', maxNumTokens: PROMPT });
}

/** one row: `tokens` prompt tokens from position 0, the last one sampled */
function prefill(tokens: number): StepBatch {
  const ids = Array.from({ length: tokens }, (_, i) => (i * 7919) % 32000);
  return buildStepBatch([{ tokenIds: ids, startPosition: 0, blockTable: Array.from({ length: PROMPT / BLOCK }, (_, b) => b), sample: true }], BLOCK);
}

const none = new Int32Array(0);
const emptyRequest: NativeSampleRequest = { numRows: 0, rowInts: none, rowFloats: new Float64Array(0), grammarMasks: none, listMasks: none, biasIds: none, biasValues: new Float64Array(0), penaltyIds: none, copyRows: none };

/** counts event-loop turns until stop() */
function tickCounter(): { stop: () => number } {
  let ticks = 0;
  let on = true;
  const turn = () => {
    if (!on) return;
    ticks++;
    setImmediate(turn);
  };
  setImmediate(turn);
  return {
    stop: () => {
      on = false;
      return ticks;
    },
  };
}

test('forwardDone resolves once the GPU has finished the forward, before sample(), with the event loop turning', gpuOnly, async () => {
  const model = bigModel();
  try {
    const batch = prefill(PROMPT);
    const native = toNativeBatch(batch, logitLayout(batch).tokenIndices);
    await model.forwardBegin(native); // warm-up (first-use plans, sampler buffers)
    await model.sample(emptyRequest);
    for (let i = 0; i < 3; i++) {
      const tCall = performance.now();
      await model.forwardBegin(native);
      const ticks = tickCounter();
      await model.forwardDone();
      const tDone = performance.now();
      const turns = ticks.stop();
      const out = await model.sample(emptyRequest);
      const gpuMs = out.timing.forwardGpuMs;
      assert.ok(gpuMs > 1, `run ${i}: the forward is long enough to tell its end apart (${gpuMs} ms GPU)`);
      // the GPU began the forward after forwardBegin was called: its end cannot come sooner than its GPU time later
      assert.ok(tDone - tCall >= gpuMs - 0.01, `run ${i}: forwardDone at ${(tDone - tCall).toFixed(3)} ms, forward took ${gpuMs.toFixed(3)} ms on the GPU`);
      assert.ok(turns > 0, `run ${i}: the event loop turned while forwardDone waited`);
    }
    // sample() asked for at once (masks ready early): forwardDone still settles first
    const order: string[] = [];
    await model.forwardBegin(native);
    const done = model.forwardDone().then(() => order.push('done'));
    await model.sample(emptyRequest).then(() => order.push('sample'));
    await done;
    assert.deepEqual(order, ['done', 'sample']);
  } finally {
    model.close();
  }
});

test('the cuda backend signals logitsReady when the GPU has finished the forward, then samples', gpuOnly, async () => {
  const model = bigModel();
  const profile = new StepProfile();
  const backend = createCudaSamplingBackend(model, { numBlocks: PROMPT / BLOCK, blockSize: BLOCK, seed: 0, profile });
  try {
    await backend.execute(prefill(PROMPT)); // warm-up
    const batch = prefill(PROMPT);
    let tLogits = -1;
    let masksDone!: () => void;
    batch.masksReady = new Promise<void>((r) => (masksDone = r));
    batch.logitsReady = () => {
      tLogits = performance.now();
      setImmediate(masksDone);
    };
    const ticks = tickCounter();
    const t0 = performance.now();
    const out = await backend.execute(batch);
    const turns = ticks.stop();
    const step = profile.steps.at(-1)!;
    assert.ok(tLogits > 0, 'logitsReady was called');
    assert.ok(tLogits - t0 >= step.forwardGpuMs - 0.01, `logitsReady at ${(tLogits - t0).toFixed(3)} ms, forward took ${step.forwardGpuMs.toFixed(3)} ms on the GPU`);
    assert.ok(turns > 0, 'the event loop turned during the step');
    assert.equal(out.sampledTokenIds.length, 1);
  } finally {
    model.close();
  }
});

test('forwardDone: one promise per step; clear errors without a begun step and once closed; a failed sample() rejects it', gpuOnly, async () => {
  const model = bigModel();
  let closed = false;
  try {
    const small = prefill(4);
    const smallNative = toNativeBatch(small, logitLayout(small).tokenIndices);
    assert.throws(() => model.forwardDone(), /CudaModel.forwardDone: no begun forward/);
    const begun = model.forwardBegin(smallNative);
    assert.throws(() => model.forwardDone(), /no begun forward/, 'not before forwardBegin resolves');
    await begun;
    const p = model.forwardDone();
    assert.equal(model.forwardDone(), p, 'every call of one step gets the same promise');
    await model.sample(emptyRequest);
    await p;
    assert.throws(() => model.forwardDone(), /no begun forward/, 'the step ended with its sample()');

    // a sample() that fails at once (bad request) while the long forward runs ends the step: forwardDone rejects
    const big = prefill(PROMPT);
    await model.forwardBegin(toNativeBatch(big, logitLayout(big).tokenIndices));
    const failed = model.forwardDone().then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    await assert.rejects(model.sample({ ...emptyRequest, numRows: 2, rowInts: new Int32Array(26), rowFloats: new Float64Array(12) }), /numRows 2 exceeds/);
    assert.match(await failed, /CudaModel.forwardDone: the step's sample\(\) failed/);

    // close() right after a step: its waiter may not have run yet; it must neither block nor touch the closed model
    await model.forwardBegin(smallNative); // the failed sample released the model
    const last = model.forwardDone();
    await model.sample(emptyRequest);
    model.close();
    closed = true;
    await last;
    await new Promise((r) => setImmediate(r)); // the waiter's own completion runs against the closed model
    assert.throws(() => model.forwardDone(), /CudaModel is closed/);
  } finally {
    if (!closed) model.close();
  }
});
