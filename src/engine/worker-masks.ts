// One step's grammar masks with the mask workers (engine-core.ts gathers the rows and tells which are late). The
// engine thread feeds each row its pending token and finds its cached mask (~2–5 µs a row); the cold rows are posted
// to the workers, then the cached rows are filled on the engine thread (a cache copy: microseconds). Rows cold at
// their request's last step are posted before anything is fed, with their pending tokens, where the filler takes them
// ahead (its workers' mirrors feed the tokens): the workers start at once rather than after the engine thread fed
// them (~0.5 ms of a 128-row step). This thread feeds those last, once the other rows are classified and the cached
// ones written: the cold rows found among the others are then posted sooner (~10 µs a row taken ahead, ~0.3 ms of a
// cold step). The other rows likely to be cold (new requests: no token to feed, or rows the filler does not take) are
// fed first and their cold ones posted then; cold rows found among the rest are posted after. A row is done when its
// worker marks it written in shared memory (watchWritten), not when this thread takes the worker's answer. When the
// backend's logits are ready, each row still being computed gets its grace (maskGraceFor) and is then deferred: it
// samples unconstrained, the engine discards its token and the scheduler schedules it again at the same position; its
// grammar is untouched (no token accepted). Its worker finishes into this step's bitmask, which no later step gets
// (StepMaskBuffer.discard); since the grammar has not moved, that mask is the one the row needs next: it is never
// posted again, later steps wait for the same computation (a LateMask) and copy its row once it is done.
import { writeMaskRow, type BulkMaskFiller, type HeldRows, type MaskRow, type RequestGrammar } from './grammar.js';
import { maskGraceFor, type LogitsSignal } from './mask-deadline.js';
import type { SequenceState } from './request-state.js';
import type { SharedMaskRows } from './shared-mask-rows.js';

/** a deferred row's mask, computed by a worker into a bitmask no step hands out any more */
export class LateMask {
  done = false;
  failed = false;
  readonly settled: Promise<void>;
  private resolve!: () => void;
  /** told synchronously when the mask is done: whoever waits sees done and its effect in the same turn */
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly buffer: Int32Array,
    private readonly offset: number,
    private readonly words: number,
  ) {
    this.settled = new Promise<void>((r) => (this.resolve = r));
  }

  finish(failed: boolean): void {
    if (this.done) return;
    this.done = true;
    this.failed = failed;
    for (const l of this.listeners.splice(0)) l();
    this.resolve();
  }

  whenDone(listener: () => void): void {
    if (this.done) listener();
    else this.listeners.push(listener);
  }

  copyTo(out: Int32Array, offset: number): void {
    out.set(this.buffer.subarray(this.offset, this.offset + this.words), offset);
  }
}

/** the engine thread's parts of a step (benchmarks read them) */
export interface WorkerMaskTimings {
  /** feeding the rows their tokens, finding their cached masks and posting the cold ones (the rows posted ahead not fed yet) */
  classifyMs: number;
  /** writing the cached rows */
  cachedFillMs: number;
  /** feeding the rows posted ahead (after the cached rows are written) and handing back those found cached here */
  aheadFeedMs: number;
  cachedRows: number;
  coldRows: number;
  /** of the cold rows, those posted before the rest of the rows were fed (found among the likely cold ones) */
  earlyColdRows: number;
  /** from the start to that early post (0: none) */
  earlyPostMs: number;
  /** of the early cold rows, those posted before this thread fed them (BulkMaskFiller.takesAhead) */
  aheadRows: number;
  /** of those, the ones this thread then found cached, and of these the ones it wrote itself (BulkMaskFiller.reclaim) */
  aheadCachedRows: number;
  aheadReclaimedRows: number;
}

/**
 * per grammar, whether its mask was cached at the last step it was in: the others (and new ones, absent) are likely
 * cold
 */
const cachedAtLastStep = new WeakMap<RequestGrammar, boolean>();

/** whether the grammar's next mask is cached; `identity`: what its cachedMaskIdentity answered (null if it has none) */
function isCached(grammar: RequestGrammar, identity: object | null): boolean {
  return grammar.cachedMaskIdentity ? identity !== null : grammar.nextMaskCached?.() === true;
}

