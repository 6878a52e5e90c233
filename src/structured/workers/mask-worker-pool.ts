// A pool of worker threads that compute grammar masks. Each worker holds its own provider over the same vocabulary
// and mirrors the requests assigned to it; a request stays on its worker (its compiled grammar and mask caches stay
// warm there) and only its newly accepted tokens travel with each step. A worker that crashes or stops answering
// fails the rows it held in that step, is restarted, and its other requests are re-mirrored from their full output.
// Fills may overlap: the engine moves on to its next step while a worker still computes a deferred row's cold mask.
// A worker answers its messages in order, so a later fill queues behind it there; each mirror's sync point is
// advanced when a fill is posted (what the worker will have seen by the time it reads the next one).
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../threads/start-module-worker.js';
import type { StructuredConstraint } from '../../engine/types.js';
import type { TokenVocab } from '../token-vocab.js';
import { emptyFillParts, type FillParts, type FromWorker, type MaskWorkerInit, type MirrorRow, type ToWorker } from './protocol.js';
import { packVocab } from './vocab-transfer.js';
import { BY_WORKER, TOLD, claimRow, claimedByEngine, newClaims, newProgress, tailFirst, takeWritten } from './row-claims.js';

export interface MaskWorkerPoolOptions {
  numWorkers: number;
  /** compiled constraints each worker keeps (the engine thread's provider default: 256) */
  maxCompiled?: number;
  /**
   * a worker that has not answered a step within this time (counted from the post, so including fills queued before
   * it on that worker) is stopped and its rows fail; default 30 s
   */
  fillTimeoutMs?: number;
  /** restarts of one worker after crashes before it stays down; default 3 */
  maxRestarts?: number;
  /** told when a worker fails to start, crashes or is stopped */
  onWorkerError?: (message: string) => void;
}

/** one request's row of a step */
export interface PoolRow {
  /** the request's id within the pool (stable for the request's life) */
  key: number;
  constraint: StructuredConstraint;
  /** groups requests with the same constraint (their worker's caches are shared) */
  constraintKey: string;
  /** every token the engine thread's matcher has accepted so far */
  history: readonly number[];
  /** one more token after `history`, not fed to the engine thread's matcher yet (-1 or absent: none) */
  pendingToken?: number;
  /** where the row starts in the bitmask (int32 words) */
  offset: number;
}

/** a worker's answer to one fill: per row null or its error, its mask's walkDiff, and the worker's time on it */
interface FillAnswer {
  errors: Array<string | null>;
  walkDiffs: Array<Int32Array | null>;
  parts: FillParts;
  busyMs: number;
  slowestRowMs: number;
  startedAt: number;
  busyUntil: number;
}

/**
 * told per row as its worker answers: its error, or null and its mask's walkDiff (StoredMask.walkDiff) if sent; or,
 * for a row its worker marked written, once this thread finds the mark (MaskWorkerPool.pollWritten): null, and no
 * walkDiff (the answer brings it later: RowAnswered)
 */
export type RowDone = (k: number, error: Error | null, walkDiff: Int32Array | null, fromMark?: boolean) => void;

/** a row told done from its written mark (see RowDone), when its worker's answer comes: its mask's walkDiff, if sent */
export type RowAnswered = (k: number, walkDiff: Int32Array | null) => void;

/** a fill whose answers have not all come: pollWritten reads its rows' marks */
interface LiveFill {
  claims: Int32Array;
  /** the fill's row k as told from its mark */
  tell: (k: number) => void;
}

/** a posted fill's rows that the engine thread may still take over (row-claims.ts) */
export interface PostedFill {
  /** per row k of the fill: its claim word */
  claims: Int32Array;
  /** the rows posted to workers, in the order the engine thread should try them (tailFirst) */
  order: number[];
}

interface PendingFill {
  id: number;
  rows: MirrorRow[];
  resolve: (result: FillAnswer | { failed: string }) => void;
  timer: NodeJS.Timeout;
}

/** what the workers answered so far (benchmarks and tests read it) */
export interface MaskWorkerStats {
  /** rows filled (errors not counted) */
  rowsFilled: number;
  /** of them, rows whose mask a worker computed (the others were copies from its cache) */
  rowsComputed: number;
  /** lexeme automata the workers built inside fills (the others were built when idle, or interned already) */
  automataBuiltInFills: number;
  /** grammars whose automata are still to be built when idle, as each worker's last answer told (summed) */
  idleJobs: number;
  /** the workers' time on fills, from reading each to answering it (summed) */
  busyMs: number;
  /** where that time went (summed over fills and workers) */
  parts: FillParts;
}

