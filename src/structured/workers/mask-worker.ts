// A mask worker thread: holds its own grammar provider over the same vocabulary and mirrors the requests assigned
// to it (the engine thread keeps the authoritative matcher and sends each request's newly accepted tokens), and
// writes their masks straight into the step's shared bitmask.
import { parentPort, workerData } from 'node:worker_threads';
import { StructuredGrammarProvider } from '../provider.js';
import { lexemeBuildStats } from '../lexeme-table.js';
import type { GrammarMatcher } from '../matcher.js';
import type { FromWorker, MaskWorkerInit, MirrorRow, ToWorker } from './protocol.js';
import { unpackVocab } from './vocab-transfer.js';
import { IdleWork } from './idle-work.js';
import { BY_WORKER, claimRow } from './row-claims.js';

if (!parentPort) throw new Error('mask-worker.ts runs as a worker thread of the structured-output mask pool');
const port = parentPort;
const init = workerData as MaskWorkerInit;
const provider = new StructuredGrammarProvider(unpackVocab(init.vocab), { maxCompiled: init.maxCompiled });
const mirrors = new Map<number, GrammarMatcher>();
/** requests whose early mirror failed: their next fill reports why */
const mirrorErrors = new Map<number, string>();

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** where a request's first mask is computed when its mirror starts (the mask is kept in the compiled grammar's cache) */
let firstMask: Int32Array | null = null;
/** rows of the current fill whose mask was computed here (not a cache copy) */
let computed = 0;

/** the mirrored grammars' lexeme automata, built while no message comes */
const idle = new IdleWork();
/** when this thread last finished a message (performance.now()): a fill read late may have waited behind it */
let lastMessageEnd = -1;

/**
 * fills the row (unless the engine thread claimed it first) and returns its mask's walkDiff (a copy: the cache's own
 * is a view into a shared block)
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
  for (const t of row.tokens) {
    if (!m.acceptToken(t)) throw new Error(`structured output worker: the mirrored matcher rejected token ${t} that the engine accepted`);
  }
  // the mirror is in sync either way; the mask is computed once, by whoever claims it
  if (!claimRow(claims, row.claim, BY_WORKER)) return null;
  if (!m.nextMaskCached()) computed++;
  const stored = m.nextStoredMask();
  if (!stored) {
    m.fillNextTokenBitmask(out, row.offset); // finished: no token
    return null;
  }
  stored.writeTo(out, row.offset);
  return stored.walkDiff?.slice() ?? null;
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
  port.postMessage({ type: 'filled', id: msg.id, errors, walkDiffs, computed, automataBuilt: lexemeBuildStats.built - automataBefore, idleJobs: idle.pending, busyMs: performance.now() - start, slowestRowMs, startedAt, busyUntil } satisfies FromWorker);
});
port.postMessage({ type: 'ready' } satisfies FromWorker);
