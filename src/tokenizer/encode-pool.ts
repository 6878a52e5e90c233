// TokenizerPool: encodes prompt texts on worker threads, each with its own copy of the tokenizer (loaded from the
// folder the main one came from), so that long prompts and big batches do not hold the engine's thread.
//
// Calls made in the same tick are gathered into one batch (LLM.generate hands over all its prompts at once), split
// into a few contiguous chunks per worker (one message each) and handed to the workers as they free up; results come
// back in input order. A batch small enough that a worker round trip costs more than encoding it stays on the
// calling thread. A worker that crashes rejects the texts it held; one that cannot load the tokenizer fails the pool.
// Idle workers are unref'd, so an idle pool never keeps the process alive; close() stops them.
import type { Worker } from 'node:worker_threads';
import { planChunks } from './chunk-plan.js';
import type { EncodeJobMessage, EncodeWorkerInit, EncodeWorkerMessage, TokenizerFingerprint } from './encode-protocol.js';
import { startModuleWorker } from '../threads/start-module-worker.js';
import type { Tokenizer } from './tokenizer.js';
import type { EncodeOptions, PromptEncoder } from './types.js';

/**
 * Batches of at most this many UTF-16 units (all texts of a tick together) are encoded on the calling thread: there,
 * encoding takes no longer than what a worker round trip adds to the call (about 120 µs on the 2-core dev box, where
 * 64 chars encode in about as long; bench/engine/tokenize-prompts.md, "threshold" table).
 */
export const MAIN_THREAD_MAX_CHARS = 64;
/** chunks per worker in a batch: enough that a worker that finishes early takes more, few enough to keep messages low */
const CHUNKS_PER_WORKER = 4;
/** a chunk smaller than this costs more in messaging than it gains in spreading */
const MIN_CHUNK_CHARS = 4096;

export interface TokenizerPoolOptions {
  /** worker threads (≥ 1) */
  size: number;
  /** see MAIN_THREAD_MAX_CHARS; 0 sends everything to the workers */
  mainThreadMaxChars?: number;
  /** starts one worker; tests pass one that fails */
  startWorker?: (init: EncodeWorkerInit) => Worker;
}

interface PendingText {
  text: string;
  resolve: (ids: number[]) => void;
  reject: (e: Error) => void;
}

interface Job {
  id: number;
  items: PendingText[];
  addSpecialTokens: boolean;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  job: Job | null;
  refd: boolean;
  /** the uncaught error that ended the worker ('error' comes before 'exit') */
  error: Error | null;
}

function startEncodeWorker(init: EncodeWorkerInit): Worker {
  return startModuleWorker(import.meta.url, 'encode-worker', { workerData: init });
}

export class TokenizerPool implements PromptEncoder {
  readonly threads: number;
  private readonly dir: string;
  private readonly expected: TokenizerFingerprint;
  private readonly mainThreadMaxChars: number;
  private readonly startWorker: (init: EncodeWorkerInit) => Worker;
  private readonly slots: Slot[] = [];
  /** texts of this tick, by addSpecialTokens, waiting for the flush at the end of the tick */
  private readonly gathering = new Map<boolean, PendingText[]>();
  private flushQueued = false;
  private readonly queue: Job[] = [];
  private nextJobId = 0;
  private nextSlotIndex = 0;
  private failure: Error | null = null;
  private closed = false;
  private readonly ready: Promise<void>;
  private settleReady!: (err: Error | null) => void;
  /** someone awaits whenReady(): loading workers keep the process alive */
  private readyWanted = false;