/**
 * one worker's answer to one fill, as times since the epoch in ms (performance.timeOrigin + performance.now()):
 * posted, read by the worker, answered by it (startedAt + busyMs) and taken by this thread (MaskWorkerPool.onAnswer)
 */
export interface AnswerTimes {
  slot: number;
  rows: number;
  postedAt: number;
  startedAt: number;
  busyMs: number;
  answeredAt: number;
}

/** the last fill's answers (benchmarks read it to tell the workers' own time from the wait for their answers) */
export interface FillTimes {
  /** the busiest worker's time on it, ms, and where it went */
  slowestBusyMs: number;
  slowestParts: FillParts | null;
  /** the slowest single row of any worker, ms */
  slowestRowMs: number;
  /** rows the busiest worker filled */
  busiestRows: number;
  /** the engine thread's time posting its messages, ms */
  postMs: number;
  /** the latest a worker started on it after its messages were posted, ms (posting, waking up, or busy before) */
  latestStartMs: number;
  /** of that worker's late start, the time it was still busy with earlier work (a message or an idle step), ms */
  latestStartBusyMs: number;
  /** the latest answer after the post, ms */
  latestAnswerMs: number;
}

interface Slot {
  index: number;
  worker: Worker | null;
  /** bumped on every (re)start: a mirror synced with an older generation is gone */
  generation: number;
  state: 'starting' | 'ready' | 'dead';
  /** requests assigned */
  load: number;
  /** constraintKey → requests with it assigned here */
  constraints: Map<string, number>;
  /** fills posted and not answered yet, oldest first (the worker answers in order) */
  pending: Map<number, PendingFill>;
  /** why the pool stopped this worker (timeout), or its last uncaught error */
  stopReason: string | null;
  restarts: number;
  /** idle jobs pending, as its last answer told */
  idleJobs: number;
}

interface Mirror {
  slot: number;
  generation: number;
  /** how many of the request's tokens the worker's mirror has accepted */
  synced: number;
  constraintKey: string;
}

/**
 * starts the worker entry next to this file: mask-worker.js once built; from the TypeScript sources (tests, benches
 * run through tsx) mask-worker.ts, after registering tsx in the new thread (Node 20 does not carry the main
 * thread's `--import tsx` loader hooks into workers)
 */
function startWorker(workerData: MaskWorkerInit): Worker {
  return startModuleWorker(import.meta.url, 'mask-worker', { workerData });
}

/** a thread may take a request of a constraint it has warm caches for while its load stays within this of the least */
export function notOverloaded(load: number, leastLoad: number): boolean {
  return load <= leastLoad * 1.25 + 2;
}

export class MaskWorkerPool {
  private readonly slots: Slot[] = [];
  private readonly mirrors = new Map<number, Mirror>();
  /** constraintKey → the worker that compiled it first (requests with it go there while it is not overloaded) */
  private readonly home = new Map<string, number>();
  private readonly init: MaskWorkerInit;
  private readonly fillTimeoutMs: number;
  private readonly maxRestarts: number;
  private readonly onWorkerError: (message: string) => void;
  private nextFillId = 1;
  private closed = false;
  private readonly startWaiters: Array<() => void> = [];
  readonly stats: MaskWorkerStats = { rowsFilled: 0, rowsComputed: 0, automataBuiltInFills: 0, idleJobs: 0, busyMs: 0, parts: emptyFillParts() };
  /** the last fill that was answered */
  lastFill: FillTimes = noFillTimes();
  /** the fills since the last takeFillTimes(), merged (see there) */
  private merged: MergedFills | null = null;
  /** told of every worker's answer as this thread takes it (benchmarks' step timelines: step-masks.ts) */
  onAnswer: ((a: AnswerTimes) => void) | null = null;
  /** bumped by the workers after each row they mark written (row-claims.ts) */
  private readonly progress = newProgress();
  /** the progress word as the last pollWritten read it, before reading the marks */
  private progressSeen = 0;
  private readonly liveFills = new Set<LiveFill>();

