// A compiled constraint: grammar + lazily built lexer DFA + the mask cache shared by every request using it.
import { Grammar } from './grammar.js';
import { LexerDfa } from './lexer-dfa.js';
import { SetKeyInterner } from './earley.js';
import { LexerWalk, LexerWalkCache, walkLexer } from './lexer-walk.js';
import type { TokenTrie } from './token-trie.js';

const MAX_CACHED_MASKS = 4096;
const MAX_CACHED_WALKS = 1024;

export class CompiledGrammar {
  readonly dfa: LexerDfa;
  readonly keys = new SetKeyInterner();
  private readonly masks = new Map<number, Int32Array>();

  private readonly localLexeme = new Map<number, number>();

  constructor(
    readonly grammar: Grammar,
    private readonly sharedWalks: LexerWalkCache = new LexerWalkCache(),
  ) {
    this.dfa = new LexerDfa(grammar.nfa);
    grammar.nfa.lexGlobalId.forEach((g, local) => this.localLexeme.set(g, local));
  }

  private readonly walks = new Map<number, LexerWalk>();

  lexerWalk(lexState: number, trie: TokenTrie, words: number): LexerWalk {
    let w = this.walks.get(lexState);
    if (!w) {
      const shared = this.sharedWalks.get(this.dfa.canonicalKey(lexState), () => walkLexer(this.dfa, trie, lexState, words));
      w = {
        inner: shared.inner,
        boundaryNodes: shared.boundaryNodes,
        boundaryAccepting: shared.boundaryLexemes.map((ids) => Int32Array.from(ids, (g) => this.localLexeme.get(g)!).sort()),
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
