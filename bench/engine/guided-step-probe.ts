// Where a guided (structured-output) step loses time on the host, without a GPU: the engine drives the real cuda
// sampling backend (src/native/cuda-sampling-backend.ts: masksReady, buildSampleRequest, result conversion) over a
// fake model whose forward takes a fixed time (a 7B decode step: ~20 ms; prefill tokens add to it) and whose
// "sampler" picks a pseudo-random allowed token per row, as greedy sampling of random dummy weights does. Runs issue
// 6's JSON-extraction workload shape (512-token prompts, first 300 shared, 128 output tokens, ignore_eos) plain and
// with the cpe schema, and reports per step:
//   - the critical path: host time between one step's result and the next step's launch (StepProfile.engineJsMs;
//     also as process CPU time and the GC pauses inside it), split into schedule / prepareSampling / applyResult /
//     commitStep, and the grammars' acceptToken time (wherever it runs);
//   - when the masks were ready, measured from the forward's launch, vs the forward time, and how often (and how
//     long) the sampler had to wait for them after the forward was over;
//   - the sampling request's grammar mask rows (distinct vs rows) and the bytes the GPU upload would carry;
//   - with mask workers (--grammar pooled): rows filled from the engine thread's cache vs sent to the workers, the
//     steps and rows deferred (a mask not done --grace-ms after the logits were ready) and the time the backend
//     waited for masks after its logits were ready (EngineCore.maskStats).
// Usage: node --import tsx bench/engine/guided-step-probe.ts [--requests 1000] [--output-len 128] [--decode-ms 20]
//          [--grammar engine|pooled] [--workers 1] [--grace-ms 1] [--out results.json]
// (runs named "adopt-prototype" were made with a flag that patched in GrammarMatcher.adoptNextMask before src/ had
// it; the engine now always hands each worker-computed mask to the engine thread's matcher.)
// The engine's methods are wrapped with timers here (measurement only; nothing of the engine is changed).
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { AsyncEngine } from '../../src/engine/async-engine.js';
import { EngineCore } from '../../src/engine/engine-core.js';
import type { GrammarProvider, RequestGrammar } from '../../src/engine/grammar.js';
import type { NativeSampleRequest, NativeSampleResult } from '../../src/native/addon.js';
import { createCudaSamplingBackend, type GpuSamplingModel } from '../../src/native/cuda-sampling-backend.js';
import { ROW_INT_FIELDS, RowInt } from '../../src/native/cuda-sampling.js';
import { StepProfile } from '../../src/native/cuda-step-profile.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { sampleRandomDataset } from '../../src/benchmarks/datasets/random-dataset.js';
import { benchTokenizerFrom } from '../../src/benchmarks/bench-tokenizer.js';
import { CPE_SCHEMA } from '../../src/benchmarks/datasets/cpe-dataset.js';
import { SeededRandom } from '../../src/benchmarks/rng.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { PooledGrammarProvider } from '../../src/structured/workers/pooled-provider.js';
import { loadTokenVocab } from '../../src/structured/token-vocab.js';
import { qwenTokenizerDir } from '../../src/models/make-test-model.js';
import { writeDummyModelDir } from '../gpu/dummy-model-dir.js';
import { runOfflineBatch } from '../gpu/offline-batch.js';
import { arg } from './bench-args.js';

const N = Number(arg('requests', '1000'));
const OUTPUT_LEN = Number(arg('output-len', '128'));
const DECODE_MS = Number(arg('decode-ms', '20'));
/** prefill cost per scheduled token (a 7B mixed step of ~7,000 tokens took ~180 ms on the H200) */
const MS_PER_TOKEN = Number(arg('ms-per-token', '0.023'));
const GRAMMAR = arg('grammar', 'engine');
const WORKERS = Number(arg('workers', '1'));
/** EngineCoreOptions.structuredOutputMaskGraceMs; unset: the engine's default */
const GRACE_MS = arg('grace-ms', '');
const OUT = arg('out', '');
const SHAPE = 'Qwen2.5-7B';
const VOCAB = 152064;
const TEXT_TOKENS = 151643;

