// A GrammarProvider whose cold masks are computed on worker threads. The engine thread keeps the authoritative
// matcher of every request (acceptToken is cheap and stays synchronous) and fills the rows whose mask it has cached;
// the engine hands the cold rows of every step, whatever its size, to this provider's bulk filler. Each request's
// accepted tokens are kept so the worker mirroring it can catch up with every step.
import type { BulkMaskFiller, GrammarProvider, MaskRow, RequestGrammar } from '../../engine/grammar.js';
import type { StructuredConstraint } from '../../engine/types.js';
import { constraintHash } from '../compile.js';
import type { GrammarMatcher } from '../matcher.js';
import { StructuredGrammarProvider, type GrammarProviderOptions } from '../provider.js';
import type { TokenVocab } from '../token-vocab.js';
import { AdoptionQueue, type Adoption } from '../mask-adoption.js';
import { StoredMask } from '../mask-store.js';
import { MaskWorkerPool, notOverloaded, type MaskWorkerPoolOptions, type PoolRow, type PostedFill } from './mask-worker-pool.js';
import { BY_ENGINE, claimRow } from './row-claims.js';

/**
 * default smallest step (grammar rows) handed to the workers: 1, since the engine sends only cold rows (a cold
 * mask, up to tens of ms, must never hold a step; the message costs ~0.1 ms while the forward runs)
 */
export const DEFAULT_MIN_ROWS_FOR_WORKERS = 1;

export interface PooledGrammarProviderOptions extends MaskWorkerPoolOptions, GrammarProviderOptions {
  /** steps with fewer grammar rows are filled on the engine thread (where nothing can defer a cold mask); default 1 */
  minRowsForWorkers?: number;
  /**
   * the engine thread takes an equal share of the requests of the rows it is handed and computes their masks itself
   * while the workers compute theirs (cold masks there hold the step: nothing can interrupt them); default false
   * (benchmarks compare both)
   */
  shareEngineThread?: boolean;
  /**
   * the engine thread's time limit, ms, for computing cold rows no worker has started yet once its own rows are
   * written (BulkMaskFiller.assist; only rows whose lexer walk it has, so each costs the parser's part); 0: never.
   * Default DEFAULT_ENGINE_ASSIST_MS
   */
  engineAssistMs?: number;
}

/** default engineAssistMs: within a forward pass of any model, while covering the workers' wake-up (0.3–0.9 ms) */
export const DEFAULT_ENGINE_ASSIST_MS = 1;

/**
 * the engine thread assists in slices of this long (ms), yielding between them: a worker's answer that comes while it
 * computes is handled before the next slice, not after all of them
 */
const ASSIST_SLICE_MS = 0.2;

/** the latest fill's rows the engine thread may take over (PooledGrammarProvider.assist) */
interface AssistableFill {
  posted: PostedFill;
  /** per pool row j: its grammar and offset */
  grammars: MirroredGrammar[];
  offsets: number[];
  out: Int32Array;
  /** tells the engine row j is done (or failed) */
  tell: (j: number, error: Error | null) => void;
  /** rows the engine thread computed, and their errors */
  taken: Map<number, Error | null>;
}

/** a request's grammar: the engine thread's matcher plus what its worker mirror needs */
export class MirroredGrammar implements RequestGrammar {
  /** every token accepted so far (a restarted worker rebuilds its mirror from it) */
  readonly history: number[] = [];
  /** who computes this request's masks in large steps (stable, so that thread's caches stay warm) */
  placement: 'unplaced' | 'engine' | 'workers' = 'unplaced';
  /** the walkDiff its worker sent with the mask it just answered (set while the engine is told the row is done) */
  answeredWalkDiff: Int32Array | null = null;
  /**
   * set while the engine is told of a mask it must not adopt now: one the engine thread computed itself (its cache
   * has it), or one told from its worker's written mark (adopted when the answer brings its walkDiff: adoptAnswer)
   */
  adoptsNothing = false;
  constructor(
    readonly key: number,
    readonly constraint: StructuredConstraint,
    readonly constraintKey: string,
    readonly matcher: GrammarMatcher,
    private readonly onRelease: (key: number) => void,
    private readonly adoptions: AdoptionQueue,
  ) {}

