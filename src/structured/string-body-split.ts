// Lexer walks from inside JSON strings, split at the quote. Inside an object key where other properties are
// allowed, the lexer state is "any string except the declared names, or one of the names": a state of its own
// per object schema, and a walk from it would cross the whole token trie (~333k nodes for Qwen3). But until a
// token's `"` byte, such a state accepts exactly what the body of an unconstrained string accepts (tokens cannot
// tell the branches apart before the closing quote; LexerDfa.continuesAsAnyStringBody checks this per state).
// So its walk is the unconstrained string body's walk (one per token trie, shared by every schema) for tokens
// without a `"`, plus an exact walk over the small trie of the tokens that contain one (~2k nodes for Qwen3),
// where the key ends and the parser decides which branch it was.
import { ANY_CHAR, ch, jsonSpelled, rep, seq } from './regex-ast.js';
import { LexemeTable } from './lexeme-table.js';
import { LexerDfa } from './lexer-dfa.js';
import { type SharedLexerWalk, describeState, walkLexer } from './lexer-walk.js';
import { TokenTrie } from './token-trie.js';

const QUOTE = 0x22;

interface QuoteSplit {
  /** the tokens whose bytes contain a `"` */
  quoteTrie: TokenTrie;
  /** bitmask of the text tokens without a `"` */
  withoutQuote: Int32Array;
  /** the walk from inside an unconstrained JSON string (`"` then any body), over the whole trie */
  anyBody: SharedLexerWalk;
}

const splits = new WeakMap<TokenTrie, QuoteSplit>();

function quoteSplit(trie: TokenTrie, words: number): QuoteSplit {
  let q = splits.get(trie);
  if (q) return q;
  const { vocab } = trie;
  const withoutQuote = new Int32Array(words);
  const quoted = vocab.tokenBytes.map((b, id) => {
    if (!b || b.length === 0) return null;
    if (b.includes(QUOTE)) return b;
    withoutQuote[id >>> 5] |= 1 << (id & 31);
    return null;
  });
  const quoteTrie = new TokenTrie({ size: vocab.size, tokenBytes: quoted, eosIds: [] });
  const lexemes = new LexemeTable();
  lexemes.add(seq([ch(QUOTE), jsonSpelled(rep(ANY_CHAR, 0, Infinity)), ch(QUOTE)]), 'raw');
  const dfa = new LexerDfa(lexemes);
  const body = dfa.next(dfa.initial([0]), QUOTE);
  if (!dfa.continuesAsAnyStringBody(body, trie.maxDepth + 1)) throw new Error('internal: the unconstrained string body is not recognized as one');
  const anyBody = walkLexer(dfa, trie, body, words);
  if (anyBody.deepNodes.length > 0) throw new Error('internal: the unconstrained string body walk stopped early');
  q = { quoteTrie, withoutQuote, anyBody };
  splits.set(trie, q);
  return q;
}

/**
 * The walk from `start` (for which dfa.continuesAsAnyStringBody(start, trie.maxDepth + 1) holds), with its
 * boundary and deep nodes in the quote trie.
 */
export function walkSplitAtQuote(dfa: LexerDfa, trie: TokenTrie, start: number, words: number): SharedLexerWalk {
  const split = quoteSplit(trie, words);
  const quoted = walkLexer(dfa, split.quoteTrie, start, words, describeState(dfa, trie, start));
  const inner = quoted.inner;
  const body = split.anyBody.inner;
  const without = split.withoutQuote;
  for (let w = 0; w < words; w++) inner[w] |= body[w]! & without[w]!;
  return quoted;
}