/** the rows likely cold first (order kept within each part), and how many they are */
function likelyColdFirst(rows: WorkerMaskStep['rows']): { ordered: WorkerMaskStep['rows']; likely: number } {
  const likely = rows.filter((r) => cachedAtLastStep.get(r.grammar) !== true);
  if (likely.length === 0 || likely.length === rows.length) return { ordered: rows, likely: likely.length };
  return { ordered: [...likely, ...rows.filter((r) => cachedAtLastStep.get(r.grammar) === true)], likely: likely.length };
}

export interface WorkerMaskStep {
  bitmask: Int32Array;
  grammarRows: Uint8Array;
  words: number;
  logits: LogitsSignal;
  graceMs: number;
  /** the rows to classify, their pending tokens not fed yet */
  rows: Array<{ i: number; grammar: RequestGrammar }>;
  /** feeds row i its pending token (throws if its grammar rejects it) */
  feed(i: number): void;
  /** the token feed(i) feeds (-1: none); absent: no row is posted before it is fed */
  pendingToken?(i: number): number;
  /** cached rows with equal identities: one written, the others pointed at it */
  shared: SharedMaskRows;
  /** what the bitmask's rows hold from earlier steps (the bitmask is reused): a cached row holding its mask is not rewritten */
  held: HeldRows;
  /** rows deferred at an earlier step whose mask was being computed then (state.lateMask set) */
  late: number[];
  /** the row's sequence state while its request is live (null once it ended) */
  live(i: number): SequenceState | null;
  /** ends row i's request (its grammar or its worker failed) */
  fail(i: number, e: unknown): void;
  /** set to the engine thread's parts of the step */
  timings?: WorkerMaskTimings;
}

/** what fillWithWorkers did: the deferred rows, whether a worker may still write into this step's bitmask (a cold row deferred, or a row failed), and the rows cached here and posted */
export interface WorkerMaskResult {
  deferred: number[];
  bitmaskInUse: boolean;
  cachedRows: number;
  coldRows: number;
  /** of the cold rows, those posted before this thread fed them */
  aheadRows: number;
}

/** a wait for the workers' next written mark is cut at this (ms): a step's watch ends by then at the latest */
const WATCH_TIMEOUT_MS = 50;

/**
 * the rows the workers have written, told as soon as they are marked (BulkMaskFiller.pollWritten) rather than when
 * their workers' answers are taken: answers that came while this thread was busy are taken one per turn (~50 µs each),
 * and a step's last rows waited behind them (~0.5 ms of a cold 128-row step with 8 workers). Until the step is
 * decided or none of its rows waits
 */
async function watchWritten(filler: BulkMaskFiller, waits: ReadonlyArray<{ late: LateMask }>, decided: () => boolean): Promise<void> {
  filler.pollWritten!();
  while (!decided() && waits.some((w) => !w.late.done)) {
    await filler.whenProgress!(WATCH_TIMEOUT_MS);
    if (decided()) return;
    filler.pollWritten!();
  }
}