  fillNextTokenBitmask(out: Int32Array, offset: number): void {
    // a cached mask's identity is the stored mask itself: written from it, its key not made a second time
    const identity = this.cachedMaskIdentity();
    if (identity !== null) this.fillFromIdentity(identity, out, offset);
    else this.matcher.fillNextTokenBitmask(out, offset);
  }

  /** RequestGrammar.fillFromIdentity: a stored mask, the adoption waiting for this state, or the matcher's own */
  fillFromIdentity(identity: object, out: Int32Array, offset: number): void {
    if (identity instanceof StoredMask) identity.writeTo(out, offset);
    else if ((identity as Partial<Adoption>).mask instanceof Int32Array) out.set((identity as Adoption).mask, offset);
    else this.matcher.fillFromIdentity(identity, out, offset);
  }

  /** the matcher's stored masks last; an adoption does not (its copy's buffer is reused once it is stored) */
  maskIdentityLasts(identity: object): boolean {
    return this.matcher.maskIdentityLasts(identity);
  }

  acceptToken(tokenId: number): boolean {
    const ok = this.matcher.acceptToken(tokenId);
    if (ok) this.history.push(tokenId);
    return ok;
  }

  isTerminated(): boolean {
    return this.matcher.isTerminated();
  }

  /** on the engine thread's matcher: the workers' caches are their own */
  nextMaskCached(): boolean {
    return this.cachedMaskIdentity() !== null;
  }

  /**
   * the engine thread's cached mask, or else the worker mask waiting to be adopted for this state (the adoption
   * itself stands for it: fillNextTokenBitmask copies its mask), rather than sending the state back to a worker
   */
  cachedMaskIdentity(): object | null {
    return this.matcher.cachedMaskIdentity() ?? this.waitingAdoption() ?? null;
  }

  /** the adoption waiting for the current state (asked when the engine thread's cache has no mask for it) */
  private waitingAdoption(): Adoption | undefined {
    if (this.adoptions.length === 0) return undefined;
    const { cg, stateId } = this.matcher.adoptionState();
    return this.adoptions.waitingFor(cg, stateId);
  }

  /**
   * a worker computed the next mask: the engine thread's cache keeps it in a later turn (see mask-adoption.ts);
   * taking it costs a copy, once per state
   */
  adoptNextMask(mask: Int32Array): void {
    if (this.adoptsNothing) return;
    this.adoptAnswer(mask, this.answeredWalkDiff, this.history.length);
  }

  /**
   * adoptNextMask for a mask computed once the grammar had accepted `atHistory` tokens (the caller vouches that
   * `mask` still holds it): nothing if the grammar has accepted another token since (or failed to take the one the
   * worker was sent)
   */
  adoptAnswer(mask: Int32Array, walkDiff: Int32Array | null, atHistory: number): void {
    if (this.history.length !== atHistory) return;
    // a full queue takes nothing that would wait in it: checked before the state's key is even made
    if (this.adoptions.full && walkDiff === null) return this.adoptions.skipped();
    const a = this.matcher.adoptionOf(mask, walkDiff);
    if (a) this.adoptions.take(a);
  }

  release(): void {
    this.onRelease(this.key);
  }
}

