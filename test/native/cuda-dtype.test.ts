// --dtype on the cuda backend: its resolution (CPU-side, always runs) and, on a GPU machine, the float32 and float16
// forwards against the fp32 ts reference (the float32 path is the tests' tight check of every kernel), CUDA graphs
// against eager execution per dtype, and the engine-facing backend sizing its KV cache for the dtype's value size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DtypeArg } from '../../src/config/engine-args.js';
import { cudaInfo, loadNativeAddon } from '../../src/native/addon.js';
import { NativeCudaForwardModel } from '../../src/native/cuda-backend.js';
import { createCudaEngineBackend, cudaDtypeBytes, resolveCudaDtype } from '../../src/native/cuda-engine-backend.js';
import { cudaKvBytesPerBlock } from '../../src/native/kv-cache-plan.js';
import { nativeModelSpec } from '../../src/native/native-spec.js';
import { loadModelConfig } from '../../src/loader/model-config.js';
import type { WeightDtype } from '../../src/loader/model-config-types.js';
import { TEST_ARCHS } from '../../src/models/test-model-config.js';
import { loadTsModel } from '../../src/runner/ts/ts-model.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { compareRows, compareWithReference, failures, maxTop5Diff } from './logprob-compare.js';
import { makeNativeTestModel, NATIVE_TEST_BLOCK_SIZE, NATIVE_TEST_NUM_BLOCKS, scriptedSteps } from './native-test-helpers.js';

const info = cudaInfo();
const hasGpu = info.deviceCount > 0;
const gpuOnly = { skip: hasGpu ? false : 'no CUDA device' };

test('--dtype auto resolves as vLLM does: the checkpoint dtype, float32 checkpoints downcast to bfloat16', () => {
  assert.equal(resolveCudaDtype('auto', 'bfloat16'), 'bfloat16');
  assert.equal(resolveCudaDtype('auto', 'float16'), 'float16');
  assert.equal(resolveCudaDtype('auto', 'float32'), 'bfloat16');
  assert.equal(resolveCudaDtype('float32', 'bfloat16'), 'float32');
  assert.equal(resolveCudaDtype('float16', 'bfloat16'), 'float16');
  assert.equal(resolveCudaDtype('bfloat16', 'float16'), 'bfloat16');
});

test('an unknown --dtype string is refused naming it and the accepted values', () => {
  assert.throws(
    () => resolveCudaDtype('float8' as DtypeArg, 'bfloat16'),
    /--dtype "float8" is not supported by the cuda backend \(expected auto, bfloat16, float16, float32\)/,
  );
  const config = loadModelConfig(makeNativeTestModel('qwen2'));
  const opts = { modelDir: null, config, blockSize: 16, gpuMemoryUtilization: 0.5, maxModelLen: 64, maxNumBatchedTokens: 64, maxNumSeqs: 4, loadFormat: 'dummy' as const, enforceEager: true, seed: 0 };
  // refused before the GPU is touched (also on machines without one)
  assert.throws(() => createCudaEngineBackend({ ...opts, dtype: 'half' as DtypeArg }), /--dtype "half" is not supported/);
});

test('the native model refuses an unknown dtype by name', { skip: loadNativeAddon().CudaModel ? false : 'addon built without CUDA' }, () => {
  const config = loadModelConfig(makeNativeTestModel('qwen2'));
  const addon = loadNativeAddon();
  assert.throws(
    () => new addon.CudaModel!(nativeModelSpec(config), [], { numBlocks: 4, blockSize: 4, dummyWeights: true, dtype: 'int8' as WeightDtype }),
    /CudaModel: unsupported compute dtype 'int8' \(expected bfloat16, float16 or float32\)/,
  );
});

test('KV cache blocks of a float32 model take twice the bytes of bfloat16 / float16', () => {
  assert.equal(cudaDtypeBytes('bfloat16'), 2);
  assert.equal(cudaDtypeBytes('float16'), 2);
  assert.equal(cudaDtypeBytes('float32'), 4);
  assert.equal(cudaKvBytesPerBlock(28, 16, 4, 128, cudaDtypeBytes('float32')), 2 * cudaKvBytesPerBlock(28, 16, 4, 128));
  assert.equal(cudaKvBytesPerBlock(28, 16, 4, 128), 2 * 28 * 16 * 4 * 128 * 2);
});

// Bounds against the fp32 ts reference, with the greedy token equal wherever the reference's top-1/top-2 gap exceeds
// 1e-2. float32 runs the same arithmetic in another order (no TF32): measured <= 9e-6 on an H200, held to 1e-3.
// float16 stores what bf16 stores with 3 more mantissa bits: measured <= 9.3e-3 (bf16: 0.094), held to the issue's
// 5e-2, tighter than the bf16 test's 0.15 / gap 0.05 (bench/native/README.md, "--dtype").
const BOUNDS: Record<'float32' | 'float16', { tol: number; gap: number }> = {
  float32: { tol: 1e-3, gap: 1e-2 },
  float16: { tol: 5e-2, gap: 1e-2 },
};