  constructor(vocab: TokenVocab, opts: MaskWorkerPoolOptions) {
    if (!Number.isInteger(opts.numWorkers) || opts.numWorkers < 1) {
      throw new Error(`structured output: the mask worker pool needs at least 1 worker, got ${opts.numWorkers}`);
    }
    this.init = { vocab: packVocab(vocab), maxCompiled: opts.maxCompiled ?? 256, progress: this.progress.buffer as SharedArrayBuffer };
    this.fillTimeoutMs = opts.fillTimeoutMs ?? 30_000;
    this.maxRestarts = opts.maxRestarts ?? 3;
    this.onWorkerError = opts.onWorkerError ?? (() => undefined);
    for (let i = 0; i < opts.numWorkers; i++) {
      const slot: Slot = { index: i, worker: null, generation: 0, state: 'starting', load: 0, constraints: new Map(), pending: new Map(), stopReason: null, restarts: 0, idleJobs: 0 };
      this.slots.push(slot);
      this.spawn(slot);
    }
  }

  get numWorkers(): number {
    return this.slots.length;
  }

  /** some worker is up: fill can take rows */
  get usable(): boolean {
    return !this.closed && this.slots.some((s) => s.state === 'ready');
  }

  /** resolves once every worker has started (or failed to) */
  whenStarted(): Promise<void> {
    if (this.slots.every((s) => s.state !== 'starting')) return Promise.resolve();
    return new Promise((resolve) => this.startWaiters.push(resolve));
  }

  /** the worker threads now running (diagnostics and tests) */
  threads(): Worker[] {
    return this.slots.flatMap((s) => (s.worker && s.state !== 'dead' ? [s.worker] : []));
  }

  /** which worker a request is mirrored on, or -1 */
  workerOf(key: number): number {
    return this.mirrors.get(key)?.slot ?? -1;
  }