export class PooledGrammarProvider implements GrammarProvider {
  /** started by the first step large enough to use it (engines that never see one never pay for the threads) */
  private pool: MaskWorkerPool | null = null;
  private readonly poolOptions: MaskWorkerPoolOptions;
  /** the engine thread's provider: authoritative matchers, and the masks of small steps */
  readonly main: StructuredGrammarProvider;
  private readonly minRows: number;
  private nextKey = 1;
  private closed = false;
  private readonly shareEngineThread: boolean;
  /** live requests placed on the engine thread / on the workers */
  private onEngine = 0;
  private onWorkers = 0;
  /** constraintKey → the side that took it first */
  private readonly home = new Map<string, 'engine' | 'workers'>();
  private readonly maxHomes: number;
  private readonly filler: BulkMaskFiller;
  /** the workers' masks waiting to be cached on the engine thread */
  readonly adoptions = new AdoptionQueue();
  private readonly engineAssistMs: number;
  /** the fills posted since the last assist (a step may post two: worker-masks.ts), the latest last */
  private assistable: AssistableFill[] = [];
  /** rows the engine thread took over from the workers, and its time on them, ms (benchmarks read them) */
  rowsAssisted = 0;
  /** rows taken ahead that the engine thread then wrote from its cache (reclaim) */
  rowsReclaimed = 0;
  /**
   * bitmasks about to be written again (BulkMaskFiller.beforeReuse): a fill's rows told from their marks are adopted
   * from its bitmask when their answers come only while this has not moved since it was posted
   */
  private reuses = 0;
  assistMs = 0;

  constructor(vocab: TokenVocab, opts: PooledGrammarProviderOptions) {
    this.minRows = opts.minRowsForWorkers ?? DEFAULT_MIN_ROWS_FOR_WORKERS;
    if (!Number.isInteger(this.minRows) || this.minRows < 1) {
      throw new Error(`structured output: minRowsForWorkers must be a positive integer, got ${opts.minRowsForWorkers}`);
    }
    // the workers' providers keep as many compiled constraints as this one
    this.main = new StructuredGrammarProvider(vocab, { maxCompiled: opts.maxCompiled });
    this.poolOptions = opts;
    this.shareEngineThread = opts.shareEngineThread ?? false;
    this.maxHomes = opts.maxCompiled ?? 256;
    this.engineAssistMs = opts.engineAssistMs ?? DEFAULT_ENGINE_ASSIST_MS;
    if (!(this.engineAssistMs >= 0)) throw new Error(`structured output: engineAssistMs must be 0 or more, got ${opts.engineAssistMs}`);
    this.filler = {
      allocate: (length) => new Int32Array(new SharedArrayBuffer(length * 4)),
      fill: (rows, out, onRowDone) => this.fillOnWorkers(rows, out, onRowDone),
      assist: () => this.assist(),
      takesAhead: (g) => this.takesAhead(g),
      reclaim: (g) => this.reclaim(g),
      pollWritten: () => this.pool?.pollWritten() ?? 0,
      whenProgress: (ms) => this.pool?.whenProgress(ms) ?? Promise.resolve(),
      stepOver: () => this.adoptions.flushSoon(),
      beforeReuse: () => {
        this.reuses++;
        this.adoptions.flushDeferred();
      },
    };
  }

  create(constraint: StructuredConstraint): MirroredGrammar {
    // compiled here first: a constraint that does not compile is refused at once (a 400), as without workers
    const matcher = this.main.create(constraint);
    const g: MirroredGrammar = new MirroredGrammar(this.nextKey++, constraint, constraintHash(constraint), matcher, () => this.release(g), this.adoptions);
    if (this.pool?.usable) this.place(g);
    return g;
  }

  /**
   * engine thread or workers, keeping the engine thread's share near 1 / (workers + 1) of the live requests; a
   * constraint keeps going where it went first while that side is not overloaded (its mask cache is warm there)
   */
  private place(g: MirroredGrammar): void {
    const pool = this.startWorkers();
    // loads in units of one thread's share
    const engineLoad = this.onEngine * pool.numWorkers;
    const workersLoad = this.onWorkers;
    let onEngine = this.shareEngineThread && engineLoad < workersLoad;
    const home = this.home.get(g.constraintKey);
    if (this.shareEngineThread && home === 'engine' && notOverloaded(engineLoad, workersLoad)) onEngine = true;
    if (home === 'workers' && notOverloaded(workersLoad, engineLoad)) onEngine = false;
    if (home === undefined) {
      this.home.set(g.constraintKey, onEngine ? 'engine' : 'workers');
      if (this.home.size > this.maxHomes) this.home.delete(this.home.keys().next().value!);
    }
    if (onEngine) {
      g.placement = 'engine';
      this.onEngine++;
      return;
    }
    g.placement = 'workers';
    this.onWorkers++;
    // its worker compiles the constraint and starts the mirror while the request waits for its first mask
    pool.prepare(g.key, g.constraint, g.constraintKey);
  }

