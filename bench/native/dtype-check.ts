// GPU-machine run for --dtype (issue 6): (1) CUDA logits in bfloat16 / float16 / float32 vs the fp32 ts reference on
// make-test-model models of the four architectures (scripted chunked-prefill/decode steps + a 24-token teacher-forced
// greedy run, as bench/native/cuda-check.ts does for bf16); (2) the same CUDA models vs Hugging Face transformers on
// the reference checkpoints of test/fixtures/reference (fp32 runs recorded there; bf16 runs made on the device by
// scripts/reference/hf_logprobs.py --dtype bfloat16), teacher-forcing each reference's own greedy tokens; (3) batch-1
// decode time per token on a Qwen2.5 shape with dummy weights per dtype (CUDA graphs; GPU greedy sampling and logits
// to the host), against the bandwidth floor of that dtype's weight bytes.
// (4, DTYPE_PARTS=prefill) eager prefill step times per dtype.
// Usage: node dtype-check.mjs OUT_DIR   env: DTYPE_PARTS (correctness,hf,decode), DTYPE_LIST (dtypes of 1 and 2),
// DTYPE_DECODE (dtypes of 3 and 4), DTYPE_SHAPE (Qwen2.5-7B), FIXTURES (test/fixtures/reference), HF_BF16_DIR (optional),
// REF_MODELS (the reference checkpoints), DTYPE_LABEL (the result file's name). SERVAL_NATIVE_ADDON picks the addon (the base build for before/after).
import { mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNativeAddon } from '../../src/native/addon.js';
import { NativeCudaForwardModel } from '../../src/native/cuda-backend.js';
import type { WeightDtype } from '../../src/loader/model-config-types.js';
import { makeTestModel, type MakeTestModelOptions } from '../../src/models/make-test-model.js';
import { TEST_ARCHS } from '../../src/models/test-model-config.js';
import { loadTsModel } from '../../src/runner/ts/ts-model.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { compareTopLogprobs, compareWithReference, failures, maxTop5Diff, type LogprobComparison } from '../../test/native/logprob-compare.js';
import { makeNativeTestModel, NATIVE_TEST_BLOCK_SIZE, NATIVE_TEST_NUM_BLOCKS } from '../../test/native/native-test-helpers.js';
import { QWEN25_SHAPES } from './model-shapes.js';
import { measureBatch1Decode } from './decode-timing.js';
import { timePrefill } from './prefill-timing.js';

const outDir = process.argv[2] ?? 'dtype-check-out';
mkdirSync(outDir, { recursive: true });
const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const parts = new Set(env('DTYPE_PARTS', 'correctness,hf,decode').split(','));
const dtypes = env('DTYPE_LIST', 'bfloat16,float16,float32').split(',') as WeightDtype[];
const addon = loadNativeAddon();
const results: Record<string, unknown> = { cudaInfo: addon.cudaInfo(), correctness: {}, hf: {}, decode: {} };

/** the criteria: 5e-2 on top-5 logprobs, same argmax past a 1e-2 gap */
function summarize(rows: LogprobComparison[]) {
  return {
    rows: rows.length,
    maxTop5Diff: maxTop5Diff(rows),
    top1Mismatches: rows.filter((r) => r.refTop1 !== r.gotTop1).length,
    failures: failures(rows).length,
  };
}

async function correctness(arch: (typeof TEST_ARCHS)[number], dtype: WeightDtype) {
  const dir = makeNativeTestModel(arch, 151936);
  const opts = { numBlocks: NATIVE_TEST_NUM_BLOCKS, blockSize: NATIVE_TEST_BLOCK_SIZE };
  const ref = await loadTsModel(dir, opts);
  const gpu = NativeCudaForwardModel.load(dir, { ...opts, maxNumTokens: 256, dtype });
  try {
    const { scripted, greedy } = compareWithReference(ref, gpu, opts);
    return { scripted: summarize(scripted), greedy24: summarize(greedy) };
  } finally {
    gpu.close();
  }
}

interface HfRecord {
  dtype: string;
  card: string;
  prompts: Array<{ name: string; tokenIds: number[]; generated: number[]; topIds: number[][]; topLogprobs: number[][] }>;
}

/** one CUDA model teacher-forced along each prompt's greedy run of an HF record, compared on HF's top-5 */
function againstHf(gpu: NativeCudaForwardModel, rec: HfRecord): LogprobComparison[] {
  const rows: LogprobComparison[] = [];
  const bs = NATIVE_TEST_BLOCK_SIZE;
  for (const p of rec.prompts) {
    const blockTable = Array.from({ length: Math.ceil((p.tokenIds.length + p.generated.length) / bs) }, (_, i) => i);
    let pending: number[] = p.tokenIds;
    let start = 0;
    for (let i = 0; i < p.generated.length; i++) {
      const got = gpu.forward(buildStepBatch([{ tokenIds: pending, startPosition: start, blockTable, sample: true }], bs)).sampleLogits;
      rows.push(compareTopLogprobs(p.topIds[i]!, p.topLogprobs[i]!, got));
      start += pending.length;
      pending = [p.generated[i]!];
    }
  }
  return rows;
}