  /**
   * brings each row's mirror up to date and writes its mask into `out` (which must view a SharedArrayBuffer).
   * Resolves per row with null (filled) or the error that ends its request; never rejects. `onRowDone(k, error)` is
   * told as each worker answers (before the promise resolves). A fill may start while an earlier one is still being
   * computed; a row of a request must not be in two fills whose results both matter (the engine waits for a
   * deferred row's next mask).
   * `onPosted` is told, once the messages are posted, which rows the caller may claim (claimRow(claims, k,
   * BY_ENGINE)) and compute itself; a row it claimed is neither told (onRowDone) nor answered (null) here.
   * A row its worker marks written may be told by pollWritten before the answer (onRowDone with no walkDiff); the
   * answer then goes to `onAnswered` (the walkDiff), or nowhere if the worker failed after writing the row.
   */
  async fill(rows: readonly PoolRow[], out: Int32Array, onRowDone?: RowDone, onPosted?: (posted: PostedFill) => void, onAnswered?: RowAnswered): Promise<Array<Error | null>> {
    const errors: Array<Error | null> = new Array(rows.length).fill(null);
    const failAll = (msg: string) => {
      const all = rows.map(() => new Error(msg));
      all.forEach((e, k) => onRowDone?.(k, e, null));
      return all;
    };
    if (this.closed) return failAll('structured output: the mask worker pool is closed');
    if (!(out.buffer instanceof SharedArrayBuffer)) return failAll('structured output: the mask workers need a bitmask over a SharedArrayBuffer');
    const base = out.byteOffset >> 2;
    const claims = newClaims(rows.length);
    const bySlot = new Map<Slot, Array<{ k: number; row: MirrorRow; mirror: Mirror }>>();
    rows.forEach((r, k) => {
      const slot = this.slotFor(r);
      if (!slot) {
        errors[k] = new Error('structured output: no mask worker is running');
        onRowDone?.(k, errors[k], null);
        return;
      }
      const m = this.mirrors.get(r.key)!;
      const fresh = m.generation !== slot.generation;
      const row: MirrorRow = fresh
        ? { key: r.key, constraint: r.constraint, tokens: r.history.slice(), offset: base + r.offset, claim: k }
        : { key: r.key, tokens: r.history.slice(m.synced), offset: base + r.offset, claim: k };
      // (the engine thread's history has it once its matcher is fed: the next fill starts after it)
      const pending = r.pendingToken ?? -1;
      if (pending >= 0) row.tokens.push(pending);
      // the worker reads this fill before any later one: the next fill sends only what comes after
      m.generation = slot.generation;
      m.synced = r.history.length + (pending >= 0 ? 1 : 0);
      let list = bySlot.get(slot);
      if (!list) bySlot.set(slot, (list = []));
      list.push({ k, row, mirror: m });
    });
    const postedAt = performance.timeOrigin + performance.now();
    // this fill's own times (lastFill), and the fills' since the last takeFillTimes()
    const own: MergedFills = { firstPostedAt: postedAt, times: noFillTimes(), bySlot: new Map() };
    const merged = (this.merged ??= { firstPostedAt: postedAt, times: noFillTimes(), bySlot: new Map() });
    // the longest lists are posted first: the worker likely to finish last starts first
    const answers = Promise.all(
      [...bySlot].sort((a, b) => b[1].length - a[1].length).map(async ([slot, list]) => {
        const result = await this.send(slot, list.map((x) => x.row), out.buffer as SharedArrayBuffer, claims.buffer as SharedArrayBuffer);
        const answeredAt = performance.timeOrigin + performance.now();
        for (const m of [own, merged]) {
          m.times.latestAnswerMs = Math.max(m.times.latestAnswerMs, answeredAt - m.firstPostedAt);
          if (!('failed' in result)) mergeAnswer(m, slot.index, list.length, result, postedAt);
        }
        if (!('failed' in result)) this.onAnswer?.({ slot: slot.index, rows: list.length, postedAt, startedAt: result.startedAt, busyMs: result.busyMs, answeredAt });
        for (let j = 0; j < list.length; j++) {
          const { k, row, mirror } = list[j]!;
          const err = 'failed' in result ? `structured output: mask worker ${slot.index} ${result.failed}` : result.errors[j];
          // the worker holds no mirror for it any more (unless it was reassigned since)
          if (err && this.mirrors.get(row.key) === mirror) this.unassign(row.key, mirror);
          // the engine thread computed its mask (and told it): the worker only synced its mirror. Claimed here for the
          // worker otherwise (a row it failed before claiming, or a crash): the engine thread must not take it now
          if (!claimRow(claims, k, BY_WORKER) && claimedByEngine(claims, k)) continue;
          // told from its mark already: its mask is written
          if (Atomics.load(claims, k) === TOLD) {
            if (!err && !('failed' in result)) onAnswered?.(k, result.walkDiffs[j] ?? null);
            continue;
          }
          if (err) errors[k] = new Error(err);
          onRowDone?.(k, errors[k]!, err || 'failed' in result ? null : (result.walkDiffs[j] ?? null));
        }
      }),
    );
    own.times.postMs = performance.timeOrigin + performance.now() - postedAt;
    merged.times.postMs += own.times.postMs;
    onPosted?.({ claims, order: tailFirst([...bySlot.values()].map((list) => list.map((x) => x.k))) });
    const live: LiveFill = { claims, tell: (k) => onRowDone?.(k, null, null, true) };
    this.liveFills.add(live);
    try {
      await answers;
    } finally {
      this.liveFills.delete(live);
    }
    this.lastFill = own.times;
    return errors;
  }

  /**
   * tells (RowDone) every row of the fills not yet answered whose worker has marked it written since the last call;
   * returns how many. whenProgress waits for the marks that come after this call
   */
  pollWritten(): number {
    this.progressSeen = Atomics.load(this.progress, 0);
    let told = 0;
    for (const f of this.liveFills) {
      for (let k = 0; k < f.claims.length; k++) {
        if (!takeWritten(f.claims, k)) continue;
        told++;
        f.tell(k);
      }
    }
    return told;
  }

  /**
   * resolves once a worker has marked a row written since the last pollWritten read the marks (at once if one did
   * already), or after `timeoutMs`. Atomics.waitAsync: the wake-up comes before the answers already waiting for
   * this thread
   */
  whenProgress(timeoutMs: number): Promise<unknown> {
    const w = Atomics.waitAsync(this.progress, 0, this.progressSeen, timeoutMs);
    return w.async ? w.value : Promise.resolve();
  }

  /**
   * the fills posted since the last call, merged as one step's (a step may post two: worker-masks.ts): a worker's
   * time, rows and parts summed over them, the latest answer after the first post; null if none (benchmarks read it)
   */
  takeFillTimes(): FillTimes | null {
    const m = this.merged;
    this.merged = null;
    return m?.times ?? null;
  }