  private release(g: MirroredGrammar): void {
    if (g.placement === 'engine') this.onEngine--;
    else if (g.placement === 'workers') {
      this.onWorkers--;
      this.pool?.drop(g.key);
    }
    g.placement = 'unplaced';
  }

  bulkFiller(numRows: number): BulkMaskFiller | null {
    if (numRows < this.minRows || this.closed) return null;
    // while the workers start (or if none could), the engine thread fills the masks itself
    return this.startWorkers().usable ? this.filler : null;
  }

  /** starts the worker threads now (they start by themselves on the first large step) */
  startWorkers(): MaskWorkerPool {
    if (this.closed) throw new Error('structured output: the grammar provider is closed');
    this.pool ??= new MaskWorkerPool(this.main.vocab, this.poolOptions);
    return this.pool;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.adoptions.close();
    await this.pool?.close();
  }

  /** BulkMaskFiller.takesAhead: a request mirrored on the workers (placed now if it was not yet) */
  private takesAhead(g: RequestGrammar): boolean {
    if (!(g instanceof MirroredGrammar)) return false;
    if (g.placement === 'unplaced') this.place(g);
    return g.placement === 'workers';
  }

  private async fillOnWorkers(rows: readonly MaskRow[], out: Int32Array, onRowDone?: (k: number, error: Error | null) => void): Promise<Array<Error | null>> {
    const grammars: MirroredGrammar[] = [];
    const errors: Array<Error | null> = new Array(rows.length).fill(null);
    const poolRows: PoolRow[] = [];
    const poolAt: number[] = [];
    /** per pool row: the tokens its grammar will have accepted at the state its mask is for */
    const atHistory: number[] = [];
    const engineAt: number[] = [];
    for (let k = 0; k < rows.length; k++) {
      const g = rows[k]!.grammar;
      if (!(g instanceof MirroredGrammar)) {
        errors[k] = new Error('structured output: a grammar not created by this provider cannot be filled on its workers');
        onRowDone?.(k, errors[k]);
        continue;
      }
      if (g.placement === 'unplaced') this.place(g);
      const pending = rows[k]!.pendingToken ?? -1;
      if (g.placement === 'engine') {
        if (pending >= 0) {
          errors[k] = new Error('structured output: internal: a row filled on the engine thread was handed over before its token was fed');
          onRowDone?.(k, errors[k]);
          continue;
        }
        engineAt.push(k);
        continue;
      }
      poolRows.push({ key: g.key, constraint: g.constraint, constraintKey: g.constraintKey, history: g.history, pendingToken: pending, offset: rows[k]!.offset });
      // the worker's mask is for the state after the pending token too
      atHistory.push(g.history.length + (pending >= 0 ? 1 : 0));
      poolAt.push(k);
      grammars.push(g);
    }
    // the workers' messages are posted before the engine thread starts on its own share; the adoptions of earlier
    // answers wait until this fill is answered
    this.adoptions.fillStarted();
    const taken = new Map<number, Error | null>();
    let assistable: AssistableFill | null = null;
    /** tells the engine pool row j is done; what adoptNextMask reads if the engine calls it while told */
    const tell = (j: number, err: Error | null, walkDiff: Int32Array | null, adopts: boolean) => {
      const g = grammars[j]!;
      g.answeredWalkDiff = walkDiff;
      g.adoptsNothing = !adopts;
      try {
        onRowDone?.(poolAt[j]!, err);
      } finally {
        g.answeredWalkDiff = null;
        g.adoptsNothing = false;
      }
    };
    const words = Math.ceil(this.main.vocab.size / 32);
    const reuses = this.reuses;
    const fromPool = this.startWorkers()
      .fill(
        poolRows,
        out,
        onRowDone && ((j, err, walkDiff, fromMark) => tell(j, err, walkDiff, !fromMark)),
        (posted) => {
          // computed on this thread: its cache has the mask
          const tellTaken = (j: number, err: Error | null) => tell(j, err, null, false);
          this.assistable.push((assistable = { posted, grammars, offsets: poolRows.map((r) => r.offset), out, tell: tellTaken, taken }));
        },
        // a row told from its mark: adopted now, from the bitmask, unless that may have been written again since
        (j, walkDiff) => {
          if (this.reuses !== reuses) return;
          const offset = poolRows[j]!.offset;
          grammars[j]!.adoptAnswer(out.subarray(offset, offset + words), walkDiff, atHistory[j]!);
        },
      )
      .finally(() => {
        this.adoptions.fillDone();
        if (assistable) this.assistable = this.assistable.filter((a) => a !== assistable);
      });
    for (const k of engineAt) {
      try {
        rows[k]!.grammar.fillNextTokenBitmask(out, rows[k]!.offset);
      } catch (e) {
        errors[k] = e instanceof Error ? e : new Error(String(e));
      }
      onRowDone?.(k, errors[k]!);
    }
    const poolErrors = await fromPool;
    poolAt.forEach((k, j) => (errors[k] = taken.has(j) ? taken.get(j)! : poolErrors[j]!));
    return errors;
  }

