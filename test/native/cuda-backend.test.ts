// The CUDA part of the addon: on machines without a GPU (CI) it must load and say "no CUDA device" cleanly; on a GPU
// machine (deviceCount > 0) the bf16 CUDA logits are checked against the ts reference model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cudaInfo, loadNativeAddon } from '../../src/native/addon.js';
import { NativeCudaForwardModel, requireCuda } from '../../src/native/cuda-backend.js';
import { TEST_ARCHS } from '../../src/models/test-model-config.js';
import { loadTsModel } from '../../src/runner/ts/ts-model.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { loadModelConfig } from '../../src/loader/model-config.js';
import { createCudaEngineBackend } from '../../src/native/cuda-engine-backend.js';
import { resolveDevice } from '../../src/native/device-select.js';
import { compareRows, failures, type LogprobComparison } from './logprob-compare.js';
import { makeNativeTestModel, NATIVE_TEST_BLOCK_SIZE, NATIVE_TEST_NUM_BLOCKS, scriptedSteps } from './native-test-helpers.js';

const info = cudaInfo();
const hasGpu = info.deviceCount > 0;

test('the addon reports its CUDA status without throwing', () => {
  assert.equal(typeof info.compiled, 'boolean');
  assert.ok(Number.isInteger(info.deviceCount) && info.deviceCount >= 0);
  assert.equal(info.devices.length, info.deviceCount);
  if (info.compiled) assert.equal(typeof loadNativeAddon().CudaModel, 'function');
  if (!hasGpu) assert.match(info.error ?? '', /^no CUDA device/);
});

test('without a GPU the cuda backend refuses with the reason', { skip: hasGpu ? 'a CUDA device is present' : false }, () => {
  assert.throws(() => requireCuda(), /cuda backend is unavailable: no CUDA device/);
});

// bf16 activations (GEMM inputs, KV cache) put the top-5 logprobs of these small random models up to ~0.1 from the
// fp32 reference, and flip near-ties; the target is 5e-2 / gap 1e-2 (see bench/native/README.md). A kernel
// bug shows up as errors of order 1, far above these bounds.
const TOP5_TOL = 0.15;
const TOP1_GAP = 0.05;

for (const arch of TEST_ARCHS) {
  test(`cuda bf16 logits match the ts model: ${arch}`, { skip: hasGpu ? false : 'no CUDA device' }, async () => {
    const dir = makeNativeTestModel(arch);
    const opts = { numBlocks: NATIVE_TEST_NUM_BLOCKS, blockSize: NATIVE_TEST_BLOCK_SIZE };
    const ref = await loadTsModel(dir, opts);
    const gpu = NativeCudaForwardModel.load(dir, { ...opts, maxNumTokens: 64 });
    try {
      const rows: LogprobComparison[] = [];
      for (const batch of scriptedSteps(ref.vocabSize)) {
        const want = ref.forward(batch);
        const got = gpu.forward(batch);
        rows.push(...compareRows(want.sampleLogits, got.sampleLogits, ref.vocabSize));
        want.promptLogits.forEach((w, r) => {
          if (w) rows.push(...compareRows(w, got.promptLogits[r]!, ref.vocabSize));
        });
      }
      assert.ok(rows.length >= 20);
      assert.deepEqual(failures(rows, TOP5_TOL, TOP1_GAP), []);
    } finally {
      gpu.close();
    }
  });
}

test('cuda decode steps replayed from CUDA graphs equal eager execution', { skip: hasGpu ? false : 'no CUDA device' }, () => {
  const dir = makeNativeTestModel('qwen3');
  const opts = { numBlocks: NATIVE_TEST_NUM_BLOCKS, blockSize: NATIVE_TEST_BLOCK_SIZE, maxNumTokens: 64 };
  const graphs = NativeCudaForwardModel.load(dir, opts);
  const eager = NativeCudaForwardModel.load(dir, { ...opts, enforceEager: true });
  try {
    // mixed scripted steps, then 70 single-row decode steps: the block table outgrows the first padded stride (16)
    for (const batch of scriptedSteps(graphs.vocabSize)) {
      assert.deepEqual(graphs.forward(batch).sampleLogits, eager.forward(batch).sampleLogits);
    }
    const blockTable = Array.from({ length: NATIVE_TEST_NUM_BLOCKS }, (_, i) => i);
    for (let pos = 0; pos < 76; pos++) {
      const batch = buildStepBatch([{ tokenIds: [(pos * 31) % 4096], startPosition: pos, blockTable: blockTable.slice(0, Math.floor(pos / NATIVE_TEST_BLOCK_SIZE) + 1), sample: true }], NATIVE_TEST_BLOCK_SIZE);
      assert.deepEqual(graphs.forward(batch).sampleLogits, eager.forward(batch).sampleLogits, `decode step at position ${pos}`);
    }
  } finally {
    graphs.close();
    eager.close();
  }
});

