// A pool of worker threads that compute grammar masks. Each worker holds its own provider over the same vocabulary
// and mirrors the requests assigned to it; a request stays on its worker (its compiled grammar and mask caches stay
// warm there) and only its newly accepted tokens travel with each step. A worker that crashes or stops answering
// fails the rows it held in that step, is restarted, and its other requests are re-mirrored from their full output.
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../threads/start-module-worker.js';
import type { StructuredConstraint } from '../../engine/types.js';
import type { TokenVocab } from '../token-vocab.js';
import type { FromWorker, MaskWorkerInit, MirrorRow, ToWorker } from './protocol.js';
import { packVocab } from './vocab-transfer.js';

export interface MaskWorkerPoolOptions {
  numWorkers: number;
  /** compiled constraints each worker keeps (the engine thread's provider default: 256) */
  maxCompiled?: number;
  /** a worker that has not answered a step within this time is stopped and its rows fail; default 30 s */
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
  /** where the row starts in the bitmask (int32 words) */
  offset: number;
}

interface PendingFill {
  id: number;
  rows: MirrorRow[];
  resolve: (result: Array<string | null> | { failed: string }) => void;
  timer: NodeJS.Timeout;
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
  pending: PendingFill | null;
  /** why the pool stopped this worker (timeout), or its last uncaught error */
  stopReason: string | null;
  restarts: number;
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
  private busy = false;
  private closed = false;
  private readonly startWaiters: Array<() => void> = [];

  constructor(vocab: TokenVocab, opts: MaskWorkerPoolOptions) {
    if (!Number.isInteger(opts.numWorkers) || opts.numWorkers < 1) {
      throw new Error(`structured output: the mask worker pool needs at least 1 worker, got ${opts.numWorkers}`);
    }
    this.init = { vocab: packVocab(vocab), maxCompiled: opts.maxCompiled ?? 256 };
    this.fillTimeoutMs = opts.fillTimeoutMs ?? 30_000;
    this.maxRestarts = opts.maxRestarts ?? 3;
    this.onWorkerError = opts.onWorkerError ?? (() => undefined);
    for (let i = 0; i < opts.numWorkers; i++) {
      const slot: Slot = { index: i, worker: null, generation: 0, state: 'starting', load: 0, constraints: new Map(), pending: null, stopReason: null, restarts: 0 };
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
   * Resolves per row with null (filled) or the error that ends its request; never rejects. One fill at a time.
   */
  async fill(rows: readonly PoolRow[], out: Int32Array): Promise<Array<Error | null>> {
    const errors: Array<Error | null> = new Array(rows.length).fill(null);
    const failAll = (msg: string) => rows.map(() => new Error(msg));
    if (this.closed) return failAll('structured output: the mask worker pool is closed');
    if (this.busy) return failAll('structured output: the mask worker pool is already computing a step');
    if (!(out.buffer instanceof SharedArrayBuffer)) return failAll('structured output: the mask workers need a bitmask over a SharedArrayBuffer');
    this.busy = true;
    try {
      const base = out.byteOffset >> 2;
      const bySlot = new Map<Slot, Array<{ k: number; row: MirrorRow; sent: number }>>();
      rows.forEach((r, k) => {
        const slot = this.slotFor(r);
        if (!slot) {
          errors[k] = new Error('structured output: no mask worker is running');
          return;
        }
        const m = this.mirrors.get(r.key)!;
        const fresh = m.generation !== slot.generation;
        const row: MirrorRow = fresh
          ? { key: r.key, constraint: r.constraint, tokens: r.history.slice(), offset: base + r.offset }
          : { key: r.key, tokens: r.history.slice(m.synced), offset: base + r.offset };
        let list = bySlot.get(slot);
        if (!list) bySlot.set(slot, (list = []));
        list.push({ k, row, sent: r.history.length });
      });
      await Promise.all(
        [...bySlot].map(async ([slot, list]) => {
          const generation = slot.generation;
          const result = await this.send(slot, list.map((x) => x.row), out.buffer as SharedArrayBuffer);
          for (let j = 0; j < list.length; j++) {
            const { k, row, sent } = list[j]!;
            const m = this.mirrors.get(row.key);
            const err = 'failed' in result ? `structured output: mask worker ${slot.index} ${result.failed}` : result[j];
            if (err) {
              errors[k] = new Error(err);
              if (m) this.unassign(row.key, m); // the worker holds no mirror for it any more
            } else if (m) {
              m.generation = generation;
              m.synced = sent;
            }
          }
        }),
      );
      return errors;
    } finally {
      this.busy = false;
    }
  }

  /**
   * a new request: if a worker is up, assign it now and let the worker compile its constraint and start its
   * mirror in the background, so that its first step does not wait for the compile
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
        this.settle(slot, { failed: 'was shut down' });
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

  private send(slot: Slot, rows: MirrorRow[], bitmask: SharedArrayBuffer): Promise<Array<string | null> | { failed: string }> {
    return new Promise((resolve) => {
      const id = this.nextFillId++;
      const worker = slot.worker!;
      const timer = setTimeout(() => {
        slot.stopReason = `did not answer within ${this.fillTimeoutMs} ms and was stopped`;
        void worker.terminate();
      }, this.fillTimeoutMs);
      timer.unref();
      slot.pending = { id, rows, resolve, timer };
      // an answer is awaited: keep the process alive until it comes
      worker.ref();
      worker.postMessage({ type: 'fill', id, bitmask, rows } satisfies ToWorker);
    });
  }

  private settle(slot: Slot, result: Array<string | null> | { failed: string }): void {
    const p = slot.pending;
    if (!p) return;
    slot.pending = null;
    clearTimeout(p.timer);
    slot.worker?.unref();
    p.resolve(result);
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
      } else if (slot.pending?.id === msg.id) {
        this.settle(slot, msg.errors);
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
      this.settle(slot, { failed: reason });
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