  constructor(private readonly tokenizer: Tokenizer, opts: TokenizerPoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new Error(`tokenizer pool size must be a positive integer, got ${opts.size}`);
    const maxChars = opts.mainThreadMaxChars ?? MAIN_THREAD_MAX_CHARS;
    if (!Number.isFinite(maxChars) || maxChars < 0) throw new Error(`mainThreadMaxChars must be ≥ 0, got ${maxChars}`);
    this.threads = opts.size;
    this.dir = tokenizer.sourceDir;
    this.expected = { size: tokenizer.size, eosTokenId: tokenizer.eosTokenId, bosTokenId: tokenizer.bosTokenId, padTokenId: tokenizer.padTokenId };
    this.mainThreadMaxChars = maxChars;
    this.startWorker = opts.startWorker ?? startEncodeWorker;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err ? reject(err) : resolve());
    });
    this.ready.catch(() => {}); // the failure also rejects every call; awaiting `ready` is optional
    for (let i = 0; i < opts.size; i++) this.addSlot();
  }

  /** resolves once every worker has loaded the tokenizer; rejects with the pool's load failure (or on close) */
  whenReady(): Promise<void> {
    this.readyWanted = true;
    this.updateRefs();
    return this.ready;
  }

  encode(text: string, opts: EncodeOptions = {}): Promise<number[]> {
    if (typeof text !== 'string') return Promise.reject(new TypeError(`encode: the prompt must be a string, got ${typeof text}`));
    const stopped = this.stoppedError();
    if (stopped) return Promise.reject(stopped);
    const add = opts.addSpecialTokens ?? true;
    return new Promise<number[]>((resolve, reject) => {
      let list = this.gathering.get(add);
      if (!list) this.gathering.set(add, (list = []));
      list.push({ text, resolve, reject });
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  encodeMany(texts: readonly string[], opts: EncodeOptions = {}): Promise<number[][]> {
    if (!Array.isArray(texts)) return Promise.reject(new TypeError('encodeMany: texts must be an array of strings'));
    return Promise.all(texts.map((t) => this.encode(t, opts)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(new Error('the tokenizer pool was closed'));
    this.settleReady(new Error('the tokenizer pool was closed before its workers were ready'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private stoppedError(): Error | null {
    if (this.closed) return new Error('the tokenizer pool was closed');
    return this.failure;
  }

  private addSlot(): void {
    const worker = this.startWorker({ dir: this.dir });
    const slot: Slot = { index: this.nextSlotIndex++, worker, ready: false, job: null, refd: true, error: null };
    this.slots.push(slot);
    worker.on('message', (m: EncodeWorkerMessage) => this.onMessage(slot, m));
    worker.on('error', (e) => (slot.error = e));
    worker.on('exit', (code) => this.onExit(slot, code));
    this.updateRefs();
  }

  /** end of the tick: small batches are encoded here, the rest become jobs for the workers */
  private flush(): void {
    this.flushQueued = false;
    for (const [add, items] of this.gathering) {
      this.gathering.delete(add);
      const lengths = items.map((it) => it.text.length);
      if (lengths.reduce((a, b) => a + b, 0) <= this.mainThreadMaxChars) {
        for (const it of items) this.encodeHere(it, add);
        continue;
      }
      for (const [start, end] of planChunks(lengths, Math.max(1, this.slots.length) * CHUNKS_PER_WORKER, MIN_CHUNK_CHARS)) {
        this.queue.push({ id: this.nextJobId++, items: items.slice(start, end), addSpecialTokens: add });
      }
    }
    this.pump();
  }

  private encodeHere(it: PendingText, addSpecialTokens: boolean): void {
    try {
      it.resolve(this.tokenizer.encode(it.text, { addSpecialTokens }));
    } catch (e) {
      it.reject(new Error(`cannot encode the prompt: ${(e as Error).message}`));
    }
  }

  /** hands queued jobs to idle, loaded workers */
  private pump(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) break;
      if (!slot.ready || slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      const msg: EncodeJobMessage = { type: 'encode', jobId: job.id, texts: job.items.map((it) => it.text), addSpecialTokens: job.addSpecialTokens };
      slot.worker.postMessage(msg);
    }
    this.updateRefs();
  }

  /** a worker keeps the process alive only while someone waits on it: it holds a job, or loads while jobs (or whenReady) wait */
  private updateRefs(): void {
    for (const slot of this.slots) {
      const wanted = slot.job !== null || (!slot.ready && (this.queue.length > 0 || this.readyWanted));
      if (wanted === slot.refd) continue;
      if (wanted) slot.worker.ref();
      else slot.worker.unref();
      slot.refd = wanted;
    }
  }

  private onMessage(slot: Slot, m: EncodeWorkerMessage): void {
    if (this.closed || this.failure) return;
    if (m.type === 'load-failed') {
      this.fail(new Error(`the tokenizer worker pool cannot load the tokenizer from ${this.dir}: ${m.message}`));
    } else if (m.type === 'ready') {
      const mismatch = (Object.keys(this.expected) as Array<keyof TokenizerFingerprint>).find((k) => m.fingerprint[k] !== this.expected[k]);
      if (mismatch) {
        this.fail(new Error(
          `the tokenizer worker pool loaded a different tokenizer from ${this.dir} (${mismatch} ${m.fingerprint[mismatch]}, ` +
            `the engine's has ${this.expected[mismatch]}): did the files change since the engine loaded them?`,
        ));
        return;
      }
      slot.ready = true;
      if (this.slots.every((s) => s.ready)) {
        this.readyWanted = false;
        this.settleReady(null);
      }
      this.pump();
    } else {
      const job = slot.job;
      if (!job || job.id !== m.jobId) {
        this.fail(new Error(`tokenizer worker ${slot.index} answered job ${m.jobId}, which it was not given`));
        return;
      }
      slot.job = null;
      const errors = new Map(m.errors.map((e) => [e.index, e.message]));
      let offset = 0;
      job.items.forEach((it, i) => {
        const len = m.lengths[i]!;
        const message = errors.get(i);
        if (message !== undefined) it.reject(new Error(`cannot encode the prompt: ${message}`));
        else it.resolve(Array.from(m.ids.subarray(offset, offset + len)));
        offset += len;
      });
      this.pump();
    }
  }

  private onExit(slot: Slot, code: number): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    if (this.closed || this.failure) return;
    const why = slot.error ? slot.error.message : `exit code ${code}`;
    if (!slot.ready) {
      this.fail(new Error(`the tokenizer worker pool cannot load the tokenizer from ${this.dir}: a worker stopped while loading it (${why})`));
      return;
    }
    // the texts it held fail; the others go on, and a fresh worker takes its place
    const job = slot.job;
    if (job) {
      const err = new Error(`tokenizer worker ${slot.index} crashed while encoding ${job.items.length} prompt(s): ${why}`);
      for (const it of job.items) it.reject(err);
    }
    this.addSlot();
    this.pump();
  }

  /** the pool cannot work (a load failure): every call, now and later, rejects with `err` */
  private fail(err: Error): void {
    this.failure = err;
    this.rejectAll(err);
    this.settleReady(err);
    for (const slot of this.slots) void slot.worker.terminate();
  }

  private rejectAll(err: Error): void {
    for (const items of this.gathering.values()) for (const it of items) it.reject(err);
    this.gathering.clear();
    for (const job of this.queue.splice(0)) for (const it of job.items) it.reject(err);
    for (const slot of this.slots) {
      if (slot.job) for (const it of slot.job.items) it.reject(err);
      slot.job = null;
    }
  }
}
