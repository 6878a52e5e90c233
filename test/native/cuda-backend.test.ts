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
import { createCudaEngineBackend, cudaModelOptions } from '../../src/native/cuda-engine-backend.js';
import type { StepBatch } from '../../src/runner/batch.js';
import { resolveDevice } from '../../src/native/device-select.js';
import { compareGreedyRun, compareRows, failures, GREEDY_STEPS, maxTop5Diff, type LogprobComparison } from './logprob-compare.js';
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
// fp32 reference on the scripted steps (chunked prefill in cuBLASLt steps), and flip near-ties; a kernel bug shows up
// as errors of order 1, far above these bounds. The greedy run below is held to the issue's own bounds.
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

// The criterion on its greedy run (top-5 logprobs within 5e-2, the same argmax past a 1e-2 gap): the 8-token
// prompt in one cuBLASLt step, then 23 one-token GEMV steps. The CPU emulation of the CUDA code's bf16 stores
// (bench/native/bf16-emulation.ts, results/bf16-emulation.txt) predicts at most 0.042 on these 4096-token models; on
// cuda-check's 151,936-token ones it predicts llama/mistral over 5e-2 from the bf16 K/V cache alone.
for (const arch of TEST_ARCHS) {
  test(`cuda bf16 greedy run matches the ts model within 5e-2: ${arch}`, { skip: hasGpu ? false : 'no CUDA device' }, async () => {
    const dir = makeNativeTestModel(arch);
    const opts = { numBlocks: NATIVE_TEST_NUM_BLOCKS, blockSize: NATIVE_TEST_BLOCK_SIZE };
    const ref = await loadTsModel(dir, opts);
    const gpu = NativeCudaForwardModel.load(dir, { ...opts, maxNumTokens: 64 });
    try {
      const { greedy } = compareGreedyRun(ref, gpu, opts);
      assert.equal(greedy.length, GREEDY_STEPS);
      assert.deepEqual(failures(greedy), [], `max top-5 diff ${maxTop5Diff(greedy).toFixed(4)}`);
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

// Decode steps padded to the next decode batch size: 34 rows prefilled alike in two models (graphs, eager), then
// decode steps of odd row counts. Replays must equal eager steps exactly (both run the padded size), the real rows of
// a padded step must equal the same rows next to a real row in the padding's place (padding is inert), and greedy
// decoding must pick the same tokens. An unpadded model (exact-size graphs) agrees within bf16 rounding.
test('cuda decode steps padded to the decode batch sizes: replay == eager, padding inert', { skip: hasGpu ? false : 'no CUDA device' }, () => {
  const dir = makeNativeTestModel('qwen2');
  const bs = 16;
  const rowsMax = 34;
  const promptLen = (r: number) => 3 + ((r * 7) % 17);
  const blockTable = (r: number) => [2 * r + 1, 2 * r];  // two blocks per row, out of order
  const sizes = [1, 2, 4, 8, 16, 24, 32, 40];
  const opts = { numBlocks: 2 * rowsMax, blockSize: bs, maxNumTokens: 512, decodeBatchSizes: sizes, maxModelLen: 512 };
  const graphs = NativeCudaForwardModel.load(dir, opts);
  const eager = NativeCudaForwardModel.load(dir, { ...opts, enforceEager: true });
  const exact = NativeCudaForwardModel.load(dir, { numBlocks: 2 * rowsMax, blockSize: bs, maxNumTokens: 512 });
  const models = [graphs, eager, exact];
  try {
    const capture = graphs.captureDecodeGraphs();
    assert.equal(capture.graphs, sizes.length * 2);  // strides 16 and 32 (512 / 16) for each size
    assert.ok(capture.milliseconds > 0 && capture.bytes >= 0);
    assert.throws(() => eager.captureDecodeGraphs(), /CUDA graphs are off/);
    assert.throws(() => exact.captureDecodeGraphs(), /no decodeBatchSizes were given/);
    // as at start-up: the cache replaced after the capture; the graphs are updated to the new one in place
    for (const m of models) m.allocateKvCache(2 * rowsMax);
    const prefill = buildStepBatch(
      Array.from({ length: rowsMax }, (_, r) => ({ tokenIds: Array.from({ length: promptLen(r) }, (_, i) => (r * 131 + i * 17) % 4096), startPosition: 0, blockTable: blockTable(r), sample: true })),
      bs,
    );
    for (const m of models) m.forward(prefill);
    const decode = (rows: number[], step: number): StepBatch =>
      buildStepBatch(rows.map((r) => ({ tokenIds: [(r * 29 + step * 7) % 4096], startPosition: promptLen(r) + step, blockTable: blockTable(r), sample: true })), bs);
    const vocab = graphs.vocabSize;
    for (const n of [3, 5, 17, 33]) {
      const rows = Array.from({ length: n }, (_, r) => r);
      const batch = decode(rows, 0);
      const replayed = graphs.forward(batch).sampleLogits;
      assert.equal(replayed.length, n * vocab);
      assert.deepEqual(replayed, eager.forward(batch).sampleLogits, `${n} rows: replay vs eager`);
      // the padded size's first padding row replaced by a real row: the n real rows must not change by a bit
      const withNeighbour = graphs.forward(decode([...rows, rowsMax - 1], 0)).sampleLogits;
      assert.deepEqual(withNeighbour.subarray(0, n * vocab), replayed, `${n} rows: padding is inert`);
      assert.ok(replayed.every(Number.isFinite), `${n} rows: finite logits`);
      const unpadded = exact.forward(batch).sampleLogits;
      assert.deepEqual(failures(compareRows(unpadded, replayed, vocab), TOP5_TOL, TOP1_GAP), [], `${n} rows: padded vs exact size`);
    }
    // greedy decoding of 5 rows over 12 steps (K/V written by every step): the same tokens from replays and eager
    const tokens = { graphs: [] as number[], eager: [] as number[] };
    for (const [name, m] of [['graphs', graphs], ['eager', eager]] as const) {
      let next = [0, 1, 2, 3, 4].map((r) => (r * 29) % 4096);
      for (let step = 1; step <= 12; step++) {
        const batch = buildStepBatch(next.map((t, r) => ({ tokenIds: [t], startPosition: promptLen(r) + step, blockTable: blockTable(r), sample: true })), bs);
        const logits = m.forward(batch).sampleLogits;
        next = next.map((_, r) => {
          const row = logits.subarray(r * vocab, (r + 1) * vocab);
          return row.indexOf(Math.max(...row));
        });
        tokens[name].push(...next);
      }
    }
    assert.deepEqual(tokens.graphs, tokens.eager);
  } finally {
    for (const m of models) m.close();
  }
});

// Steps of up to 2 tokens (kGemvMaxTokens) run the fused decode layer (kernels_gemv.cu: RoPE + K/V write in the QKV projection's
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
      const prompt = [11, 22, 33, 44, 55, 66, 77];  // 7 tokens: cuBLASLt in both models, then one-token GEMV decode steps
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
    assert.match(logs.join('\n'), /weights .* GiB, activations peak .* GiB, sampling .* GiB, CUDA graphs .* GiB, other .* KV cache .* blocks/);
    // maxNumSeqs 8: sizes 1, 2, 4, 8; maxModelLen 4096 / block 16: strides 16, 32, 64, 128, 256
    assert.match(logs.join('\n'), /cuda graphs: captured 20 decode CUDA graphs \(batch sizes 1\.\.8: 4 sizes x 5 block-table strides\)/);
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

test('the engine-facing cuda model pads decode steps to vLLM sizes, with or without graphs', () => {
  const config = loadModelConfig(makeNativeTestModel('qwen2'));
  const o = { modelDir: null, config, blockSize: 16, gpuMemoryUtilization: 0.5, maxModelLen: 2048, maxNumBatchedTokens: 1024, maxNumSeqs: 20, loadFormat: 'dummy' as const, enforceEager: false, seed: 0 };
  const withGraphs = cudaModelOptions(o, 12);
  assert.deepEqual(withGraphs.decodeBatchSizes, [1, 2, 4, 8, 16, 24]);
  assert.equal(withGraphs.maxModelLen, 2048);
  assert.equal(withGraphs.numBlocks, 12);
  // beyond int32 (the KV plan refuses such a length before any graph is captured): passed as the int32 maximum
  assert.equal(cudaModelOptions({ ...o, maxModelLen: 2 ** 40 }, 12).maxModelLen, 2 ** 31 - 1);
  assert.equal(withGraphs.enforceEager, false);
  // --enforce-eager: no graphs, but the same padding, so eager logits are what a replay would give
  const eager = cudaModelOptions({ ...o, enforceEager: true }, 12);
  assert.equal(eager.enforceEager, true);
  assert.deepEqual(eager.decodeBatchSizes, withGraphs.decodeBatchSizes);
});