for (const dtype of ['float32', 'float16'] as const) {
  for (const arch of TEST_ARCHS) {
    test(`cuda ${dtype} logits match the ts model: ${arch}`, gpuOnly, async (t) => {
      const dir = makeNativeTestModel(arch);
      const opts = { numBlocks: NATIVE_TEST_NUM_BLOCKS, blockSize: NATIVE_TEST_BLOCK_SIZE };
      const ref = await loadTsModel(dir, opts);
      const gpu = NativeCudaForwardModel.load(dir, { ...opts, maxNumTokens: 64, dtype });
      try {
        const { scripted, greedy } = compareWithReference(ref, gpu, opts);
        t.diagnostic(`${dtype} ${arch}: max top-5 diff scripted ${maxTop5Diff(scripted).toExponential(2)}, greedy-24 ${maxTop5Diff(greedy).toExponential(2)}`);
        assert.ok(scripted.length >= 20 && greedy.length === 24);
        const { tol, gap } = BOUNDS[dtype];
        assert.deepEqual(failures([...scripted, ...greedy], tol, gap), []);
      } finally {
        gpu.close();
      }
    });
  }
}

for (const dtype of ['bfloat16', 'float16', 'float32'] as const) {
  test(`cuda ${dtype}: decode steps replayed from CUDA graphs equal eager execution, fused decode layer ~ cuBLASLt`, gpuOnly, () => {
    const dir = makeNativeTestModel('qwen2');
    const opts = { numBlocks: NATIVE_TEST_NUM_BLOCKS, blockSize: NATIVE_TEST_BLOCK_SIZE, maxNumTokens: 64, dtype };
    const graphs = NativeCudaForwardModel.load(dir, opts);
    const eager = NativeCudaForwardModel.load(dir, { ...opts, enforceEager: true });
    const cublas = NativeCudaForwardModel.load(dir, { ...opts, enforceEager: true, skinnyGemm: false });
    try {
      for (const batch of scriptedSteps(graphs.vocabSize)) {
        const g = graphs.forward(batch).sampleLogits;
        assert.deepEqual(g, eager.forward(batch).sampleLogits);
        // GEMV (fp32 inputs) vs cuBLASLt (inputs in the dtype): equal up to the dtype's rounding of GEMM inputs
        const worst = maxTop5Diff(compareRows(cublas.forward(batch).sampleLogits, g, graphs.vocabSize));
        assert.ok(worst < (dtype === 'float32' ? 1e-3 : 0.15), `fused vs cuBLASLt ${worst}`);
      }
      const blockTable = Array.from({ length: NATIVE_TEST_NUM_BLOCKS }, (_, i) => i);
      for (let pos = 0; pos < 40; pos++) {
        const batch = buildStepBatch([{ tokenIds: [(pos * 31) % 4096], startPosition: pos, blockTable: blockTable.slice(0, Math.floor(pos / NATIVE_TEST_BLOCK_SIZE) + 1), sample: true }], NATIVE_TEST_BLOCK_SIZE);
        assert.deepEqual(graphs.forward(batch).sampleLogits, eager.forward(batch).sampleLogits, `decode step at position ${pos}`);
      }
    } finally {
      graphs.close();
      eager.close();
      cublas.close();
    }
  });
}

test('the engine-facing cuda backend in float32 sizes 4-byte KV blocks and names its dtype', gpuOnly, async () => {
  const dir = makeNativeTestModel('llama');
  const config = loadModelConfig(dir);
  const logs: string[] = [];
  const { backend, plan, memory } = createCudaEngineBackend({
    modelDir: dir, config, blockSize: 16, maxNumBatchedTokens: 256, maxNumSeqs: 8, loadFormat: 'auto', enforceEager: false,
    seed: 3, gpuMemoryUtilization: 0.3, maxModelLen: 4096, dtype: 'float32', log: (m) => logs.push(m),
  });
  try {
    assert.equal(memory.kvCacheBytes, plan.numBlocks * cudaKvBytesPerBlock(config.numLayers, 16, config.numKvHeads, config.headDim, 4));
    assert.match(backend.info.device ?? '', /float32/);
    const got = await backend.execute(buildStepBatch([{ tokenIds: [1, 2, 3, 4, 5], startPosition: 0, blockTable: [0], sample: true }], 16));
    assert.equal(got.sampledTokenIds.length, 1);
  } finally {
    await backend.close();
  }
});
