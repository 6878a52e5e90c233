// GPU-machine run: (1) bf16 CUDA logits vs the ts reference on make-test-model models of the four architectures
// (top-5 logprobs within 5e-2, same greedy token where the reference's top-1/top-2 gap exceeds 1e-2), over the
// scripted chunked-prefill/decode steps and a 24-token teacher-forced greedy run; (2) batch-1 decode time per token
// with dummy weights in Qwen2.5 shapes vs the bandwidth floor (decode weight bytes / measured copy bandwidth).
// Usage: node cuda-check.mjs OUT_DIR [shape names...]   (SERVAL_NATIVE_ADDON points at the cmake-built addon)
// SERVAL_CHECK_KV_CACHE_DTYPE (auto, bfloat16, float16; --kv-cache-dtype's values): the correctness part's K/V cache
// under the bf16 weights; unset = auto, resolved as the engine resolves it (an fp16 cache under bf16 weights).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNativeAddon } from '../../src/native/addon.js';
import { NativeCudaForwardModel } from '../../src/native/cuda-backend.js';
import { createCudaEngineBackend, resolveCudaKvCacheDtype } from '../../src/native/cuda-engine-backend.js';
import { checkKvCacheDtype } from '../../src/config/kv-cache-dtype.js';
import { TEST_ARCHS } from '../../src/models/test-model-config.js';
import { loadTsModel } from '../../src/runner/ts/ts-model.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { compareWithReference, failures, maxTop5Diff, type LogprobComparison } from '../../test/native/logprob-compare.js';
import { makeNativeTestModel, NATIVE_TEST_BLOCK_SIZE, NATIVE_TEST_NUM_BLOCKS } from '../../test/native/native-test-helpers.js';
import { QWEN25_SHAPES } from './model-shapes.js';
import { measureBatch1Decode } from './decode-timing.js';
import { timePrefill } from './prefill-timing.js';

const outDir = process.argv[2] ?? 'cuda-check-out';
const shapeNames = process.argv.slice(3);
mkdirSync(outDir, { recursive: true });
const addon = loadNativeAddon();
const info = addon.cudaInfo();
console.log('cudaInfo', JSON.stringify(info));
/** the correctness part's K/V cache type (SERVAL_CHECK_KV_CACHE_DTYPE) */
const kvCacheDtype = resolveCudaKvCacheDtype(checkKvCacheDtype(process.env['SERVAL_CHECK_KV_CACHE_DTYPE'] ?? 'auto'), 'bfloat16');
const results: Record<string, unknown> = { cudaInfo: info, correctnessKvCacheDtype: kvCacheDtype, correctness: {}, decode: {} };

function summarize(rows: LogprobComparison[]) {
  return {
    rows: rows.length,
    maxTop5Diff: maxTop5Diff(rows),
    top1Mismatches: rows.filter((r) => r.refTop1 !== r.gotTop1).length,
    failures: failures(rows).length,
  };
}

async function correctness(arch: (typeof TEST_ARCHS)[number]) {
  const dir = makeNativeTestModel(arch, 151936);
  const opts = { numBlocks: NATIVE_TEST_NUM_BLOCKS, blockSize: NATIVE_TEST_BLOCK_SIZE };
  const ref = await loadTsModel(dir, opts);
  const gpu = NativeCudaForwardModel.load(dir, { ...opts, maxNumTokens: 256, kvCacheDtype });
  const { scripted, greedy, greedyTokens } = compareWithReference(ref, gpu, opts);
  gpu.close();
  const res = { scripted: summarize(scripted), greedy24: summarize(greedy), greedyTokens };
  console.log('correctness', arch, `kv-cache ${kvCacheDtype}`, JSON.stringify(res));
  return res;
}

/** one batch-1 decode measurement (decode-timing.ts), logged with the variant's name */
async function decodeTiming(name: string, skinnyGemm: boolean, enforceEager: boolean, greedy = false, pdl = true) {
  const res = await measureBatch1Decode(name, { skinnyGemm, enforceEager, greedy, pdl });
  console.log('decode', name, skinnyGemm ? 'gemv' : 'cublaslt', enforceEager ? 'eager' : 'graphs', greedy ? 'greedy' : 'logits', pdl ? '' : 'pdl-off', JSON.stringify(res));
  return res;
}

/** KV sizing as the engine does it, on the 7B shape, plus one large prefill step's time */
async function sizingAndPrefill() {
  const config = QWEN25_SHAPES['Qwen2.5-7B']!;
  const t0 = performance.now();
  const logs: string[] = [];
  const { backend, plan, memory } = createCudaEngineBackend({
    modelDir: null, config, blockSize: 16, gpuMemoryUtilization: 0.9, maxModelLen: 32768, maxNumBatchedTokens: 8192,
    maxNumSeqs: 256, loadFormat: 'dummy', enforceEager: false, seed: 1, log: (m) => logs.push(m),
  });
  const startupMs = performance.now() - t0;
  await backend.close();
  let refusal = '';
  try {
    createCudaEngineBackend({
      modelDir: null, config, blockSize: 16, gpuMemoryUtilization: 0.3, maxModelLen: 10_000_000, maxNumBatchedTokens: 2048,
      maxNumSeqs: 16, loadFormat: 'dummy', enforceEager: false, seed: 1,
    });
  } catch (e) {
    refusal = (e as Error).message;
  }
  // prefill throughput: one 2048-token row, then 4 rows of 512 tokens (eager; cuBLASLt GEMMs + dispatched attention;
  // best of 3; runs before session 4 timed one step)
  const gpu = NativeCudaForwardModel.fromConfig(config, null, { numBlocks: 600, blockSize: 16, loadFormat: 'dummy', seed: 1, maxNumTokens: 4096 });
  const ms2048 = timePrefill(gpu, 1, 2048);
  const ms4x512 = timePrefill(gpu, 4, 512);
  gpu.close();
  const res = { startupMs, plan, memory, log: logs, refusal, prefill2048Ms: ms2048, prefill2048TokPerS: 2048 / (ms2048 / 1000), prefill4x512Ms: ms4x512 };
  console.log('sizing', JSON.stringify(res));
  return res;
}