// ---- phase timers on the engine thread ----
const timers = { schedule: 0, prepareSampling: 0, applyResult: 0, acceptToken: 0, commitStep: 0 };
function timed<T extends object>(proto: T, name: string, key: keyof typeof timers): void {
  const p = proto as Record<string, (...a: unknown[]) => unknown>;
  const orig = p[name]!;
  p[name] = function (this: unknown, ...a: unknown[]) {
    const t = performance.now();
    try {
      return orig.apply(this, a);
    } finally {
      timers[key] += performance.now() - t;
    }
  };
}
timed(Scheduler.prototype, 'schedule', 'schedule');
timed(Scheduler.prototype, 'commitStep', 'commitStep');
timed(EngineCore.prototype, 'prepareSampling', 'prepareSampling');
timed(EngineCore.prototype, 'applyResult', 'applyResult');

/** the provider's grammars with acceptToken timed (bulkFiller and close passed through) */
function timingProvider(inner: GrammarProvider): GrammarProvider {
  return {
    create(c) {
      const g = inner.create(c);
      const accept = g.acceptToken.bind(g);
      (g as RequestGrammar).acceptToken = (t: number) => {
        const t0 = performance.now();
        try {
          return accept(t);
        } finally {
          timers.acceptToken += performance.now() - t0;
        }
      };
      return g;
    },
    ...(inner.bulkFiller ? { bulkFiller: (n: number) => inner.bulkFiller!(n) } : {}),
    ...(inner.close ? { close: () => inner.close!() } : {}),
  };
}

// ---- the fake GPU model ----
interface StepExtra {
  forwardMs: number;
  /** masks ready, from the forward's launch */
  masksAtMs: number;
  /** the sampler waited this long for the masks after the forward was over */
  masksLateMs: number;
  grammarRows: number;
  distinctMasks: number;
  maskUploadBytes: number;
}
const extras: StepExtra[] = [];
/**
 * process CPU time (ms) from one step's sample() answer to the next forwardBegin: the critical path's CPU cost,
 * robust to other load on the machine (wall time is not). Other threads of the process count too (GC helpers).
 */
const gapCpu: { sum: number; steps: number; answered: NodeJS.CpuUsage | null; answeredAt: number } = { sum: 0, steps: 0, answered: null, answeredAt: 0 };
/** the critical-path windows [answer, next launch] of the run, and the GC pauses of the run */
const gapWindows: Array<[number, number]> = [];
const gcPauses: Array<[number, number]> = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push([e.startTime, e.startTime + e.duration]);
}).observe({ entryTypes: ['gc'] });
/** GC pause time (ms) that fell inside the critical-path windows */
function gcInWindows(): number {
  let sum = 0;
  let j = 0;
  const pauses = gcPauses.slice().sort((a, b) => a[0] - b[0]);
  for (const [s, e] of gapWindows) {
    while (j < pauses.length && pauses[j]![1] < s) j++;
    for (let k = j; k < pauses.length && pauses[k]![0] < e; k++) sum += Math.max(0, Math.min(e, pauses[k]![1]) - Math.max(s, pauses[k]![0]));
  }
  return sum;
}

function hash32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * a pseudo-random allowed token of the row's mask: from a word drawn from r, the first word with an allowed token,
 * and one of its allowed bits (cheap; not uniform, as greedy over random weights is not either)
 */
function pickAllowed(mask: Int32Array, at: number, words: number, r: number): number {
  for (let k = 0; k < words; k++) {
    const w = (r + k) % words;
    const v = mask[at + w]!;
    if (v === 0) continue;
    const bits: number[] = [];
    for (let b = 0; b < 32; b++) if ((v >>> b) & 1) bits.push(b);
    return w * 32 + bits[(r >>> 7) % bits.length]!;
  }
  return -1;
}

