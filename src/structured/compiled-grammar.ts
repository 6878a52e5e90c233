// A compiled constraint: grammar + lazily built lexer DFA + the mask cache shared by every request using it.
import { Grammar } from './grammar.js';
import { LexerDfa } from './lexer-dfa.js';
import { SetKeyInterner } from './earley.js';
import { LexerWalk, LexerWalkCache, describeState, walkLexer } from './lexer-walk.js';
import type { TokenTrie } from './token-trie.js';
import { splitDescription, walkSplitAtQuote } from './string-body-split.js';

const MAX_CACHED_MASKS = 4096;
const MAX_CACHED_WALKS = 1024;
/** mask keys are parserStateKey * 2^20 + mask class */
export const MASK_CLASS_SPACE = 1048576;
const MAX_MASK_CLASSES = MASK_CLASS_SPACE;

export class CompiledGrammar {
  readonly dfa: LexerDfa;
  readonly keys = new SetKeyInterner();
  private readonly masks = new Map<number, Int32Array>();

  /**
   * `splitAtQuote` false: every lexer walk crosses the whole trie (the exact reference the tests compare the
   * split walks of string-body-split.ts against). Grammars with different settings need different walk caches.
   */
  constructor(
    readonly grammar: Grammar,
    private readonly sharedWalks: LexerWalkCache = new LexerWalkCache(),
    private readonly splitAtQuote = true,
  ) {
    this.dfa = new LexerDfa(grammar.lexemes);
  }

  private readonly walks = new Map<number, LexerWalk & { classKey: string }>();
  /** lexer state -> its mask class; a class's id by its key (maskClass) */
  private readonly maskClassOf = new Map<number, number>();
  private readonly maskClassIds = new Map<string, number>();

  lexerWalk(lexState: number, trie: TokenTrie, words: number): LexerWalk & { classKey: string } {
    let w = this.walks.get(lexState);
    if (!w) {
      // split walks are told apart from whole-trie walks of equal description (their keys start with 'S')
      const split = this.splitAtQuote ? splitDescription(this.dfa, trie, lexState) : null;
      const canon = split ?? describeState(this.dfa, trie, lexState);
      const shared = this.sharedWalks.get(split ? `S${canon.key}` : canon.key, () => {
        if (!split) return walkLexer(this.dfa, trie, lexState, words, canon);
        this.sharedWalks.stats.split++;
        return walkSplitAtQuote(this.dfa, trie, lexState, words, canon);
      });
      w = {
        classKey: `${split ? 'S' : ''}${canon.key}|${canon.slotLexemes.join(',')}`,
        trie: shared.trie,
        inner: shared.inner,
        boundaryNodes: shared.boundaryNodes,
        deepNodes: shared.deepNodes,
        boundaryAccepting: mapSlots(shared.boundarySlots, canon.slotLexemes),
      };
      if (this.walks.size < MAX_CACHED_WALKS) this.walks.set(lexState, w);
    }
    return w;
  }

  /**
   * The mask cache's stand-in for a lexer state. States whose walk is shared whole (no deep nodes walked from the exact
   * state) and that map the walk's lexeme slots and accept alike give the same mask for a given parser state, so
   * they share one class: e.g. the body of a string without maxLength, whose states differ only by a room count
   * that no token can reach — one mask per parser state instead of one per character of the string (which filled
   * the mask cache and made later masks cold). States with deep nodes are their own class.
   */
  maskClass(lexState: number, trie: TokenTrie, words: number): number {
    let id = this.maskClassOf.get(lexState);
    if (id !== undefined) return id;
    const w = this.lexerWalk(lexState, trie, words);
    const key =
      w.deepNodes.length > 0
        ? `L${lexState}`
        : `${w.classKey}|${this.dfa.accepting[lexState]!.join(',')}`;
    id = this.maskClassIds.get(key);
    if (id === undefined) {
      if (this.maskClassIds.size >= MAX_MASK_CLASSES) {
        // mask keys hold the class in 20 bits: start over rather than let two classes share an id
        this.maskClassIds.clear();
        this.maskClassOf.clear();
        this.masks.clear();
      }
      id = this.maskClassIds.size;
      this.maskClassIds.set(key, id);
    }
    this.maskClassOf.set(lexState, id);
    return id;
  }

  cachedMask(key: number): Int32Array | undefined {
    return this.masks.get(key);
  }

  storeMask(key: number, mask: Int32Array): void {
    // a full cache keeps what it has: the hot states of a schema are met first
    if (this.masks.size < MAX_CACHED_MASKS) this.masks.set(key, mask);
  }
}

/** slot lists (shared objects for equal lists) to this grammar's sorted lexeme ids, each list mapped once */
function mapSlots(lists: Int32Array[], slotLexemes: Int32Array): Int32Array[] {
  const mapped = new Map<Int32Array, Int32Array>();
  return lists.map((slots) => {
    let ids = mapped.get(slots);
    if (!ids) mapped.set(slots, (ids = Int32Array.from(slots, (i) => slotLexemes[i]!).sort()));
    return ids;
  });
}