// Steps of up to 8 tokens run the fused decode layer (kernels_gemv.cu: RoPE + K/V write in the QKV projection's
// epilogue unless q/k norm comes first, SiLU-and-mul in the gate/up projection's, fp32 GEMV inputs); skinnyGemm:
// false runs the same steps through cuBLASLt and the separate kernels. The two differ only by bf16 roundings of the
// GEMM inputs; a wrong rotation pair, cache slot or gate/up row would be off by units.
for (const arch of TEST_ARCHS) {
  test(`cuda fused decode layer matches the cuBLASLt path: ${arch}`, { skip: hasGpu ? false : 'no CUDA device' }, () => {
    const dir = makeNativeTestModel(arch);
    const opts = { numBlocks: NATIVE_TEST_NUM_BLOCKS, blockSize: NATIVE_TEST_BLOCK_SIZE, maxNumTokens: 64 };
    const fused = NativeCudaForwardModel.load(dir, opts);
    const plain = NativeCudaForwardModel.load(dir, { ...opts, skinnyGemm: false });
    try {
      const rows: LogprobComparison[] = [];
      const blockTable = [3, 1, 4, 0, 2];
      const prompt = [11, 22, 33, 44, 55, 66, 77];  // 7 tokens: a prefill step on the GEMV path too
      let pending = prompt;
      for (let pos = 0; pos < 16; pos += pending.length, pending = [(pos * 37) % 4096]) {
        const batch = buildStepBatch([{ tokenIds: pending, startPosition: pos, blockTable, sample: true }], NATIVE_TEST_BLOCK_SIZE);
        rows.push(...compareRows(plain.forward(batch).sampleLogits, fused.forward(batch).sampleLogits, fused.vocabSize));
      }
      assert.equal(rows.length, 10);
      assert.deepEqual(failures(rows, TOP5_TOL, TOP1_GAP), []);
    } finally {
      fused.close();
      plain.close();
    }
  });
}

test('--device auto resolves to cuda exactly when the addon sees a GPU', () => {
  assert.equal(resolveDevice('auto'), hasGpu ? 'cuda' : 'cpu');
  assert.equal(resolveDevice('ts'), 'ts');
});

test('the engine-facing cuda backend sizes its KV cache from gpu_memory_utilization and samples', { skip: hasGpu ? false : 'no CUDA device' }, async () => {
  const dir = makeNativeTestModel('llama');
  const config = loadModelConfig(dir);
  const common = { modelDir: dir, config, blockSize: 16, maxNumBatchedTokens: 256, maxNumSeqs: 8, loadFormat: 'auto' as const, enforceEager: false, seed: 3 };
  assert.throws(
    () => createCudaEngineBackend({ ...common, gpuMemoryUtilization: 0.5, maxModelLen: 2 ** 40 }),
    /max seq len \(\d+\) is larger than the maximum number of tokens that can be stored in KV cache/,
  );
  const logs: string[] = [];
  const { backend, plan } = createCudaEngineBackend({ ...common, gpuMemoryUtilization: 0.3, maxModelLen: 4096, log: (m) => logs.push(m) });
  try {
    assert.ok(plan.numBlocks * 16 >= 4096);
    assert.equal(backend.info.numBlocks, plan.numBlocks);
    assert.match(logs.join('\n'), /weights .* GiB, activations .* KV cache .* blocks/);
    // its greedy token is the ts reference's whenever the reference's top two are clearly apart
    const ref = await loadTsModel(dir, { numBlocks: 16, blockSize: 16 });
    const batch = buildStepBatch([{ tokenIds: [1, 2, 3, 4, 5], startPosition: 0, blockTable: [0], sample: true }], 16);
    const want = compareRows(ref.forward(batch).sampleLogits, ref.forward(batch).sampleLogits, config.vocabSize)[0]!;
    const got = await backend.execute(batch);
    assert.equal(got.sampledTokenIds.length, 1);
    if (want.refGap > TOP1_GAP) assert.equal(got.sampledTokenIds[0], want.refTop1);
  } finally {
    await backend.close();
  }
});

test('cuda forwardAsync (worker thread) equals forward', { skip: hasGpu ? false : 'no CUDA device' }, async () => {
  const dir = makeNativeTestModel('qwen2');
  const opts = { numBlocks: NATIVE_TEST_NUM_BLOCKS, blockSize: NATIVE_TEST_BLOCK_SIZE, maxNumTokens: 64 };
  const a = NativeCudaForwardModel.load(dir, opts);
  const b = NativeCudaForwardModel.load(dir, opts);
  try {
    for (const batch of scriptedSteps(a.vocabSize)) {
      const pending = a.forwardAsync(batch);
      assert.throws(() => a.forward(batch), /another forward of this model is still running/);
      assert.deepEqual((await pending).sampleLogits, b.forward(batch).sampleLogits);
    }
  } finally {
    a.close();
    b.close();
  }
});
