// What a lexer state's mask class is made of, kept once for every grammar over the same walk cache (one token trie)
// and shared lexer (its state ids). A grammar meeting a lexer state for the first time described the state, looked
// up its shared walk and built strings for its class: ~1.5 µs of every first request's masks at the median, mostly
// for states other grammars had met already. These parts do not depend on the grammar (shared lexeme ids only), nor
// does a parser-free state's mask.
import type { StoredMask } from './mask-store.js';
import { MaskMemos } from './mask-memo.js';

export interface StateClass {
  /** the key of the state's shared walk in the walk cache */
  sharedKey: string;
  /** the shared lexeme ids of its description's slots (the walk's boundary groups name slots) */
  slotLexemes: Int32Array;
  /** the key of the state's mask class (CompiledGrammar.maskClass) */
  classKey: string;
  /** the class's masks cannot depend on the parser (see CompiledGrammar.maskKey) */
  parserFree: boolean;
}

/** states kept per store (a full store keeps what it has: grammars then describe further states themselves) */
const MAX_STATES = 1 << 17;
/**
 * parser-free states whose mask is kept here, the oldest dropped first: each may hold a 19 KB walk mask (and the block
 * it was cut from) that the walk cache dropped, so not one per state (mask-bench's 250 schemas meet 688)
 */
const MAX_WALK_MASKS = 1024;

export class StateClasses {
  private readonly byState = new Map<number, StateClass>();
  private readonly walkMasks = new Map<number, StoredMask>();
  /** masks by the parser's answers, per mask class (mask-memo.ts) */
  readonly memos = new MaskMemos();

  get(lexState: number): StateClass | undefined {
    return this.byState.get(lexState);
  }

  set(lexState: number, c: StateClass): void {
    if (this.byState.size < MAX_STATES) this.byState.set(lexState, c);
  }

  /** the mask of parser-free state `lexState` (its walk's: CompiledGrammar.parserFreeMask), where kept */
  walkMask(lexState: number): StoredMask | undefined {
    return this.walkMasks.get(lexState);
  }

  setWalkMask(lexState: number, mask: StoredMask): void {
    if (this.walkMasks.size >= MAX_WALK_MASKS) this.walkMasks.delete(this.walkMasks.keys().next().value!);
    this.walkMasks.set(lexState, mask);
  }
}

const stores = new WeakMap<object, WeakMap<object, StateClasses[]>>();

/** the store of the grammars over walk cache `walks` and shared lexer `lexer`, with walks split at the quote or not */
export function stateClassesFor(walks: object, lexer: object, splitAtQuote: boolean): StateClasses {
  let byLexer = stores.get(walks);
  if (!byLexer) stores.set(walks, (byLexer = new WeakMap()));
  let pair = byLexer.get(lexer);
  if (!pair) byLexer.set(lexer, (pair = [new StateClasses(), new StateClasses()]));
  return pair[splitAtQuote ? 1 : 0]!;
}