  /**
   * a new request: if a worker is up, assign it now and let the worker compile its constraint, start its mirror and
   * compute its first mask in the background, so that its first step finds both done
   */
  prepare(key: number, constraint: StructuredConstraint, constraintKey: string): void {
    if (this.closed || this.mirrors.has(key)) return;
    const slot = this.assign(key, constraintKey);
    if (!slot) return;
    slot.worker!.postMessage({ type: 'mirror', key, constraint } satisfies ToWorker);
    const m = this.mirrors.get(key)!;
    m.generation = slot.generation;
  }

  /** the request is over: its worker forgets its mirror */
  drop(key: number): void {
    const m = this.mirrors.get(key);
    if (!m) return;
    this.unassign(key, m);
    const slot = this.slots[m.slot]!;
    if (slot.state === 'ready' && m.generation === slot.generation) slot.worker!.postMessage({ type: 'drop', keys: [key] } satisfies ToWorker);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        this.settleAll(slot, { failed: 'was shut down' });
        const w = slot.worker;
        slot.state = 'dead';
        slot.worker = null;
        if (w) await w.terminate();
      }),
    );
    for (const w of this.startWaiters.splice(0)) w();
  }

  /** the request's worker: its current one while that is up, else the least loaded (preferring warm caches) */
  private slotFor(r: PoolRow): Slot | null {
    const m = this.mirrors.get(r.key);
    if (m && this.slots[m.slot]!.state === 'ready') return this.slots[m.slot]!;
    if (m) this.unassign(r.key, m);
    return this.assign(r.key, r.constraintKey);
  }

  /**
   * the constraint's home worker (where its compiled grammar and mask cache are warm: spreading one schema over
   * every worker would compute each cold mask once per worker), unless that would leave it well above the least
   * loaded one
   */
  private assign(key: number, constraintKey: string): Slot | null {
    let least: Slot | null = null;
    for (const s of this.slots) if (s.state === 'ready' && (!least || s.load < least.load)) least = s;
    if (!least) return null;
    const homeIndex = this.home.get(constraintKey);
    const home = homeIndex !== undefined && this.slots[homeIndex]!.state === 'ready' ? this.slots[homeIndex]! : null;
    const best = home && notOverloaded(home.load, least.load) ? home : least;
    if (!home) {
      this.home.delete(constraintKey);
      this.home.set(constraintKey, best.index);
      // as many homes as a worker keeps compiled constraints
      if (this.home.size > this.init.maxCompiled) this.home.delete(this.home.keys().next().value!);
    }
    best.load++;
    best.constraints.set(constraintKey, (best.constraints.get(constraintKey) ?? 0) + 1);
    // generation -1: the worker has no mirror yet, the first fill sends the constraint
    this.mirrors.set(key, { slot: best.index, generation: -1, synced: 0, constraintKey });
    return best;
  }

  private unassign(key: number, m: Mirror): void {
    this.mirrors.delete(key);
    const s = this.slots[m.slot]!;
    s.load--;
    const n = (s.constraints.get(m.constraintKey) ?? 1) - 1;
    if (n > 0) s.constraints.set(m.constraintKey, n);
    else s.constraints.delete(m.constraintKey);
  }

  private send(slot: Slot, rows: MirrorRow[], bitmask: SharedArrayBuffer, claims: SharedArrayBuffer): Promise<FillAnswer | { failed: string }> {
    return new Promise((resolve) => {
      const id = this.nextFillId++;
      const worker = slot.worker!;
      const timer = setTimeout(() => {
        slot.stopReason = `did not answer within ${this.fillTimeoutMs} ms and was stopped`;
        void worker.terminate();
      }, this.fillTimeoutMs);
      timer.unref();
      slot.pending.set(id, { id, rows, resolve, timer });
      // an answer is awaited: keep the process alive until it comes
      worker.ref();
      worker.postMessage({ type: 'fill', id, bitmask, claims, rows } satisfies ToWorker);
    });
  }

  private settle(slot: Slot, id: number, result: FillAnswer | { failed: string }): void {
    const p = slot.pending.get(id);
    if (!p) return;
    slot.pending.delete(id);
    clearTimeout(p.timer);
    if (slot.pending.size === 0) slot.worker?.unref();
    p.resolve(result);
  }

  /** every fill posted to the worker fails (it exited or the pool closes) */
  private settleAll(slot: Slot, result: { failed: string }): void {
    for (const id of [...slot.pending.keys()]) this.settle(slot, id, result);
  }

  private spawn(slot: Slot): void {
    const generation = ++slot.generation;
    slot.state = 'starting';
    slot.stopReason = null;
    const worker = startWorker(this.init);
    slot.worker = worker;
    worker.on('message', (msg: FromWorker) => {
      if (slot.generation !== generation) return;
      if (msg.type === 'ready') {
        slot.state = 'ready';
        // an idle worker must not keep the process alive (a library user who never shuts the engine down)
        worker.unref();
        this.notifyStarted();
      } else {
        this.stats.rowsFilled += msg.errors.filter((e) => e === null).length;
        this.stats.rowsComputed += msg.computed;
        this.stats.automataBuiltInFills += msg.automataBuilt;
        this.stats.idleJobs += msg.idleJobs - slot.idleJobs;
        slot.idleJobs = msg.idleJobs;
        this.stats.busyMs += msg.busyMs;
        for (const k of Object.keys(msg.parts) as Array<keyof FillParts>) this.stats.parts[k] += msg.parts[k];
        this.settle(slot, msg.id, { errors: msg.errors, walkDiffs: msg.walkDiffs, parts: msg.parts, busyMs: msg.busyMs, slowestRowMs: msg.slowestRowMs, startedAt: msg.startedAt, busyUntil: msg.busyUntil });
      }
    });
    worker.on('error', (e) => {
      if (slot.generation === generation) slot.stopReason ??= `crashed: ${e.message}`;
    });
    worker.on('exit', (code) => {
      if (slot.generation !== generation || this.closed) return;
      const reason = slot.stopReason ?? `exited unexpectedly (exit code ${code})`;
      const wasReady = slot.state === 'ready';
      slot.worker = null;
      this.settleAll(slot, { failed: reason });
      if (wasReady && slot.restarts < this.maxRestarts) {
        slot.restarts++;
        this.onWorkerError(`structured output: mask worker ${slot.index} ${reason}; restarting it`);
        this.spawn(slot);
        return;
      }
      slot.state = 'dead';
      this.onWorkerError(`structured output: mask worker ${slot.index} ${wasReady ? reason : `failed to start: ${reason}`}; it stays down`);
      this.notifyStarted();
    });
  }

  private notifyStarted(): void {
    if (this.slots.some((s) => s.state === 'starting')) return;
    for (const w of this.startWaiters.splice(0)) w();
  }
}