function fakeModel(): GpuSamplingModel {
  let launchedAt = 0;
  let forwardMs = 0;
  return {
    vocabSize: VOCAB,
    async forwardBegin(batch) {
      launchedAt = performance.now();
      if (gapCpu.answered) {
        const d = process.cpuUsage(gapCpu.answered);
        gapCpu.sum += (d.user + d.system) / 1000;
        gapCpu.steps++;
        gapWindows.push([gapCpu.answeredAt, launchedAt]);
      }
      forwardMs = batch.numTokens === batch.numRows ? DECODE_MS : DECODE_MS + MS_PER_TOKEN * batch.numTokens;
      // the addon answers from its worker thread: the engine's continuation runs in a later turn
      await new Promise((r) => setImmediate(r));
      return { hostMs: 0 };
    },
    forwardDone() {
      // the "GPU" finishes the forward forwardMs after its launch (the addon's event, waited on a worker thread)
      return new Promise((r) => setTimeout(r, Math.max(0, launchedAt + forwardMs - performance.now())));
    },
    async sample(req: NativeSampleRequest): Promise<NativeSampleResult> {
      // sample() is called once masksReady resolved
      const masksAt = performance.now() - launchedAt;
      const words = Math.ceil(VOCAB / 32);
      const tokens = new Int32Array(req.numRows);
      let grammarRows = 0;
      for (let i = 0; i < req.numRows; i++) {
        const ints = req.rowInts.subarray(i * ROW_INT_FIELDS, (i + 1) * ROW_INT_FIELDS);
        const r = hash32(ints[RowInt.SeedLo]!, ints[RowInt.Counter]!);
        const g = ints[RowInt.GrammarMask]!;
        if (g >= 0) grammarRows++;
        tokens[i] = g >= 0 ? pickAllowed(req.grammarMasks, g * words, words, r) : r % TEXT_TOKENS;
      }
      const numMasks = req.grammarMasks.length / words;
      // the GPU is busy until the forward is over (this "sampling" ran inside the forward's window)
      const left = launchedAt + forwardMs - performance.now();
      if (left > 0) await new Promise((res) => setTimeout(res, left));
      extras.push({
        forwardMs,
        masksAtMs: masksAt,
        masksLateMs: Math.max(0, masksAt - forwardMs),
        grammarRows,
        distinctMasks: numMasks,
        maskUploadBytes: req.grammarMasks.byteLength,
      });
      const n = req.numRows;
      gapCpu.answered = process.cpuUsage();
      gapCpu.answeredAt = performance.now();
      return {
        tokens,
        logprob: new Float64Array(n),
        rank: new Int32Array(n),
        topN: 0,
        topIds: new Int32Array(0),
        topLogprobs: new Float64Array(0),
        logits: new Float32Array(0),
        timing: { forwardGpuMs: forwardMs, gpuGapMs: 0, sampleGpuMs: 0, hostPrepMs: 0, hostWaitMs: 0 },
      };
    },
  };
}

// ---- the runs ----
const dir = writeDummyModelDir(SHAPE, '/tmp/serval-guided-probe-7B', process.env['SERVAL_TOKENIZER_DIR'] ?? qwenTokenizerDir());
const vocab = loadTokenVocab(dir, { size: VOCAB });
const profile = new StepProfile();
const backend = createCudaSamplingBackend(fakeModel(), { numBlocks: 200_000, blockSize: 16, seed: 0, kind: 'cuda', device: 'fake GPU (fixed forward time)', profile });
const provider = GRAMMAR === 'pooled' ? new PooledGrammarProvider(vocab, { numWorkers: WORKERS }) : createGrammarProvider(vocab);
const engine = await AsyncEngine.create({
  model: dir,
  maxNumSeqs: 256,
  maxNumBatchedTokens: 8192,
  backend,
  grammar: timingProvider(provider),
  ...(GRACE_MS !== '' ? { structuredOutputMaskGraceMs: Number(GRACE_MS) } : {}),
});
const tok = benchTokenizerFrom(engine.tokenizer!, SHAPE);
const sample = (seed: number, n: number, outputLen: number) =>
  sampleRandomDataset({ numPrompts: n, inputLen: 212, outputLen, prefixLen: 300, rangeRatio: 0 }, tok, new SeededRandom(seed));

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}
const r3 = (x: number) => Number(x.toFixed(3));

// warm-up (JIT, grammar compile, mask cache of the schema's common states), not measured
await runOfflineBatch(engine, sample(100, 64, 16), { schema: null, temperature: 0, seed: 0 });
await runOfflineBatch(engine, sample(101, 64, 16), { schema: CPE_SCHEMA, temperature: 0, seed: 0 });

