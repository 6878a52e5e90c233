// The native C++ CPU backend computes the same logits as the ts reference model (within fp32 rounding) on test
// models of all four architectures, over chunked prefill, prefix-cached context, mixed decode steps and prompt logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_ARCHS } from '../../src/models/test-model-config.js';
import { loadTsModel } from '../../src/runner/ts/ts-model.js';
import { createTsBackend } from '../../src/runner/ts-backend.js';
import { createCpuBackend, NativeCpuForwardModel } from '../../src/native/cpu-backend.js';
import { greedyGenerate } from '../../src/runner/ts/greedy-generate.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import {
  makeNativeTestModel,
  maxAbs,
  maxAbsDiff,
  NATIVE_TEST_BLOCK_SIZE,
  NATIVE_TEST_NUM_BLOCKS,
  scriptedSteps,
} from './native-test-helpers.js';

const opts = { numBlocks: NATIVE_TEST_NUM_BLOCKS, blockSize: NATIVE_TEST_BLOCK_SIZE };

for (const arch of TEST_ARCHS) {
  test(`native cpu forward equals the ts model: ${arch}`, async () => {
    const dir = makeNativeTestModel(arch);
    const ref = await loadTsModel(dir, opts);
    const cpu = NativeCpuForwardModel.load(dir, { ...opts, numThreads: 2 });
    let compared = 0;
    for (const batch of scriptedSteps(ref.vocabSize)) {
      const want = ref.forward(batch);
      const got = cpu.forward(batch);
      assert.equal(got.sampleLogits.length, want.sampleLogits.length);
      const tol = 2e-5 * Math.max(1, maxAbs(want.sampleLogits));
      assert.ok(maxAbsDiff(got.sampleLogits, want.sampleLogits) <= tol, `sample logits differ by ${maxAbsDiff(got.sampleLogits, want.sampleLogits)}`);
      assert.equal(got.promptLogits.length, want.promptLogits.length);
      want.promptLogits.forEach((w, r) => {
        const g = got.promptLogits[r];
        if (w === null) return assert.equal(g, null);
        assert.ok(g, `row ${r} prompt logits missing`);
        assert.ok(maxAbsDiff(g, w) <= 2e-5 * Math.max(1, maxAbs(w)), `row ${r} prompt logits differ`);
        compared += w.length;
      });
      compared += want.sampleLogits.length;
    }
    assert.ok(compared > 10 * ref.vocabSize, 'the script compares logits of many tokens');
  });
}

test('native cpu greedy run equals the ts greedy run (qwen3, 12 tokens)', async () => {
  const dir = makeNativeTestModel('qwen3');
  const ref = await loadTsModel(dir, opts);
  const cpu = NativeCpuForwardModel.load(dir, opts);
  const prompt = [11, 22, 33, 44, 55];
  const want = greedyGenerate(ref, prompt, 12);
  const got = greedyGenerate({ ...ref, forward: (b) => cpu.forward(b) }, prompt, 12);
  assert.deepEqual(got.tokenIds, want.tokenIds);
});

test('native cpu backend samples like the ts backend (Backend contract)', async () => {
  const dir = makeNativeTestModel('llama');
  const ref = createTsBackend(await loadTsModel(dir, opts), { ...opts, seed: 1 });
  const cpu = createCpuBackend(dir, { ...opts, seed: 1, numThreads: 2 });
  assert.equal(cpu.info.kind, 'cpu');
  assert.equal(cpu.info.vocabSize, ref.info.vocabSize);
  for (const batch of scriptedSteps(ref.info.vocabSize)) {
    const [a, b] = await Promise.all([ref.execute(batch), cpu.execute(batch)]);
    assert.deepEqual(Array.from(b.sampledTokenIds), Array.from(a.sampledTokenIds));
  }
  await cpu.close();
  await ref.close();
});

test('native cpu forward rejects a malformed batch with a named field', async () => {
  const dir = makeNativeTestModel('qwen2');
  const cpu = NativeCpuForwardModel.load(dir, opts);
  const [batch] = scriptedSteps(4096);
  const bad = { ...batch!, slotMapping: new Int32Array(batch!.numTokens).fill(NATIVE_TEST_NUM_BLOCKS * NATIVE_TEST_BLOCK_SIZE) };
  assert.throws(() => cpu.forward(bad), /slotMapping/);
});

test('native cpu forwardAsync (worker thread) equals forward; one forward at a time', async () => {
  const dir = makeNativeTestModel('mistral');
  const a = NativeCpuForwardModel.load(dir, { ...opts, numThreads: 2 });
  const b = NativeCpuForwardModel.load(dir, { ...opts, numThreads: 2 });
  for (const batch of scriptedSteps(a.vocabSize)) {
    const pending = a.forwardAsync(batch);
    // while the worker runs, a second forward of the same model is refused instead of racing on its KV cache
    assert.throws(() => a.forward(batch), /another forward of this model is still running/);
    const got = await pending;
    const want = b.forward(batch);
    assert.deepEqual(got.sampleLogits, want.sampleLogits);
    assert.deepEqual(got.promptLogits, want.promptLogits);
  }
});

test('native cpu logits of a row do not depend on the rows batched with it (bitwise)', async () => {
  const dir = makeNativeTestModel('qwen2');
  const together = NativeCpuForwardModel.load(dir, { ...opts, numThreads: 2 });
  const alone = NativeCpuForwardModel.load(dir, { ...opts, numThreads: 1 });
  // three sequences with their own blocks: prefill chunks of different lengths, then decode steps, all in one batch
  const seqs = [
    { tokens: [5, 6, 7, 8, 9, 10, 11], blocks: [0, 1, 2, 3] },
    { tokens: [40, 41, 42], blocks: [4, 5, 6, 7] },
    { tokens: [90, 91, 92, 93, 94, 95, 96, 97, 98], blocks: [8, 9, 10, 11] },
  ];
  const chunks = [[4, 2, 5], [3, 1, 4], [1, 1, 1], [1, 1, 1]];
  const pos = [0, 0, 0];
  for (const sizes of chunks) {
    const rows = seqs.map((s, i) => {
      const ids = s.tokens.slice(pos[i], pos[i]! + sizes[i]!);
      const padded = ids.length === sizes[i] ? ids : [...ids, ...Array.from({ length: sizes[i]! - ids.length }, (_, k) => 200 + k + pos[i]!)];
      return { tokenIds: padded, startPosition: pos[i]!, blockTable: s.blocks, sample: true };
    });
    const batched = together.forward(buildStepBatch(rows, NATIVE_TEST_BLOCK_SIZE)).sampleLogits;
    rows.forEach((row, i) => {
      const single = alone.forward(buildStepBatch([row], NATIVE_TEST_BLOCK_SIZE)).sampleLogits;
      assert.deepEqual(batched.subarray(i * together.vocabSize, (i + 1) * together.vocabSize), single, `row ${i}`);
      pos[i]! += sizes[i]!;
    });
  }
});

test('native cpu backend refuses --load-format dummy by name', () => {
  assert.throws(() => createCpuBackend('/nonexistent', { ...opts, seed: 0, loadFormat: 'dummy' }), /--load-format dummy is not implemented for the native cpu backend/);
});