function noFillTimes(): FillTimes {
  return { slowestBusyMs: 0, slowestParts: null, slowestRowMs: 0, busiestRows: 0, postMs: 0, latestStartMs: 0, latestStartBusyMs: 0, latestAnswerMs: 0 };
}

/** one fill's answers, or several merged as one step's (MaskWorkerPool.takeFillTimes): per worker, its time, rows and parts so far */
interface MergedFills {
  firstPostedAt: number;
  times: FillTimes;
  bySlot: Map<number, { busyMs: number; rows: number; parts: FillParts }>;
}

/** one worker's answer to a fill posted at `postedAt` (its latest answer time is noted by the caller) */
function mergeAnswer(m: MergedFills, slot: number, rows: number, answer: { busyMs: number; parts: FillParts; slowestRowMs: number; startedAt: number; busyUntil: number }, postedAt: number): void {
  let w = m.bySlot.get(slot);
  if (!w) m.bySlot.set(slot, (w = { busyMs: 0, rows: 0, parts: emptyFillParts() }));
  w.busyMs += answer.busyMs;
  w.rows += rows;
  for (const k of Object.keys(answer.parts) as Array<keyof FillParts>) w.parts[k] += answer.parts[k];
  const t = m.times;
  if (w.busyMs > t.slowestBusyMs) {
    t.slowestBusyMs = w.busyMs;
    t.slowestParts = { ...w.parts };
    t.busiestRows = w.rows;
  }
  t.slowestRowMs = Math.max(t.slowestRowMs, answer.slowestRowMs);
  if (answer.startedAt - postedAt >= t.latestStartMs) {
    t.latestStartMs = answer.startedAt - postedAt;
    t.latestStartBusyMs = Math.max(0, answer.busyUntil - postedAt);
  }
}
