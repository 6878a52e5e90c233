// The engine's hook for structured output. The engine knows nothing about grammars: a request with a
// `structured` constraint gets a RequestGrammar from the provider, which fills its row of the int32 bitmask
// before sampling and is told every accepted token.
import type { StructuredConstraint } from './types.js';

export interface RequestGrammar {
  /** write the allowed-token bitmask (bit t of word t>>5 set = token t allowed) at out[offset .. offset+words) */
  fillNextTokenBitmask(out: Int32Array, offset: number): void;
  /** advance by a sampled token; false if the token was not allowed (the engine then ends the request with an error) */
  acceptToken(tokenId: number): boolean;
  /** the grammar has reached an accepting state and allows nothing but EOS */
  isTerminated(): boolean;
  /** the request is over: drop whatever the provider keeps for it elsewhere (e.g. a worker thread's mirror) */
  release?(): void;
  /**
   * the next mask is a cache copy (microseconds) on this thread; false: it must be computed (a cold mask, up to tens
   * of ms). Asked without computing anything. With a bulk filler, cold rows (and grammars that cannot tell) go to
   * its threads and cached ones are filled on the engine thread.
   */
  nextMaskCached?(): boolean;
  /**
   * nextMaskCached's answer as the cached mask itself: an object standing for the next mask when it is a cache copy
   * on this thread (grammars answering the same object have equal masks: the engine writes one row and points the
   * others at it, StepBatch.grammarSameAs), null when it must be computed. Asked without computing anything.
   */
  cachedMaskIdentity?(): object | null;
  /**
   * writes the mask `identity` stands for: what cachedMaskIdentity() just answered (not null), the grammar not moved
   * since. Writes it without finding it again (the engine asked once per row already).
   */
  fillFromIdentity?(identity: object, out: Int32Array, offset: number): void;
  /**
   * the mask `identity` (as cachedMaskIdentity answered) stands for never changes while the object lives (a cache
   * entry, not a buffer that is reused): a row of a reused bitmask written from it still holds that mask at a later
   * step if nothing wrote the row since, and is not written again
   */
  maskIdentityLasts?(identity: object): boolean;
  /**
   * `mask` is the next mask, computed elsewhere (a mask worker) for the current state: keep it in this thread's
   * cache, so that the next request reaching this state is a cached row here instead of another worker round trip
   */
  adoptNextMask?(mask: Int32Array): void;
}

/** writes a cached row: from the identity the engine was told, where the grammar can (see fillFromIdentity) */
export function fillCachedRow(grammar: RequestGrammar, identity: object | null, out: Int32Array, offset: number): void {
  if (identity !== null && grammar.fillFromIdentity) grammar.fillFromIdentity(identity, out, offset);
  else grammar.fillNextTokenBitmask(out, offset);
}

/** what each row of a reused bitmask holds: the lasting mask identity it was written from, else null (see StepMaskBuffer) */
export interface HeldRows {
  holds(row: number, identity: object): boolean;
  /** row now holds `identity`'s mask (null: something else, or unknown) */
  hold(row: number, identity: object | null): void;
}

/**
 * writes row `row` (at `offset`) of a reused bitmask with the grammar's next mask, unless the row holds it already:
 * written from the same lasting identity at an earlier step (a request inside a long string value keeps one mask)
 */
export function writeMaskRow(grammar: RequestGrammar, identity: object | null, out: Int32Array, offset: number, row: number, held: HeldRows): void {
  const lasting = identity !== null && grammar.maskIdentityLasts?.(identity) === true ? identity : null;
  if (lasting !== null && held.holds(row, lasting)) return;
  fillCachedRow(grammar, identity, out, offset);
  held.hold(row, lasting);
}

/** one row of a bulk mask fill: the request's grammar and where its row starts in the bitmask */
export interface MaskRow {
  grammar: RequestGrammar;
  offset: number;
  /**
   * a token the engine thread has not fed the grammar yet (BulkMaskFiller.takesAhead): the filler's thread feeds it
   * before the mask, while the engine thread feeds its own matcher; absent or -1: none
   */
  pendingToken?: number;
}

/** fills many rows' masks at once off the engine's thread (worker threads) */
export interface BulkMaskFiller {
  /** a zeroed bitmask of `length` words that the filler's threads can write into directly */
  allocate(length: number): Int32Array;
  /**
   * fills every row; resolves per row with null (filled) or the error that ends that row's request. Never rejects:
   * a failing thread fails its rows only. `onRowDone(k, error)` is told as soon as row k is known (before the promise
   * resolves): the engine samples the rows that are done and defers the others when the logits are ready. Rows are
   * written only into `out`; a fill may still be running when the next one starts (a deferred row's), and its
   * `out` is then one the engine no longer hands to a backend.
   */
  fill(rows: readonly MaskRow[], out: Int32Array, onRowDone?: (k: number, error: Error | null) => void): Promise<Array<Error | null>>;
  /**
   * the calling (engine) thread, done with its own rows, computes rows of the step's fills that no other thread has
   * started and that are cheap to compute, for a bounded time; each is told through that fill's onRowDone
   */
  assist?(): void;
  /**
   * whether `fill` can take this grammar's row before the engine thread feeds it its pending token
   * (MaskRow.pendingToken): the row's mask is then computed only off the engine thread (a row answered within the
   * fill call, before that feed, is filled but its mask is not adopted)
   */
  takesAhead?(grammar: RequestGrammar): boolean;
  /**
   * a row taken ahead whose mask the engine thread found cached once it fed the token: if no other thread has started
   * it, the filler writes it now from that cache and tells it done (its fill's onRowDone); returns whether it did
   */
  reclaim?(grammar: RequestGrammar): boolean;
  /**
   * tells (each through its fill's onRowDone) the rows the filler's threads have written since the last call, before
   * their threads' answers come (those may wait behind others on the engine thread); returns how many
   */
  pollWritten?(): number;
  /** resolves once the filler's threads have written another row since the last pollWritten, or after `timeoutMs` */
  whenProgress?(timeoutMs: number): Promise<unknown>;
  /**
   * the step's rows are all filled or deferred: work the filler held back so as not to delay them (reading the
   * step's answers into the engine thread's caches) may run in a later turn
   */
  stepOver?(): void;
  /**
   * a bitmask this filler allocated is about to be written for a new step (StepMaskBuffer.take): whatever still
   * reads the last step's rows from it reads them now
   */
  beforeReuse?(): void;
}

export interface GrammarProvider {
  /** compile (cached) and start a matcher; throws a clear error naming the unsupported keyword or syntax error */
  create(constraint: StructuredConstraint): RequestGrammar;
  /**
   * the bulk filler to use for a step with this many grammar rows, or null to fill them one by one on the engine's
   * thread (no worker pool, or its threads are still starting)
   */
  bulkFiller?(numRows: number): BulkMaskFiller | null;
  /**
   * builds now what the first constraint would build (the vocabulary, the token trie, the mask workers), so that a
   * first structured request does not stall the running batch (`serve` calls it at start-up)
   */
  prepare?(): void;
  /** stops the provider's threads (engine shutdown) */
  close?(): Promise<void>;
}