/** Attention before/after on the 7B shape: the legacy CUDA-core kernel for every token (SERVAL_ATTENTION=legacy) vs
 *  the dispatched kernels (flash prefill, split-KV decode). Prefill: one forward of 1x512, 1x2048, 4x512 prompt
 *  tokens (eager). Decode: batch-1 steps with CUDA graphs at long contexts; the KV contents are not filled (only the
 *  time is measured), so the long prompt need not be prefilled first. */
function attentionBeforeAfter() {
  const config = QWEN25_SHAPES['Qwen2.5-7B']!;
  const blockSize = 16;
  const contexts = [64, 1024, 4096, 16384, 32768];
  const numBlocks = 32768 / blockSize + 64;
  const out: Record<string, unknown> = {};
  for (const mode of ['legacy', 'auto'] as const) {
    process.env['SERVAL_ATTENTION'] = mode;
    let gpu: NativeCudaForwardModel;
    try {
      gpu = NativeCudaForwardModel.fromConfig(config, null, { numBlocks, blockSize, loadFormat: 'dummy', seed: 1, maxNumTokens: 4096 });
    } finally {
      delete process.env['SERVAL_ATTENTION'];
    }
    const table = (start: number, n: number) => Array.from({ length: n }, (_, i) => start + i);
    const res: Record<string, number> = {
      prefill1x512Ms: timePrefill(gpu, 1, 512),
      prefill1x2048Ms: timePrefill(gpu, 1, 2048),
      prefill4x512Ms: timePrefill(gpu, 4, 512),
    };
    for (const ctx of contexts) {
      const blockTable = table(0, Math.ceil((ctx + 48) / blockSize));
      const times: number[] = [];
      for (let i = 0; i < 40; i++) {
        const batch = buildStepBatch([{ tokenIds: [1000 + i], startPosition: ctx + i, blockTable, sample: true }], blockSize);
        const t0 = performance.now();
        gpu.forward(batch);
        if (i >= 8) times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      res[`decodeB1Ctx${ctx}MsMedian`] = times[Math.floor(times.length / 2)]!;
    }
    gpu.close();
    console.log('attention', mode, JSON.stringify(res));
    out[mode] = res;
  }
  return out;
}

if (process.env['SERVAL_PROFILE_ONLY'] === '1') {
  // for nsys: 7B batch-1 eager decode only
  await decodeTiming('Qwen2.5-7B', true, true);
  process.exit(0);
}

// SERVAL_CHECK_PARTS: comma list of sizing, attention, correctness, decode (default: all)
const parts = new Set((process.env['SERVAL_CHECK_PARTS'] ?? 'sizing,attention,correctness,decode').split(','));

if (parts.has('sizing')) {
  try {
    results.sizing = await sizingAndPrefill();
  } catch (e) {
    console.log('sizing ERROR', (e as Error).stack);
    results.sizing = { error: String((e as Error).stack) };
  }
}

if (parts.has('attention')) {
  try {
    results.attention = attentionBeforeAfter();
  } catch (e) {
    console.log('attention ERROR', (e as Error).stack);
    results.attention = { error: String((e as Error).stack) };
  }
}

for (const arch of parts.has('correctness') ? TEST_ARCHS : []) {
  try {
    (results.correctness as Record<string, unknown>)[arch] = await correctness(arch);
  } catch (e) {
    console.log('correctness', arch, 'ERROR', (e as Error).stack);
    (results.correctness as Record<string, unknown>)[arch] = { error: String((e as Error).stack) };
  }
}
// SERVAL_DECODE_VARIANTS: comma list of the decode timings below (default: the first four)
const decodeVariants: Record<string, (name: string) => ReturnType<typeof decodeTiming>> = {
  graphsGreedy: (n) => decodeTiming(n, true, false, true),
  graphsSkinnyGemm: (n) => decodeTiming(n, true, false),
  eagerSkinnyGemm: (n) => decodeTiming(n, true, true),
  eagerCublasLtOnly: (n) => decodeTiming(n, false, true),
  graphsGreedyPdlOff: (n) => decodeTiming(n, true, false, true, false),
  graphsSkinnyGemmPdlOff: (n) => decodeTiming(n, true, false, false, false),
};
const variantNames = (process.env['SERVAL_DECODE_VARIANTS'] ?? 'graphsGreedy,graphsSkinnyGemm,eagerSkinnyGemm,eagerCublasLtOnly').split(',');
for (const v of variantNames) {
  if (!decodeVariants[v]) throw new Error(`SERVAL_DECODE_VARIANTS: unknown variant ${v} (known: ${Object.keys(decodeVariants).join(', ')})`);
}
for (const name of !parts.has('decode') ? [] : shapeNames.length ? shapeNames : Object.keys(QWEN25_SHAPES)) {
  try {
    const res: Record<string, unknown> = {};
    for (const v of variantNames) res[v] = await decodeVariants[v]!(name);
    (results.decode as Record<string, unknown>)[name] = res;
  } catch (e) {
    console.log('decode', name, 'ERROR', (e as Error).stack);
    (results.decode as Record<string, unknown>)[name] = { error: String((e as Error).stack) };
  }
}
writeFileSync(join(outDir, 'cuda-check.json'), JSON.stringify(results, null, 2) + '\n');