/** fills the step's rows; resolves once each is filled, failed or deferred */
export async function fillWithWorkers(s: WorkerMaskStep, filler: BulkMaskFiller): Promise<WorkerMaskResult> {
  const { bitmask, grammarRows, words } = s;
  const start = performance.now();
  let failures = 0;
  let decided = false;
  /** per row in the step: settles when the row is filled or failed */
  const waits: Array<{ i: number; late: LateMask }> = [];
  const cached: Array<{ i: number; grammar: RequestGrammar; identity: object | null }> = [];
  const cold: Array<{ i: number; grammar: RequestGrammar }> = [];
  const coldMasks: LateMask[] = [];
  /** the rows taken ahead (below) whose tokens this thread has not fed yet */
  const unfed = new Set<number>();

  // rows copied from a late mask: their words are no mask identity's
  for (const i of s.late) s.held.hold(i, null);
  const onRow = (k: number, err: Error | null) => {
    const late = coldMasks[k]!;
    if (late.done) return;
    const i = cold[k]!.i;
    let failure = err;
    // a row taken ahead answered before this thread fed its grammar the token: its mask is right for the row, but
    // not for the grammar's state now (a filler answering within its fill call): not adopted
    if (!failure && !unfed.has(i)) {
      // the grammar has not moved since the row was posted (a deferred one neither): the mask is its current one.
      // Adopting it (taken now, cached later: mask-adoption.ts) may throw: that fails this row's request only.
      try {
        cold[k]!.grammar.adoptNextMask?.(bitmask.subarray(i * words, (i + 1) * words));
      } catch (e) {
        failure = e instanceof Error ? e : new Error(String(e));
      }
    }
    late.finish(failure !== null);
    if (failure) {
      failures++;
      // the request may have ended (abort) while the workers ran; a deferred row's error still ends its request
      if (s.live(i)) s.fail(i, failure);
    } else if (!decided) {
      grammarRows[i] = 1;
    }
  };
  /** posts cold[from..] to the workers (`ahead`: with their pending tokens, not fed here yet) */
  const postCold = (from: number, ahead = false) => {
    const batch = cold.slice(from);
    // rows written by a worker: their words are no mask identity's
    for (const { i } of batch) s.held.hold(i, null);
    const rows: MaskRow[] = batch.map(({ i, grammar }) => ({ grammar, offset: i * words, pendingToken: ahead ? s.pendingToken!(i) : -1 }));
    const told = (k: number, err: Error | null) => onRow(from + k, err);
    void filler.fill(rows, bitmask, told).then(
      (errors) => errors.forEach((e, k) => told(k, e)),
      // a filler broke its promise never to reject: every request still waiting on a mask fails, the engine goes on
      (e: unknown) => batch.forEach((_, k) => told(k, e instanceof Error ? e : new Error(String(e)))),
    );
  };
  const { ordered, likely } = likelyColdFirst(s.rows);
  let earlyColdRows = 0;
  let earlyPostMs = 0;
  // the rows cold at their last step with a token to feed, that the filler takes before it is fed: posted now, so
  // that the workers start at once (their mirrors feed the tokens) while this thread feeds its own matchers. They are
  // cold rows whatever this thread's cache then says (a row written twice could be read half rewritten), unless the
  // filler hands one back that no worker has started (reclaim). A new request's row has no token to feed: it is
  // classified at once below
  const takesAhead = s.pendingToken ? filler.takesAhead?.bind(filler) : undefined;
  const ahead = new Set<number>();
  if (takesAhead) {
    for (let n = 0; n < likely; n++) {
      const r = ordered[n]!;
      if (cachedAtLastStep.get(r.grammar) !== false || s.pendingToken!(r.i) < 0 || !takesAhead(r.grammar)) continue;
      ahead.add(r.i);
      unfed.add(r.i);
      cold.push(r);
      coldMasks.push(new LateMask(bitmask, r.i * words, words));
    }
    if (cold.length > 0) {
      earlyColdRows = cold.length;
      postCold(0, true);
      earlyPostMs = performance.now() - start;
    }
  }
  const aheadRows = cold.length;
  let aheadCachedRows = 0;
  let aheadReclaimedRows = 0;
  ordered.forEach(({ i, grammar }, n) => {
    // fed below, once the other rows are classified and the cached ones written: their workers have them already,
    // while the cold rows found among the others wait for this thread's post
    if (ahead.has(i)) return;
    try {
      s.feed(i);
      // a grammar that tells its cached mask's identity answers both questions at once
      const identity = grammar.cachedMaskIdentity?.() ?? null;
      if (isCached(grammar, identity)) {
        cached.push({ i, grammar, identity });
        cachedAtLastStep.set(grammar, true);
      } else {
        cold.push({ i, grammar });
        coldMasks.push(new LateMask(bitmask, i * words, words));
        cachedAtLastStep.set(grammar, false);
      }
    } catch (e) {
      // its row stays free (zero)
      s.fail(i, e);
    }
    // the likely cold rows are classified: the workers start on their cold ones while this thread feeds the rest
    if (n + 1 === likely && likely < ordered.length && cold.length > earlyColdRows) {
      postCold(earlyColdRows);
      earlyColdRows = cold.length;
      earlyPostMs = performance.now() - start;
    }
  });
  if (cold.length > earlyColdRows) postCold(earlyColdRows);
  cold.forEach(({ i }, k) => waits.push({ i, late: coldMasks[k]! }));
  const classified = performance.now();
  for (const i of s.late) {
    // a sibling's failure may have ended the request meanwhile (n > 1)
    const late = s.live(i)?.lateMask;
    if (!late) continue;
    const take = () => {
      const state = s.live(i);
      if (decided || !state || late.failed) return;
      late.copyTo(bitmask, i * words);
      grammarRows[i] = 1;
    };
    late.whenDone(take);
    waits.push({ i, late });
  }
  for (const { i, grammar, identity } of cached) {
    try {
      if (!s.shared.share(i, identity)) {
        writeMaskRow(grammar, identity, bitmask, i * words, i, s.held);
        s.shared.wrote(i, identity);
      }
      grammarRows[i] = 1;
    } catch (e) {
      failures++;
      s.fail(i, e);
    }
  }
  const filledCached = performance.now();
  // the rows taken ahead: fed now (before any assist, which computes from this thread's matchers)
  for (let k = 0; k < aheadRows; k++) {
    const { i, grammar } = cold[k]!;
    try {
      s.feed(i);
      unfed.delete(i);
      // cached here after all: written here if no worker has started it; and no longer likely cold
      const cachedHere = isCached(grammar, grammar.cachedMaskIdentity?.() ?? null);
      cachedAtLastStep.set(grammar, cachedHere);
      if (cachedHere) {
        aheadCachedRows++;
        if (filler.reclaim?.(grammar)) aheadReclaimedRows++;
      }
    } catch (e) {
      // its worker's answer is for a state this thread's matcher never reached: never adopted (done already)
      coldMasks[k]!.finish(true);
      failures++;
      s.fail(i, e);
    }
  }
  if (s.timings) Object.assign(s.timings, { classifyMs: classified - start, cachedFillMs: filledCached - classified, aheadFeedMs: performance.now() - filledCached, cachedRows: cached.length, coldRows: cold.length, earlyColdRows, earlyPostMs, aheadRows, aheadCachedRows, aheadReclaimedRows });
  // the cached rows are written: this thread takes cold rows no worker has started yet
  if (cold.length > 0) filler.assist?.();
  if (waits.length > 0 && filler.pollWritten && filler.whenProgress) void watchWritten(filler, waits, () => decided);
  if (waits.length > 0) {
    // one timer per distinct grace
    const deadlines = new Map<number, ReturnType<LogitsSignal['deadline']>>();
    const deadlineFor = (ms: number) => {
      let d = deadlines.get(ms);
      if (!d) deadlines.set(ms, (d = s.logits.deadline(ms)));
      return d.passed;
    };
    await Promise.all(waits.map(({ i, late }) => (late.done ? null : Promise.race([late.settled, deadlineFor(maskGraceFor(s.graceMs, s.live(i)?.maskDeferrals ?? 0))]))));
    for (const d of deadlines.values()) d.cancel();
  }
  decided = true;
  const deferred: number[] = [];
  // a late row of an earlier step is written into that step's bitmask, not this one
  const bitmaskInUse = failures > 0 || coldMasks.some((m) => !m.done);
  // a late row deferred again: nothing writes its row of this bitmask (free rows are zero; the engine zeroes the
  // other free rows, but must not touch a deferred cold row: its LateMask reads it later)
  for (const i of s.late) if (grammarRows[i] !== 1) bitmask.fill(0, i * words, (i + 1) * words);
  for (const { i, late } of waits) {
    const state = s.live(i);
    if (!state) continue;
    if (late.done) {
      state.lateMask = null;
      state.maskDeferrals = 0;
      continue;
    }
    state.lateMask = late;
    state.maskDeferrals++;
    deferred.push(i);
  }
  for (const { i } of cached) {
    const state = s.live(i);
    if (state) state.maskDeferrals = 0;
  }
  filler.stepOver?.();
  return { deferred, bitmaskInUse, cachedRows: cached.length, coldRows: cold.length, aheadRows };
}
