// Entry point of the GPU run (bundled by bench/gpu/bundle.sh, run by bench/gpu/device-run.sh):
//   node run-gpu.mjs stress OUT.json [N]       (STRESS_DTYPE=float32|float16|bfloat16, default bfloat16)
//   node run-gpu.mjs throughput SHAPE OUT.json RUN...   RUN = N:temperature[:guided], e.g. 512:0 512:0:guided 64:1
//   node run-gpu.mjs decode-scaling SHAPE OUT.json      forward GPU time of decode steps over rows × context
// The tokenizer folder is SERVAL_TOKENIZER_DIR (the device has no node_modules; the bundle script copies it).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { runEngineStress } from './engine-stress.js';
import { resolveCudaDtype } from '../../src/native/cuda-engine-backend.js';
import type { DtypeArg } from '../../src/config/engine-args.js';
import { runGpuThroughput } from './throughput-run.js';
import { runDecodeScaling } from './decode-scaling.js';

const tokenizerDir = process.env['SERVAL_TOKENIZER_DIR'];
if (!tokenizerDir) throw new Error('set SERVAL_TOKENIZER_DIR to a folder with tokenizer.json and tokenizer_config.json');
const [mode, ...rest] = process.argv.slice(2);
const save = (path: string, value: unknown) => writeFileSync(path, JSON.stringify(value, null, 2) + '\n');

if (mode === 'stress') {
  const out = rest[0]!;
  // STRESS_DTYPE=float32: rows' arithmetic no longer rounds to 16 bits between ops, so outputs can be held to equality
  const dtype = resolveCudaDtype((process.env['STRESS_DTYPE'] ?? 'bfloat16') as DtypeArg, 'bfloat16');
  const modelDir = makeTestModel({ arch: 'qwen2', out: mkdtempSync(join(tmpdir(), 'serval-stress-')), hidden: 128, layers: 2, heads: 4, kvHeads: 2, seed: 11, tokenizer: false });
  const report = await runEngineStress({
    modelDir,
    tokenizerDir,
    numRequests: Number(rest[1] ?? 500),
    numBlocks: 160,
    blockSize: 16,
    maxNumSeqs: 128,
    maxNumBatchedTokens: 1024,
    maxPromptLen: 300,
    maxOutputLen: 64,
    seed: 5,
    dtype,
  });
  save(out, { model: `make-test-model qwen2 hidden 128, 2 layers, 4 heads / 2 KV heads, vocab 151936, ${dtype} weights`, ...report });
  const { divergences, errors, statsAfterBatched, statsAfterAlone, ...summary } = report;
  console.log(JSON.stringify({ ...summary, errors: errors.slice(0, 10), numErrors: errors.length, numDivergences: divergences.length, divergences: divergences.slice(0, 10), statsAfterBatched, statsAfterAlone }));
} else if (mode === 'throughput') {
  const [shape, out, ...runArgs] = rest;
  const runs = runArgs.map((a) => {
    const [n, t, g] = a.split(':');
    if (!(Number(n) >= 1) || !(Number(t) >= 0) || (g !== undefined && g !== 'guided')) throw new Error(`bad run "${a}": expected N:temperature[:guided]`);
    return { numRequests: Number(n), temperature: Number(t), guided: g === 'guided' };
  });
  const report = await runGpuThroughput(
    { shape: shape!, tokenizerDir },
    { promptLen: 512, sharedPrefixLen: 300, outputLen: 128 },
    runs,
    { maxNumSeqs: 256, maxNumBatchedTokens: 8192, gpuMemoryUtilization: 0.9 },
    (r) => save(out!, r),
  );
  save(out!, report);
  for (const r of report.runs) console.log(`${shape} guided=${r.guided} T=${r.temperature} N=${r.num_requests}: ${r.error ? `ERROR ${r.error.split('\n')[0]}` : `${r.output_tokens_per_second.toFixed(1)} output tok/s (${r.elapsed_time.toFixed(1)} s, prefix hit ${(100 * r.prefixCacheHitRate).toFixed(1)} %, preemptions ${r.preemptions})`}`);
} else if (mode === 'decode-scaling') {
  const [shape, out] = rest;
  save(out!, await runDecodeScaling(shape!, tokenizerDir, [1, 64, 256], [16, 128, 512, 1024, 2048]));
} else {
  throw new Error(`usage: run-gpu.mjs stress OUT.json [N] | throughput SHAPE OUT.json N:T[:guided]... | decode-scaling SHAPE OUT.json; got "${mode ?? ''}"`);
}
