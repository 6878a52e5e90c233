// Masks computed by a worker, kept in the engine thread's cache later, off the step. Caching a mask needs its key,
// and the key needs the lexer walk of the state (up to milliseconds when the state is new): the very walk the worker
// just made; storing it as a diff compares all its words. Done as each answer came in (~17 µs per answer without a
// walk), 128 answers kept the engine thread busy past the slowest worker and held the step's end (2.1–2.5 ms of a
// cold 128-mask step on 16 cores). Then an answer cost the state (parser key, lexer state) and a copy of the mask, or
// a store where the walk existed, which still held a step's last answers ~0.7 ms behind its workers (round 24). An
// answer that comes while fills are out is now only noted (its state and a view of its bitmask row); it is settled
// (stored, or copied) once the step's fills are answered, in a later turn. The store comes in later turns of the
// event loop: while a fill waits on the workers only those whose walk exists (microseconds each, between the
// workers' answers), the others when no fill does (while the forward runs). Until then a row at that state copies the
// mask the adoption holds (pooled-provider.ts), rather than going back to a worker or storing it on the step.
import type { CompiledGrammar } from './compiled-grammar.js';
import { diffMask, maskFromWalkDiff } from './mask-store.js';
import type { TokenTrie } from './token-trie.js';

/** a matcher's state within its grammar as one number (lexer states are below 2^19, parser keys far below 2^34) */
export function adoptionStateId(parserKey: number, lexState: number): number {
  return parserKey * 524288 + lexState;
}

/** one worker mask and the state it belongs to, to be stored in `cg`'s cache */
export class MaskAdoption {
  constructor(
    readonly cg: CompiledGrammar,
    private readonly trie: TokenTrie,
    private readonly parserKey: number,
    private readonly lexState: number,
    /** the lexer state is the parser's lexState (see CompiledGrammar.maskKey) */
    private readonly atLexemeStart: boolean,
    /** the caller's buffer until AdoptionQueue.push replaces it by a copy (the worker reuses the bitmask) */
    public mask: Int32Array,
    /** the mask's words that differ from its walk's mask, as the worker kept it (StoredMask.walkDiff), when known */
    private readonly walkDiff: Int32Array | null = null,
  ) {}

  /** the state within its grammar (see adoptionStateId) */
  get stateId(): number {
    return adoptionStateId(this.parserKey, this.lexState);
  }

  /** the store needs no lexer walk now (the state's shared walk exists) */
  get walked(): boolean {
    return this.cg.lexerWalk(this.lexState, this.trie, this.mask.length, true) !== null;
  }

  /** the store costs microseconds: no walk to make, no word to compare (AdoptionQueue.take stores it at once) */
  get cheap(): boolean {
    return this.walkDiff !== null && this.walked;
  }

  /**
   * computes the key (the state's walk when new) and caches the mask, kept as a diff against the walk's mask: the
   * worker's diff when it sent one (its walk of the state has the same mask as this thread's: walks are shared by
   * the state's description, which does not depend on the thread), else found by comparing every word
   */
  store(): void {
    const words = this.mask.length;
    const key = this.cg.maskKey(this.parserKey, this.cg.maskClass(this.lexState, this.trie, words), this.atLexemeStart);
    if (this.cg.cachedMask(key) !== undefined) return;
    const base = this.cg.lexerWalk(this.lexState, this.trie, words).inner;
    this.cg.storeMask(key, this.walkDiff ? maskFromWalkDiff(base, this.walkDiff) : diffMask(this.mask, base));
  }
}

/** what the queue needs of an adoption (tests pass stand-ins) */
export type Adoption = Pick<MaskAdoption, 'cg' | 'stateId' | 'walked' | 'cheap' | 'mask' | 'store'>;

/**
 * adoptions waiting at most (each holds a mask: 19 KB at 151k ids); past it new answers are not taken (not even
 * copied): an engine thread that is never idle caches fewer worker masks, and their states keep going to the workers
 */
export const MAX_WAITING_ADOPTIONS = 1024;

/** a turn of the event loop stores adoptions for this long at most (one walk may take longer: it is not cut) */
const IDLE_TURN_MS = 0.5;
/** the same while a fill waits on the workers: short, so that their answers are taken without delay */
const BUSY_TURN_MS = 0.1;

/** adoptions waiting to be stored, in turns of the event loop */
export class AdoptionQueue {
  private waiting: Adoption[] = [];
  /** adoptions that need a lexer walk, met while a fill was out: stored when none is */
  private needWalk: Adoption[] = [];
  /** the adoption waiting for each state, per grammar: a second answer for one of them is not taken */
  private readonly states = new Map<CompiledGrammar, Map<number, Adoption>>();
  /** fills waiting on the workers */
  private fills = 0;
  /** answers taken while fills were out, their masks still views of the step's bitmask (see take) */
  private deferred: Adoption[] = [];
  private flushScheduled = false;
  private scheduled = false;
  private closed = false;
  /** mask buffers of stored adoptions, reused for the next copies (one width per provider) */
  private readonly spare: Int32Array[] = [];
  /**
   * stored (atOnce of them when taken: cheap), dropped (not taken: queue full), failed (the store threw: its state's
   * next mask meets the error itself), duplicate (not taken)
   */
  readonly stats = { stored: 0, atOnce: 0, dropped: 0, failed: 0, duplicate: 0 };

  /** adoptions waiting (noted ones included) */
  get length(): number {
    return this.waiting.length + this.needWalk.length + this.deferred.length;
  }

