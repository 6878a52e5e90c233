// Scheduler + engine host overhead per step at 256 running rows, with a trivial backend (no model: it returns a
// token per sample row at once), so everything measured is serval's own per-step work: scheduling, batch building,
// sampling-parameter preparation, token bookkeeping, detokenization, stop checks and output emission.
// Usage: node --import tsx bench/engine/step-overhead.ts [--rows 256] [--steps 400] [--warmup 100] [--out results.json]
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Backend, StepBatch, StepResult } from '../../src/runner/batch.js';
import { EngineCore } from '../../src/engine/engine-core.js';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';
import { IncrementalDetokenizer } from '../../src/tokenizer/incremental-detokenizer.js';
import { createDetokenizer } from '../../src/tokenizer/create-detokenizer.js';
import type { DetokenizerFactory } from '../../src/engine/detokenizer.js';
import { qwenTokenizerDir } from '../../src/models/make-test-model.js';
import type { TextTokenizer } from '../../src/tokenizer/types.js';
import { arg } from './bench-args.js';

const ROWS = Number(arg('rows', '256'));
const STEPS = Number(arg('steps', '400'));
const PROMPT = 64;
const WARMUP = Number(arg('warmup', '100'));

function trivialBackend(numBlocks: number, blockSize: number, vocabSize: number): Backend {
  return {
    info: { kind: 'ts', device: 'trivial (no model)', numBlocks, blockSize, vocabSize },
    async execute(batch: StepBatch): Promise<StepResult> {
      const sampled = new Int32Array(batch.sampleRows.length);
      // ordinary word-piece ids, varied per row and position so detokenization does real work
      for (let i = 0; i < sampled.length; i++) sampled[i] = 1000 + ((batch.contextLens[batch.sampleRows[i]] * 31 + i * 7) % 20000);
      return { sampledTokenIds: sampled, logprobs: new Array(sampled.length).fill(null), promptLogprobs: null };
    },
    async close() {},
  };
}

interface Result {
  config: string;
  rows: number;
  steps: number;
  stepsPerSecond: number;
  meanStepMs: number;
  p50StepMs: number;
  p99StepMs: number;
  meanScheduleMs: number;
  /** process CPU time (user + system, GC threads included) per step: robust to other load on the machine */
  cpuMsPerStep: number;
}

async function run(config: string, tokenizer: TextTokenizer | null, detokenizer: DetokenizerFactory | null, stop: string[]): Promise<Result> {
  const blockSize = 16;
  const numBlocks = Math.ceil(((PROMPT + WARMUP + STEPS + 64) * ROWS) / blockSize) + 64;
  const core = new EngineCore({
    backend: trivialBackend(numBlocks, blockSize, 151936),
    tokenizer,
    detokenizer,
    maxModelLen: 4096,
    maxNumSeqs: ROWS,
    maxNumBatchedTokens: 8192,
    schedulingPolicy: 'fcfs',
    enablePrefixCaching: true,
    seed: 0,
    maxLogprobs: 20,
    eosTokenIds: [151645],
  });
  let emitted = 0;
  for (let r = 0; r < ROWS; r++) {
    const prompt = Array.from({ length: PROMPT }, (_, i) => 100 + ((r * 131 + i * 17) % 30000));
    core.addRequest(`r${r}`, { prompt: null, promptTokenIds: prompt }, { temperature: 0.8, topP: 0.95, maxTokens: WARMUP + STEPS + 32, ignoreEos: true, stop }, { delta: true }, {
      emit: (o) => {
        emitted++;
        if (o.finished) throw new Error(`${config}: request ${o.requestId} finished early (${o.outputs[0].finishReason}, ${o.outputs[0].tokenIds.length} tokens)`);
      },
      fail: (e) => {
        throw e;
      },
    });
  }
  // prefill steps until every row decodes
  for (let i = 0; i < 10 && core.stats().numRunning < ROWS; i++) await core.step();
  for (let i = 0; i < WARMUP; i++) await core.step(); // warm-up: JIT, and the previous run's garbage collected
  const times: number[] = [];
  let scheduleMs = 0;
  const schedule = core.scheduler.schedule.bind(core.scheduler);
  core.scheduler.schedule = () => {
    const t = performance.now();
    const s = schedule();
    scheduleMs += performance.now() - t;
    return s;
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) {
    const t = performance.now();
    await core.step();
    times.push(performance.now() - t);
  }
  const total = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (core.stats().numRunning !== ROWS) throw new Error(`expected ${ROWS} running rows, got ${JSON.stringify(core.stats())}`);
  if (emitted === 0) throw new Error('no outputs were emitted');
  times.sort((a, b) => a - b);
  return {
    config,
    rows: ROWS,
    steps: STEPS,
    stepsPerSecond: Math.round((STEPS / total) * 1000),
    meanStepMs: +(total / STEPS).toFixed(3),
    p50StepMs: +times[Math.floor(STEPS * 0.5)].toFixed(3),
    p99StepMs: +times[Math.floor(STEPS * 0.99)].toFixed(3),
    meanScheduleMs: +(scheduleMs / STEPS).toFixed(3),
    cpuMsPerStep: +((cpu.user + cpu.system) / 1000 / STEPS).toFixed(3),
  };
}

const tok = await loadTokenizer(qwenTokenizerDir());
// what the engine uses: the byte-level fast path for Qwen3 (createDetokenizer's rule)
const selected: DetokenizerFactory = (ids, o) => createDetokenizer(tok, ids, o);
// the general decode-and-compare method, for comparison
const general: DetokenizerFactory = (ids, o) => new IncrementalDetokenizer(tok, ids, o);
if (!tok.byteLevelTable) throw new Error('the Qwen3 tokenizer should take the byte-level detokenizer');
const results = [
  await run('token ids only (no detokenization)', null, null, []),
  await run('Qwen3: byte-level detokenization', tok, selected, []),
  await run('Qwen3: byte-level detokenization + 2 stop strings', tok, selected, ['</answer-end>', 'QQQZZZ']),
  await run('Qwen3: general (decode-and-compare) detokenization', tok, general, []),
];
console.table(results);
const out = arg('out', '');
if (out) {
  writeFileSync(out, JSON.stringify({ machine: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, loadAverage1m: loadavg()[0], date: new Date().toISOString(), results }, null, 2) + '\n');
}
