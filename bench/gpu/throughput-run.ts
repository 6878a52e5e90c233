// Offline throughput on the CUDA engine (issue 6, speed item 2): the JSON-extraction workload's shape — prompts of
// 512 tokens whose first 300 are shared by all, 128 output tokens, ignore_eos — with and without the cpe schema,
// dummy weights in a real Qwen2.5 shape, through AsyncEngine as `serval bench throughput` (see offline-batch.ts for
// the temperature parameter). Each run samples its own prompts (own shared prefix), so a run does not reuse an
// earlier run's cache.
import { AsyncEngine } from '../../src/engine/async-engine.js';
import type { ThroughputResult } from '../../src/benchmarks/throughput-benchmark.js';
import { runOfflineBatch } from './offline-batch.js';
import { sampleRandomDataset } from '../../src/benchmarks/datasets/random-dataset.js';
import { benchTokenizerFrom } from '../../src/benchmarks/bench-tokenizer.js';
import { CPE_SCHEMA } from '../../src/benchmarks/datasets/cpe-dataset.js';
import { SeededRandom } from '../../src/benchmarks/rng.js';
import type { EngineStats } from '../../src/engine/serving-engine.js';
import { writeDummyModelDir } from './dummy-model-dir.js';
import { activeCudaStepProfile } from '../../src/native/cuda-step-profile.js';

export interface WorkloadShape {
  promptLen: number;
  sharedPrefixLen: number;
  outputLen: number;
}

/** one measured run: how many requests, sampled how, with or without the cpe schema */
export interface RunSpec {
  numRequests: number;
  temperature: number;
  guided: boolean;
}

export interface ThroughputRun extends ThroughputResult {
  guided: boolean;
  temperature: number;
  /** engine stats change over the run */
  prefixCacheHitRate: number;
  preemptions: number;
  /** per-step phase means (ms) by step kind, when the engine ran with SERVAL_CUDA_PROFILE=1 */
  stepProfile?: Record<string, Record<string, number>>;
  error?: string;
}

export interface ThroughputReport {
  shape: string;
  device: string;
  workload: WorkloadShape;
  engineArgs: Record<string, unknown>;
  startupSeconds: number;
  startupLog: string[];
  warmupSeconds: number;
  runs: ThroughputRun[];
}

function delta(after: EngineStats, before: EngineStats): { prefixCacheHitRate: number; preemptions: number } {
  const q = after.prefixCacheQueries - before.prefixCacheQueries;
  return { prefixCacheHitRate: q > 0 ? (after.prefixCacheHits - before.prefixCacheHits) / q : 0, preemptions: after.numPreemptions - before.numPreemptions };
}

/** a Qwen2.5 shape with dummy weights on CUDA, or (to check this harness without a GPU) a model folder on the ts backend */
export type ThroughputTarget = { shape: string; tokenizerDir: string } | { modelDir: string; device: 'ts' };

export async function runGpuThroughput(
  target: ThroughputTarget,
  workload: WorkloadShape,
  runs: RunSpec[],
  engineArgs: { maxNumSeqs: number; maxNumBatchedTokens: number; gpuMemoryUtilization: number },
  onProgress: (r: ThroughputReport) => void,
): Promise<ThroughputReport> {
  const onCuda = 'shape' in target;
  const shape = onCuda ? target.shape : target.modelDir;
  const dir = onCuda ? writeDummyModelDir(target.shape, `/tmp/serval-dummy-${target.shape}`, target.tokenizerDir) : target.modelDir;
  const startupLog: string[] = [];
  const t0 = performance.now();
  const engine = await AsyncEngine.create({
    model: dir,
    device: onCuda ? 'cuda' : 'ts',
    loadFormat: onCuda ? 'dummy' : 'auto',
    seed: 0,
    ...engineArgs,
    log: (m) => {
      startupLog.push(m);
      console.error(`[${shape}] ${m}`);
    },
  });
  const report: ThroughputReport = {
    shape,
    device: onCuda ? (startupLog.find((l) => l.startsWith('cuda:'))?.split(':')[1]?.trim() ?? 'unknown') : 'ts',
    workload,
    engineArgs: { device: engine.args.device, loadFormat: engine.args.loadFormat, dtype: onCuda ? 'bfloat16' : 'float32', enablePrefixCaching: engine.args.enablePrefixCaching, ...engineArgs },
    startupSeconds: (performance.now() - t0) / 1000,
    startupLog,
    warmupSeconds: 0,
    runs: [],
  };
  try {
    const tok = benchTokenizerFrom(engine.tokenizer!, shape);
    const sample = (seed: number, n: number, outputLen: number) =>
      sampleRandomDataset(
        { numPrompts: n, inputLen: workload.promptLen - workload.sharedPrefixLen, outputLen, prefixLen: workload.sharedPrefixLen, rangeRatio: 0 },
        tok,
        new SeededRandom(seed),
      );
    // warm-up: CUDA graph capture, grammar compile, JIT — not measured
    const tw = performance.now();
    const nWarm = Math.min(64, Math.max(...runs.map((r) => r.numRequests)));
    await runOfflineBatch(engine, sample(100, nWarm, 16), { schema: null, temperature: 0, seed: 0 });
    await runOfflineBatch(engine, sample(101, nWarm, 16), { schema: CPE_SCHEMA, temperature: 0, seed: 0 });
    report.warmupSeconds = (performance.now() - tw) / 1000;
    onProgress(report);
    for (const [k, spec] of runs.entries()) {
      const { guided, temperature } = spec;
      const samples = sample(k + 1, spec.numRequests, workload.outputLen);
      const before = engine.stats();
      activeCudaStepProfile.current?.reset();
      const label = `[${shape}] ${guided ? 'guided' : 'plain'} T=${temperature} N=${spec.numRequests}`;
      try {
        const r = await runOfflineBatch(engine, samples, { schema: guided ? CPE_SCHEMA : null, temperature, seed: 1000 * (k + 1) });
        const stepProfile = activeCudaStepProfile.current?.summary();
        report.runs.push({ ...r, guided, temperature, ...delta(engine.stats(), before), ...(stepProfile ? { stepProfile } : {}) });
        if (stepProfile) console.error(`${label} step profile (ms, means): ${JSON.stringify(stepProfile)}`);
        console.error(`${label}: ${r.output_tokens_per_second.toFixed(1)} output tok/s, ${r.elapsed_time.toFixed(1)} s`);
      } catch (e) {
        const err = e as Error;
        report.runs.push({ guided, temperature, num_requests: spec.numRequests, error: `${err.message}\n${err.stack ?? ''}` } as ThroughputRun);
        console.error(`${label} failed: ${err.stack ?? err.message}`);
      }
      onProgress(report);
    }
    return report;
  } finally {
    await engine.shutdown();
  }
}
