// Every backend tells the engine when its logits are ready (StepBatch.logitsReady), after the forward and before it
// waits for the masks: the engine's deadline for late masks starts there (mask-deadline.test.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, StepBatch } from '../../src/runner/batch.js';
import { createTsBackend } from '../../src/runner/ts-backend.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { createCudaSamplingBackend, type GpuSamplingModel } from '../../src/native/cuda-sampling-backend.js';
import { nativeAddonBuilt } from '../../src/native/addon.js';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { FakeKvModel } from './fakes.js';
import { hostSampleRequest } from '../native/cuda-sampling-reference.js';

const VOCAB = 64;

/** a one-row decode-only batch with an empty grammar row whose masks resolve only once the logits are ready */
function batchAwaitingLogits(log: string[], tokens: number[] = [5]): StepBatch {
  const b = buildStepBatch([{ tokenIds: tokens, startPosition: 0, blockTable: [0, 1], sample: true }], 4);
  b.grammarBitmask = new Int32Array(Math.ceil(VOCAB / 32));
  b.grammarRows = new Uint8Array(1);
  let resolve!: () => void;
  b.masksReady = new Promise<void>((r) => (resolve = r));
  b.logitsReady = () => {
    log.push('logits');
    setImmediate(resolve);
  };
  return b;
}

test('ts backend: logitsReady is called once, after the forward, and the masks are awaited after it', async () => {
  const log: string[] = [];
  const model = new FakeKvModel(VOCAB, 8, 4);
  const forward = model.forward.bind(model);
  model.forward = (b) => {
    log.push('forward');
    return forward(b);
  };
  const out = await createTsBackend(model, { numBlocks: 8, blockSize: 4, seed: 0 }).execute(batchAwaitingLogits(log));
  assert.deepEqual(log, ['forward', 'logits']);
  assert.equal(out.sampledTokenIds.length, 1);
});

/** a GpuSamplingModel whose "GPU" finishes the forward when the test says (finish) or, at the latest, as sample()
 * starts waiting for it, as the addon's forwardDone settles before its sample() */
function fakeGpu(log: string[], opts: { fails?: boolean } = {}) {
  let pending: Float32Array | null = null;
  let done: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } | null = null;
  const model: GpuSamplingModel & { finish: () => void; doneAsked: number } = {
    vocabSize: VOCAB,
    doneAsked: 0,
    async forwardBegin() {
      log.push('forwardBegin');
      pending = new Float32Array(VOCAB).map((_, i) => Math.sin(i));
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      done = { promise, resolve, reject };
      return { hostMs: 0 };
    },
    forwardDone() {
      model.doneAsked++;
      return done!.promise;
    },
    finish() {
      log.push('gpu done');
      if (opts.fails) done!.reject(new Error('an illegal memory access was encountered'));
      else done!.resolve();
    },
    async sample(req) {
      log.push('sample');
      if (opts.fails) {
        done!.reject(new Error('an illegal memory access was encountered'));
        throw new Error('CudaModel.sample: an illegal memory access was encountered');
      }
      done!.resolve();
      return hostSampleRequest(req, pending!, VOCAB);
    },
  };
  return model;
}

test('cuda sampling backend: logitsReady once the GPU has finished the forward (forwardDone), not when it was begun', async () => {
  const log: string[] = [];
  const model = fakeGpu(log);
  const backend = createCudaSamplingBackend(model, { numBlocks: 8, blockSize: 4, seed: 0 });
  const b = batchAwaitingLogits(log);
  const executing = backend.execute(b);
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['forwardBegin'], 'the masks wait: the forward is still running');
  model.finish();
  const out = await executing;
  assert.deepEqual(log, ['forwardBegin', 'gpu done', 'logits', 'sample']);
  assert.equal(model.doneAsked, 1);
  assert.equal(out.sampledTokenIds.length, 1);
});

test('cuda sampling backend: masks ready before the forward is done are sampled at once; the signal still comes in the step', async () => {
  const log: string[] = [];
  const model = fakeGpu(log);
  const backend = createCudaSamplingBackend(model, { numBlocks: 8, blockSize: 4, seed: 0 });
  const b = batchAwaitingLogits(log);
  b.masksReady = Promise.resolve();
  await backend.execute(b);
  assert.deepEqual(log, ['forwardBegin', 'sample', 'logits']);
});

test('cuda sampling backend: a step without a mask deadline does not ask when the forward is done', async () => {
  const log: string[] = [];
  const model = fakeGpu(log);
  const backend = createCudaSamplingBackend(model, { numBlocks: 8, blockSize: 4, seed: 0 });
  const b = batchAwaitingLogits(log);
  b.logitsReady = null;
  b.masksReady = null;
  await backend.execute(b);
  assert.deepEqual(log, ['forwardBegin', 'sample']);
  assert.equal(model.doneAsked, 0);
});

test('cuda sampling backend: a forward that fails on the GPU gives no logits signal; the step fails at sample()', async () => {
  const log: string[] = [];
  const model = fakeGpu(log, { fails: true });
  const backend = createCudaSamplingBackend(model, { numBlocks: 8, blockSize: 4, seed: 0 });
  const b = batchAwaitingLogits(log);
  let masksDone!: () => void;
  b.masksReady = new Promise<void>((r) => (masksDone = r));
  const executing = backend.execute(b);
  await new Promise((r) => setImmediate(r));
  model.finish(); // forwardDone rejects: handled, no unhandled rejection
  await new Promise((r) => setImmediate(r));
  masksDone();
  await assert.rejects(executing, /illegal memory access/);
  assert.deepEqual(log, ['forwardBegin', 'gpu done', 'sample']);
});

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'serval-logits-ready-'));
  makeTestModel({ arch: 'llama', out: join(dir, 'm'), vocabSize: VOCAB, hidden: 16, heads: 2, kvHeads: 1, layers: 1, seed: 3 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('native cpu backend: logitsReady once the forward is done, then the masks are awaited', { skip: nativeAddonBuilt() ? false : 'native addon not built' }, async () => {
  const { createCpuBackend } = await import('../../src/native/cpu-backend.js');
  const backend: Backend = createCpuBackend(join(dir, 'm'), { numBlocks: 8, blockSize: 4, seed: 0, numThreads: 1 });
  try {
    const log: string[] = [];
    const out = await backend.execute(batchAwaitingLogits(log));
    assert.deepEqual(log, ['logits']);
    assert.equal(out.sampledTokenIds.length, 1);
  } finally {
    await backend.close();
  }
});