async function hfComparison(dtype: WeightDtype) {
  const fixtures = env('FIXTURES', 'test/fixtures/reference');
  const inputs = JSON.parse(readFileSync(join(fixtures, 'inputs.json'), 'utf8')) as { models: Array<Omit<MakeTestModelOptions, 'out'>> };
  const hfBf16Dir = process.env['HF_BF16_DIR'];
  const out: Record<string, unknown> = {};
  for (const m of inputs.models) {
    // the checkpoints HF ran on (scripts/reference/make-models.ts into REF_MODELS), else made the same way here
    const made = join(env('REF_MODELS', tmpdir()), m.arch);
    const dir = existsSync(join(made, 'config.json')) ? made : makeTestModel({ ...m, out: made, tokenizer: false });
    const gpu = NativeCudaForwardModel.load(dir, { numBlocks: 64, blockSize: NATIVE_TEST_BLOCK_SIZE, maxNumTokens: 256, dtype });
    try {
      const fp32 = JSON.parse(readFileSync(join(fixtures, `${m.arch}.json`), 'utf8')) as HfRecord;
      const entry: Record<string, unknown> = { hfFloat32: { card: fp32.card, ...summarize(againstHf(gpu, fp32)) } };
      const bf16Path = hfBf16Dir ? join(hfBf16Dir, `${m.arch}.json`) : '';
      if (bf16Path && existsSync(bf16Path)) {
        const bf16 = JSON.parse(readFileSync(bf16Path, 'utf8')) as HfRecord;
        entry['hfBfloat16'] = { card: bf16.card, ...summarize(againstHf(gpu, bf16)) };
      }
      out[m.arch] = entry;
      console.log('hf', dtype, m.arch, JSON.stringify(entry));
    } finally {
      gpu.close();
    }
  }
  return out;
}

/** one eager prefill step's time (best of 3 after a warm-up): 1 x 2048 and 4 x 512 prompt tokens, dummy weights */
function prefillTiming(shape: string, dtype: WeightDtype) {
  const config = QWEN25_SHAPES[shape];
  if (!config) throw new Error(`unknown shape ${shape}`);
  const gpu = NativeCudaForwardModel.fromConfig(config, null, { numBlocks: 600, blockSize: 16, loadFormat: 'dummy', seed: 1, maxNumTokens: 4096, enforceEager: true, dtype });
  try {
    return { prefill1x2048Ms: timePrefill(gpu, 1, 2048), prefill4x512Ms: timePrefill(gpu, 4, 512) };
  } finally {
    gpu.close();
  }
}

if (parts.has('correctness')) {
  for (const dtype of dtypes) {
    for (const arch of TEST_ARCHS) {
      try {
        const res = await correctness(arch, dtype);
        console.log('correctness', dtype, arch, JSON.stringify(res));
        ((results.correctness as Record<string, Record<string, unknown>>)[dtype] ??= {})[arch] = res;
      } catch (e) {
        console.log('correctness', dtype, arch, 'ERROR', (e as Error).stack);
        ((results.correctness as Record<string, Record<string, unknown>>)[dtype] ??= {})[arch] = { error: String((e as Error).stack) };
      }
    }
  }
}
if (parts.has('hf')) {
  for (const dtype of dtypes) {
    try {
      (results.hf as Record<string, unknown>)[dtype] = await hfComparison(dtype);
    } catch (e) {
      console.log('hf', dtype, 'ERROR', (e as Error).stack);
      (results.hf as Record<string, unknown>)[dtype] = { error: String((e as Error).stack) };
    }
  }
}
if (parts.has('decode')) {
  const shape = env('DTYPE_SHAPE', 'Qwen2.5-7B');
  for (const dtype of env('DTYPE_DECODE', 'bfloat16,float16').split(',') as WeightDtype[]) {
    try {
      const res = { graphsGreedy: await measureBatch1Decode(shape, { dtype, greedy: true }), graphsLogits: await measureBatch1Decode(shape, { dtype }) };
      console.log('decode', shape, dtype, JSON.stringify(res));
      (results.decode as Record<string, unknown>)[`${shape} ${dtype}`] = res;
    } catch (e) {
      console.log('decode', shape, dtype, 'ERROR', (e as Error).stack);
      (results.decode as Record<string, unknown>)[`${shape} ${dtype}`] = { error: String((e as Error).stack) };
    }
  }
}
if (parts.has('prefill')) {
  const shape = env('DTYPE_SHAPE', 'Qwen2.5-7B');
  for (const dtype of env('DTYPE_DECODE', 'bfloat16,float16').split(',') as WeightDtype[]) {
    try {
      const res = prefillTiming(shape, dtype);
      console.log('prefill', shape, dtype, JSON.stringify(res));
      ((results.prefill ??= {}) as Record<string, unknown>)[`${shape} ${dtype}`] = res;
    } catch (e) {
      console.log('prefill', shape, dtype, 'ERROR', (e as Error).stack);
    }
  }
}
writeFileSync(join(outDir, `${env('DTYPE_LABEL', 'dtype-check')}.json`), JSON.stringify(results, null, 1));
