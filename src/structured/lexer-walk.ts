// The part of a mask that depends only on the lexer state: tokens whose bytes all continue the current lexeme
// (for a JSON string body: nearly the whole vocabulary), plus the trie nodes where a lexeme would end inside
// a token. A walk depends only on the lexer state's grammar-independent description, so it is computed once per
// such description and shared by every parser state, request and compiled grammar of a provider.
import { DEAD, LexerDfa } from './lexer-dfa.js';
import type { TokenTrie } from './token-trie.js';

export interface SharedLexerWalk {
  /** tokens allowed by the lexer alone, as a bitmask */
  inner: Int32Array;
  /** trie nodes whose byte cannot continue the lexeme but comes after an accepting state */
  boundaryNodes: Int32Array;
  /** for each boundary node: the process-wide ids of the lexemes that end there */
  boundaryLexemes: Int32Array[];
}

export interface LexerWalk {
  inner: Int32Array;
  boundaryNodes: Int32Array;
  /** for each boundary node: this grammar's ids of the lexemes that end there */
  boundaryAccepting: Int32Array[];
}

const MAX_SHARED_WALKS = 512;

/** per provider (one token trie): walks by lexer-state description, least recently used dropped */
export class LexerWalkCache {
  private readonly walks = new Map<string, SharedLexerWalk>();

  get(key: string, compute: () => SharedLexerWalk): SharedLexerWalk {
    let w = this.walks.get(key);
    if (w) {
      this.walks.delete(key);
    } else {
      w = compute();
      if (this.walks.size >= MAX_SHARED_WALKS) this.walks.delete(this.walks.keys().next().value!);
    }
    this.walks.set(key, w);
    return w;
  }
}

export function walkLexer(dfa: LexerDfa, trie: TokenTrie, start: number, words: number): SharedLexerWalk {
  const { nodeByte, nodeDepth, subtreeEnd, nodeToken, sameBytesNext, nodeCount } = trie;
  const inner = new Int32Array(words);
  const bn: number[] = [];
  const bl: Int32Array[] = [];
  const lexStack = new Int32Array(trie.maxDepth + 1);
  const gid = dfa.nfa.lexGlobalId;
  lexStack[0] = start;
  let trans = dfa.trans;
  let i = 1;
  while (i < nodeCount) {
    const parentLex = lexStack[nodeDepth[i]! - 1]!;
    const b = nodeByte[i]!;
    let ns = trans[parentLex]![b]!;
    if (ns === -1) {
      ns = dfa.next(parentLex, b);
      trans = dfa.trans;
    }
    if (ns === DEAD) {
      const acc = dfa.accepting[parentLex]!;
      if (acc.length > 0) {
        bn.push(i);
        bl.push(Int32Array.from(acc, (l) => gid[l]!));
      }
      i = subtreeEnd[i]!;
      continue;
    }
    lexStack[nodeDepth[i]!] = ns;
    for (let t = nodeToken[i]!; t >= 0; t = sameBytesNext[t]!) inner[t >>> 5] |= 1 << (t & 31);
    i++;
  }
  return { inner, boundaryNodes: Int32Array.from(bn), boundaryLexemes: bl };
}
