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

test('cuda sampling backend: logitsReady after the forward was begun; later, once the last forward time of that kind has passed', async () => {
  const log: string[] = [];
  let forwardGpuMs = 0;
  let pending: Float32Array | null = null;
  const model: GpuSamplingModel = {
    vocabSize: VOCAB,
    async forwardBegin() {
      log.push('forwardBegin');
      pending = new Float32Array(VOCAB).map((_, i) => Math.sin(i));
      return { hostMs: 0 };
    },
    async sample(req) {
      log.push('sample');
      const r = hostSampleRequest(req, pending!, VOCAB);
      return { ...r, timing: { ...r.timing, forwardGpuMs } };
    },
  };
  const backend = createCudaSamplingBackend(model, { numBlocks: 8, blockSize: 4, seed: 0 });
  // no forward time known yet: the logits count as ready once the forward is enqueued
  forwardGpuMs = 600_000;
  await backend.execute(batchAwaitingLogits(log));
  assert.deepEqual(log, ['forwardBegin', 'logits', 'sample']);
  // the last decode step's forward took 10 minutes: this one's logits are not due before its masks are done
  log.length = 0;
  const b = batchAwaitingLogits(log);
  let masksDone!: () => void;
  b.masksReady = new Promise<void>((r) => (masksDone = r));
  setImmediate(masksDone);
  await backend.execute(b);
  assert.deepEqual(log, ['forwardBegin', 'sample'], 'the estimate timer was cleared once the masks were ready');
  // a mixed step has its own estimate (none yet): due at once
  log.length = 0;
  await backend.execute(batchAwaitingLogits(log, [5, 6, 7]));
  assert.deepEqual(log, ['forwardBegin', 'logits', 'sample']);
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