  /**
   * BulkMaskFiller.assist: the rows of the fills posted since the last assist that no worker has claimed yet and whose
   * lexer walk this thread has, the latest fill's first (a worker reads it after the earlier ones), each fill's from the
   * ends of the workers' lists, for up to engineAssistMs; the engine thread's matcher computes each (and keeps it in
   * its cache)
   */
  private assist(): void {
    const fills = this.assistable.reverse();
    this.assistable = [];
    if (fills.length === 0 || this.engineAssistMs === 0) return;
    const queue = fills.flatMap((a) => a.posted.order.map((j) => ({ a, j })));
    this.assistSlice(queue, 0, performance.now() + this.engineAssistMs);
  }

  /**
   * BulkMaskFiller.reclaim: the row of `g` in the fills posted since the last assist (the latest first), computed here
   * (a cache copy) if no worker has started it
   */
  private reclaim(g: RequestGrammar): boolean {
    for (let f = this.assistable.length - 1; f >= 0; f--) {
      const a = this.assistable[f]!;
      const j = a.grammars.indexOf(g as MirroredGrammar);
      if (j < 0) continue;
      if (!this.takeRow(a, j)) return false;
      this.rowsReclaimed++;
      return true;
    }
    return false;
  }

  /** row j of fill `a` computed on this thread, if it claims it before a worker does; told to the engine */
  private takeRow(a: AssistableFill, j: number): boolean {
    if (!claimRow(a.posted.claims, j, BY_ENGINE)) return false;
    let err: Error | null = null;
    try {
      a.grammars[j]!.fillNextTokenBitmask(a.out, a.offsets[j]!);
    } catch (e) {
      err = e instanceof Error ? e : new Error(String(e));
    }
    a.taken.set(j, err);
    a.tell(j, err);
    return true;
  }

  /**
   * queue[from..] for ASSIST_SLICE_MS; then the rest in a later turn of the event loop (until `until`), so that the
   * workers' answers that came meanwhile are taken first: a step ends when its last answer is
   */
  private assistSlice(queue: Array<{ a: AssistableFill; j: number }>, from: number, until: number): void {
    const start = performance.now();
    const sliceEnd = Math.min(until, start + ASSIST_SLICE_MS);
    let k = from;
    while (k < queue.length) {
      const { a, j } = queue[k++]!;
      if (!a.grammars[j]!.matcher.nextMaskWalked() || !this.takeRow(a, j)) continue;
      this.rowsAssisted++;
      if (performance.now() > sliceEnd) break;
    }
    const now = performance.now();
    this.assistMs += now - start;
    if (k < queue.length && now < until && !this.closed) setImmediate(() => this.assistSlice(queue, k, until));
  }
}