const report: Record<string, unknown> = {
  bench: 'bench/engine/guided-step-probe.ts',
  machine: `${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores), Node ${process.version}`,
  workload: { requests: N, promptLen: 512, sharedPrefixLen: 300, outputLen: OUTPUT_LEN, ignoreEos: true, temperature: 0 },
  fakeForward: { decodeMs: DECODE_MS, msPerPrefillToken: MS_PER_TOKEN },
  grammar: GRAMMAR === 'pooled' ? `PooledGrammarProvider (${WORKERS} workers)` : 'StructuredGrammarProvider (engine thread)',
  structuredOutputMaskGraceMs: GRACE_MS !== '' ? Number(GRACE_MS) : 'default',
  runs: [] as unknown[],
};
for (const guided of [false, true]) {
  const samples = sample(guided ? 2 : 1, N, OUTPUT_LEN);
  for (const k of Object.keys(timers) as Array<keyof typeof timers>) timers[k] = 0;
  extras.length = 0;
  gapCpu.sum = 0;
  gapCpu.steps = 0;
  gapCpu.answered = null;
  gapWindows.length = 0;
  gcPauses.length = 0;
  profile.reset();
  engine.core.resetMaskStats();
  const r = await runOfflineBatch(engine, samples, { schema: guided ? CPE_SCHEMA : null, temperature: 0, seed: 1 });
  const steps = profile.steps;
  const decode = steps.map((s, i) => ({ s, x: extras[i]! })).filter((e) => e.s.kind === 'decode');
  const gaps = steps.slice(1).map((s) => s.engineJsMs);
  const total = profile.summary()['total']!;
  const run = {
    guided,
    outputTokensPerSecond: Number(r.output_tokens_per_second.toFixed(1)),
    elapsedS: r3(r.elapsed_time),
    steps: steps.length,
    decodeSteps: decode.length,
    beforeFirstStepMs: total['beforeFirstStepMs'],
    firstToLastStepMs: total['firstToLastStepMs'],
    forwardMsSum: r3(extras.reduce((a, e) => a + e.forwardMs, 0)),
    criticalPath: {
      engineJsMsSum: total['engineJsMs'],
      cpuMsSum: r3(gapCpu.sum),
      cpuMsPerStep: r3(gapCpu.sum / Math.max(1, gapCpu.steps)),
      gcPauseMsSum: r3(gcInWindows()),
      perStepMeanMs: r3(mean(gaps)),
      perDecodeStepMeanMs: r3(mean(decode.slice(1).map((e) => e.s.engineJsMs))),
      // sums over the run (ms): what the engine thread did between a result and the next launch
      scheduleMs: r3(timers.schedule),
      prepareSamplingMs: r3(timers.prepareSampling),
      applyResultMs: r3(timers.applyResult),
      ofWhichAcceptTokenMs: r3(timers.acceptToken),
      commitStepMs: r3(timers.commitStep),
    },
    masks: {
      decodeMasksReadyMeanMs: r3(mean(decode.map((e) => e.x.masksAtMs))),
      decodeMasksReadyMaxMs: r3(Math.max(0, ...decode.map((e) => e.x.masksAtMs))),
      stepsWaitingOnMasks: extras.filter((e) => e.masksLateMs > 0).length,
      waitOnMasksMsSum: r3(extras.reduce((a, e) => a + e.masksLateMs, 0)),
      decodeGrammarRowsMean: r3(mean(decode.map((e) => e.x.grammarRows))),
      decodeMaskRowsSentMean: r3(mean(decode.map((e) => e.x.distinctMasks))),
      decodeMaskUploadKiBMean: r3(mean(decode.map((e) => e.x.maskUploadBytes)) / 1024),
    },
    maskRows: (() => {
      const m = engine.core.maskStats();
      return {
        stepsWithGrammarRows: m.steps,
        rowsCachedOnEngine: m.rowsCachedOnEngine,
        rowsOnWorkers: m.rowsOnWorkers,
        stepsDeferred: m.stepsDeferred,
        rowsDeferred: m.rowsDeferred,
        waitAfterLogitsMsSum: r3(m.maskWaitMs),
        waitAfterLogitsMaxMs: r3(m.maxMaskWaitMs),
      };
    })(),
    forwardBeginMsMean: r3(mean(steps.map((s) => s.forwardBeginMs))),
    buildRequestMsMean: r3(mean(steps.map((s) => s.buildRequestMs))),
    resultMsMean: r3(mean(steps.map((s) => s.resultMs))),
  };
  (report['runs'] as unknown[]).push(run);
  console.log(JSON.stringify(run, null, 1));
}
await engine.shutdown();
const [plain, guided] = report['runs'] as Array<{ outputTokensPerSecond: number; firstToLastStepMs: number }>;
report['guidedCostPercent'] = Number((100 * (1 - guided!.outputTokensPerSecond / plain!.outputTokensPerSecond)).toFixed(2));
console.log(`guided cost: ${report['guidedCostPercent']} % of output throughput`);
if (OUT) writeFileSync(OUT, JSON.stringify(report, null, 2) + '\n');
