// A mask worker thread: holds its own grammar provider over the same vocabulary and mirrors the requests assigned
// to it (the engine thread keeps the authoritative matcher and sends each request's newly accepted tokens), and
// writes their masks straight into the step's shared bitmask.
import { parentPort, workerData } from 'node:worker_threads';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { StructuredGrammarProvider } from '../provider.js';
import { lexemeBuildStats } from '../lexeme-table.js';
import { sharedLexer } from '../shared-lexer.js';
import type { GrammarMatcher } from '../matcher.js';
import { emptyFillParts, type FillParts, type FromWorker, type MaskWorkerInit, type MirrorRow, type ToWorker } from './protocol.js';
import { unpackVocab } from './vocab-transfer.js';
import { IdleWork } from './idle-work.js';
import { BY_WORKER, bumpProgress, claimRow, markWritten } from './row-claims.js';

if (!parentPort) throw new Error('mask-worker.ts runs as a worker thread of the structured-output mask pool');
const port = parentPort;
const init = workerData as MaskWorkerInit;
const provider = new StructuredGrammarProvider(unpackVocab(init.vocab), { maxCompiled: init.maxCompiled });
const mirrors = new Map<number, GrammarMatcher>();
const progress = new Int32Array(init.progress);
/** requests whose early mirror failed: their next fill reports why */
const mirrorErrors = new Map<number, string>();

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** where a request's first mask is computed when its mirror starts (the mask is kept in the compiled grammar's cache) */
let firstMask: Int32Array | null = null;
/** rows of the current fill whose mask was computed here (not a cache copy) */
let computed = 0;
/** where the current fill's time goes (benchmarks read it) */
let parts: FillParts = emptyFillParts();
/** collection pauses on this thread, ms, since the last answer (told with the next one: entries come in later) */
let gcMs = 0;
let gcMajorMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    if ((e as { detail?: { kind?: number } }).detail?.kind !== perfConstants.NODE_PERFORMANCE_GC_MINOR) gcMajorMs += e.duration;
  }
}).observe({ entryTypes: ['gc'] });

/** the mirrored grammars' lexeme automata, built while no message comes */
const idle = new IdleWork();
/** when this thread last finished a message (performance.now()): a fill read late may have waited behind it */
let lastMessageEnd = -1;

/**
 * fills the row (unless the engine thread claimed it first), marks it written, and returns its mask's walkDiff (a
 * copy: the cache's own is a view into a shared block)
 */
function fillRow(row: MirrorRow, out: Int32Array, claims: Int32Array): Int32Array | null {
  const early = mirrorErrors.get(row.key);
  if (early !== undefined && !row.constraint) throw new Error(early);
  let m = mirrors.get(row.key);
  if (row.constraint) {
    m = provider.create(row.constraint);
    mirrors.set(row.key, m);
  }
  if (!m) throw new Error(`structured output worker: no mirrored matcher for request ${row.key}`);
  const t0 = performance.now();
  for (const t of row.tokens) {
    if (!m.acceptToken(t)) throw new Error(`structured output worker: the mirrored matcher rejected token ${t} that the engine accepted`);
  }
  const t1 = performance.now();
  parts.syncMs += t1 - t0;
  parts.tokens += row.tokens.length;
  // the mirror is in sync either way; the mask is computed once, by whoever claims it
  if (!claimRow(claims, row.claim, BY_WORKER)) return null;
  const cold = !m.nextMaskCached();
  if (cold) computed++;
  const stored = m.nextStoredMask();
  let diff: Int32Array | null = null;
  if (!stored) m.fillNextTokenBitmask(out, row.offset); // finished: no token
  else {
    stored.writeTo(out, row.offset);
    diff = stored.walkDiff?.slice() ?? null;
  }
  markWritten(claims, row.claim);
  bumpProgress(progress);
  if (cold) parts.computeMs += performance.now() - t1;
  else parts.copyMs += performance.now() - t1;
  return diff;
}

port.on('message', (msg: ToWorker) => {
  idle.busy();
  if (msg.type === 'drop') {
    for (const k of msg.keys) {
      mirrors.delete(k);
      mirrorErrors.delete(k);
    }
    lastMessageEnd = performance.now();
    return;
  }
  if (msg.type === 'mirror') {
    try {
      const cg = provider.compile(msg.constraint);
      const m = provider.create(msg.constraint);
      mirrors.set(msg.key, m);
      // the request arrived while the engine runs a step: its first mask is needed after its prefill forward, and
      // computed now it is a cache copy then (a copy only as well when another request of the constraint made it)
      m.fillNextTokenBitmask((firstMask ??= new Int32Array(Math.ceil(provider.vocab.size / 32))), 0);
      // and the lexemes' automata the compile left over its state budget (COMPILE_LEXEME_STATES), off the fills
      idle.add(cg.lexemeAutomataBuilder());
    } catch (e) {
      mirrors.delete(msg.key);
      mirrorErrors.set(msg.key, errorMessage(e));
    }
    lastMessageEnd = performance.now();
    return;
  }
  const start = performance.now();
  const startedAt = performance.timeOrigin + start;
  const busyBefore = Math.max(lastMessageEnd, idle.lastStepEnd);
  const busyUntil = busyBefore < 0 ? 0 : performance.timeOrigin + busyBefore;
  const out = new Int32Array(msg.bitmask);
  const claims = new Int32Array(msg.claims);
  computed = 0;
  parts = emptyFillParts();
  const walksBefore = provider.walks.stats.computed;
  const walkMsBefore = provider.walks.stats.computeMs;
  const lexer = sharedLexer();
  const dfaStatesBefore = lexer.dfa.stateCount;
  const automataBefore = lexemeBuildStats.built;
  const walkDiffs: Array<Int32Array | null> = msg.rows.map(() => null);
  let slowestRowMs = 0;
  const errors = msg.rows.map((row, k) => {
    const rowStart = performance.now();
    try {
      walkDiffs[k] = fillRow(row, out, claims);
      slowestRowMs = Math.max(slowestRowMs, performance.now() - rowStart);
      return null;
    } catch (e) {
      mirrors.delete(row.key); // the engine fails this request: its mirror is of no further use
      mirrorErrors.delete(row.key);
      return errorMessage(e);
    }
  });
  lastMessageEnd = performance.now();
  parts.walks = provider.walks.stats.computed - walksBefore;
  parts.walkMs = provider.walks.stats.computeMs - walkMsBefore;
  // (the shared lexer a fill fills up is replaced by a fresh one: its states after that are not counted)
  parts.dfaStates = lexer.dfa.stateCount - dfaStatesBefore;
  parts.gcMs = gcMs;
  parts.gcMajorMs = gcMajorMs;
  gcMs = gcMajorMs = 0;
  port.postMessage({ type: 'filled', id: msg.id, errors, walkDiffs, computed, parts, automataBuilt: lexemeBuildStats.built - automataBefore, idleJobs: idle.pending, busyMs: performance.now() - start, slowestRowMs, startedAt, busyUntil } satisfies FromWorker);
});
port.postMessage({ type: 'ready' } satisfies FromWorker);
