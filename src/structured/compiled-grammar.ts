// A compiled constraint: grammar + lazily built lexer DFA + the mask cache shared by every request using it.
import { Grammar } from './grammar.js';
import { LexerDfa } from './lexer-dfa.js';
import { SetKeyInterner } from './earley.js';
import { LexerWalk, LexerWalkCache, describeState, walkLexer } from './lexer-walk.js';
import type { TokenTrie } from './token-trie.js';
import { splitDescription, walkSplitAtQuote } from './string-body-split.js';

const MAX_CACHED_MASKS = 4096;
const MAX_CACHED_WALKS = 1024;

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

  private readonly walks = new Map<number, LexerWalk>();

  lexerWalk(lexState: number, trie: TokenTrie, words: number): LexerWalk {
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