  /**
   * the adoption waiting for this state of `cg`, if there is one: its mask is the state's (a copy the queue holds
   * until the adoption is stored, in a later turn of the event loop; for an answer noted while fills are out, the
   * step's bitmask row itself, settled before that bitmask is written again), so the engine thread can copy it rather than
   * send the state back to a worker, without storing it now (its walk, when new, and the compare of every word
   * would be done on the step)
   */
  waitingFor(cg: CompiledGrammar, stateId: number): Adoption | undefined {
    return this.states.get(cg)?.get(stateId);
  }

  /** no room for another adoption: callers skip taking one (counted as dropped) */
  get full(): boolean {
    return this.closed || this.length >= MAX_WAITING_ADOPTIONS;
  }

  /** an answer not taken because the queue was full */
  skipped(): void {
    this.stats.dropped++;
  }

  /** a copy of `mask` in a buffer of this queue's */
  private copy(mask: Int32Array): Int32Array {
    const buf = this.spare.pop();
    if (buf && buf.length === mask.length) {
      buf.set(mask);
      return buf;
    }
    return mask.slice();
  }

  /**
   * Takes a worker's answer. While fills are out (a step is waiting on the workers) it is only noted, its mask still a
   * view of the step's bitmask: the engine thread handles every answer of a step between its own work, and a cheap
   * store (its walk looked up, its state described when new) or a 19 KB copy per answer kept the step's last rows
   * waiting ~0.7 ms on a 16-core host. Noted answers are settled once the fills are all answered or the step is over
   * (flushDeferred, in a later turn), and at the latest before the bitmask is written again (StepMaskBuffer.take).
   * Settling: a cheap adoption is stored at once (no copy of its mask); others are taken with a copy of the mask,
   * unless the state is waiting already, and stored in a later turn.
   */
  take(a: Adoption): void {
    if (this.closed) return;
    if (this.fills > 0) {
      if (!this.claim(a)) return;
      this.deferred.push(a);
      return;
    }
    this.settle(a, false);
  }

  /** takes `a` with a copy of its mask, unless its state is waiting already */
  push(a: Adoption): void {
    if (this.closed || !this.claim(a)) return;
    this.keep(a);
  }

  /** the answers noted while fills were out, settled now (see take) */
  flushDeferred(): void {
    this.flushScheduled = false;
    const noted = this.deferred;
    if (noted.length === 0) return;
    this.deferred = [];
    for (const a of noted) this.settle(a, true);
  }

  /** settles `flushDeferred` in a later turn of the event loop (once) */
  flushSoon(): void {
    if (this.flushScheduled || this.deferred.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushDeferred());
  }

  /** a cheap adoption stored now, any other kept with a copy of its mask; `claimed`: its state is noted already */
  private settle(a: Adoption, claimed: boolean): void {
    if (a.cheap) {
      this.stats.atOnce++;
      this.storeNow(a);
      if (claimed) this.unclaim(a);
      return;
    }
    if (claimed || this.claim(a)) this.keep(a);
  }

  /** notes `a` as its state's waiting adoption: false (counted) if the state has one or the queue is full */
  private claim(a: Adoption): boolean {
    let set = this.states.get(a.cg);
    if (!set) this.states.set(a.cg, (set = new Map()));
    if (set.has(a.stateId)) {
      this.stats.duplicate++;
      return false;
    }
    if (this.full) {
      this.stats.dropped++;
      return false;
    }
    set.set(a.stateId, a);
    return true;
  }

  private unclaim(a: Adoption): void {
    const set = this.states.get(a.cg)!;
    set.delete(a.stateId);
    if (set.size === 0) this.states.delete(a.cg);
  }

  /** a claimed adoption kept with a copy of its mask, stored in a later turn */
  private keep(a: Adoption): void {
    a.mask = this.copy(a.mask);
    this.waiting.push(a);
    this.schedule();
  }

  /** a fill was posted to the workers: only adoptions without a walk are stored until it is answered */
  fillStarted(): void {
    this.fills++;
  }

  fillDone(): void {
    this.fills--;
    if (this.fills === 0) this.flushSoon();
    this.schedule();
  }

  close(): void {
    this.closed = true;
    this.waiting = [];
    this.needWalk = [];
    this.deferred = [];
    this.states.clear();
  }

  private schedule(): void {
    if (this.scheduled || this.closed || (this.waiting.length === 0 && (this.fills > 0 || this.needWalk.length === 0))) return;
    this.scheduled = true;
    setImmediate(() => this.storeTurn());
  }

  private storeTurn(): void {
    this.scheduled = false;
    const start = performance.now();
    // (arrays shifted from the front: a turn handles a few dozen at most, and the queue holds at most 1,024)
    while (!this.closed && performance.now() - start < (this.fills > 0 ? BUSY_TURN_MS : IDLE_TURN_MS)) {
      let a: Adoption;
      if (this.fills === 0 && this.needWalk.length > 0) a = this.needWalk.shift()!;
      else if (this.waiting.length > 0) a = this.waiting.shift()!;
      else break;
      if (this.fills > 0 && !a.walked) {
        this.needWalk.push(a);
        continue;
      }
      this.storeAndForget(a);
    }
    this.schedule();
  }

  private storeNow(a: Adoption): void {
    try {
      a.store();
      this.stats.stored++;
    } catch {
      // a lexer limit: the state's next mask, computed wherever, meets the same error and fails its request
      this.stats.failed++;
    }
  }

  private storeAndForget(a: Adoption): void {
    this.storeNow(a);
    const set = this.states.get(a.cg)!;
    set.delete(a.stateId);
    if (set.size === 0) this.states.delete(a.cg);
    this.release(a);
  }

  private release(a: Adoption): void {
    if (this.spare.length < 64) this.spare.push(a.mask);
  }
}
