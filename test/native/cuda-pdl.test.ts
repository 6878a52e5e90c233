// Programmatic dependent launch in the decode layers (native/cuda/pdl.h): on by default on sm_90+ GPUs, off with
// SERVAL_PDL=0. It only reorders when kernels start, never what they compute, so every logit must be bit-identical
// with it on and off, in CUDA-graph replays and eagerly; a missing wait (a kernel reading its predecessor's output
// too early) shows up as a difference. Bad SERVAL_PDL values are refused. Skipped without a GPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cudaInfo } from '../../src/native/addon.js';
import { NativeCudaForwardModel } from '../../src/native/cuda-backend.js';
import { TEST_ARCHS } from '../../src/models/test-model-config.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { makeNativeTestModel, NATIVE_TEST_BLOCK_SIZE, NATIVE_TEST_NUM_BLOCKS, scriptedSteps } from './native-test-helpers.js';

const hasGpu = cudaInfo().deviceCount > 0;

function withPdlEnv<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env['SERVAL_PDL'];
  if (value === undefined) delete process.env['SERVAL_PDL'];
  else process.env['SERVAL_PDL'] = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env['SERVAL_PDL'];
    else process.env['SERVAL_PDL'] = saved;
  }
}

test('SERVAL_PDL rejects unknown values with the accepted ones', { skip: hasGpu ? false : 'no CUDA device' }, () => {
  const dir = makeNativeTestModel('qwen2');
  assert.throws(
    () => withPdlEnv('fast', () => NativeCudaForwardModel.load(dir, { numBlocks: 4, blockSize: NATIVE_TEST_BLOCK_SIZE })),
    /SERVAL_PDL=fast is not one of: 1, on, 0, off/,
  );
});

for (const arch of TEST_ARCHS) {
  test(`cuda decode layers give identical logits with and without PDL: ${arch}`, { skip: hasGpu ? false : 'no CUDA device' }, () => {
    const dir = makeNativeTestModel(arch);
    const opts = { numBlocks: NATIVE_TEST_NUM_BLOCKS, blockSize: NATIVE_TEST_BLOCK_SIZE, maxNumTokens: 64 };
    const models = {
      pdlGraphs: withPdlEnv(undefined, () => NativeCudaForwardModel.load(dir, opts)),
      pdlEager: withPdlEnv('on', () => NativeCudaForwardModel.load(dir, { ...opts, enforceEager: true })),
      plainGraphs: withPdlEnv('0', () => NativeCudaForwardModel.load(dir, opts)),
      plainEager: withPdlEnv('off', () => NativeCudaForwardModel.load(dir, { ...opts, enforceEager: true })),
    };
    try {
      // scripted steps (prefill chunks of <= 8 tokens run the decode layers too), then 40 single-row decode steps
      const batches = [...scriptedSteps(models.pdlGraphs.vocabSize)];
      const blockTable = Array.from({ length: 12 }, (_, i) => (i * 5) % NATIVE_TEST_NUM_BLOCKS);
      for (let pos = 0; pos < 40; pos++) {
        batches.push(buildStepBatch([{ tokenIds: [(pos * 31) % 4096], startPosition: pos, blockTable, sample: true }], NATIVE_TEST_BLOCK_SIZE));
      }
      let compared = 0;
      batches.forEach((batch, i) => {
        const want = models.plainEager.forward(batch);
        const logits = [want.sampleLogits, ...want.promptLogits.filter((p) => p !== null && p !== undefined)];
        assert.ok(logits.every((l) => l.every(Number.isFinite)), `step ${i}: finite logits`);
        compared += logits.reduce((n, l) => n + l.length, 0);
        for (const name of ['pdlGraphs', 'pdlEager', 'plainGraphs'] as const) {
          const got = models[name].forward(batch);
          assert.deepEqual(got.sampleLogits, want.sampleLogits, `step ${i}: ${name} vs plainEager (sampled rows)`);
          assert.deepEqual(got.promptLogits, want.promptLogits, `step ${i}: ${name} vs plainEager (prompt logits)`);
        }
      });
      assert.ok(compared >= 50 * models.pdlGraphs.vocabSize, `compared ${compared} logits`);
    } finally {
      for (const m of Object.values(models)) m.close();
    }
  });
}
