// Tokens that open a JSON string and stay inside it. Where a mask's walk crosses a `"` that opens a string whose
// state continues as an unconstrained string body (an object key where other properties are allowed, a string value
// without pattern, format or a length close to a token's), every token of that quote node's subtree with no further
// `"` is allowed exactly when the unconstrained body accepts the bytes after the quote (LexerDfa.continuesAsAnyStringBody):
// the same token list for every grammar and parser state, kept per trie node. The walk then visits only the parts
// of the subtree that lead to a second quote, where the string ends and the grammar decides. After a space or a
// newline this subtree is ~600 trie nodes for Qwen3, each stepped through a lexer state of its own grammar (new
// lexer-DFA states along every property name): most of a first request's masks at the start of an object.
import { ANY_CHAR, ch, jsonSpelled, rep, seq } from './regex-ast.js';
import { LexemeTable } from './lexeme-table.js';
import { LexerDfa } from './lexer-dfa.js';
import { BYTE_DEPTH, DEPTH_MASK, NODE_STRIDE, SET_AT, SUBTREE_END, type TokenTrie } from './token-trie.js';

export const QUOTE = 0x22;

/** the unconstrained JSON string (`"`, any body, `"`) and its state right after the opening quote */
export interface UnconstrainedBody {
  dfa: LexerDfa;
  /** the state after the opening quote */
  start: number;
}

let body: UnconstrainedBody | null = null;

/** the process's unconstrained string DFA (its own lexeme table: shared by every trie and grammar) */
export function unconstrainedBody(): UnconstrainedBody {
  if (body) return body;
  const lexemes = new LexemeTable();
  lexemes.add(seq([ch(QUOTE), jsonSpelled(rep(ANY_CHAR, 0, Infinity)), ch(QUOTE)]), 'raw');
  const dfa = new LexerDfa(lexemes);
  body = { dfa, start: dfa.next(dfa.initial([0]), QUOTE) };
  return body;
}

/** quote nodes' lists kept per trie (a trie has a few thousand quote nodes; walks reach far fewer) */
const MAX_LISTS = 65536;
const listsOf = new WeakMap<TokenTrie, Map<number, Int32Array>>();
let stack = new Int32Array(64);
/** lists computed, and lists handed to masks (tests and benches read these) */
export const stringOpenStats = { lists: 0, uses: 0 };

/**
 * The tokens below quote node `node` (its own excluded) whose bytes after the quote hold no `"` and keep the
 * unconstrained string body alive: computed on first use, then shared.
 */
export function tokensInsideOpenedString(trie: TokenTrie, node: number): Int32Array {
  let lists = listsOf.get(trie);
  if (!lists) listsOf.set(trie, (lists = new Map()));
  stringOpenStats.uses++;
  let list = lists.get(node);
  if (list) return list;
  stringOpenStats.lists++;
  const { dfa, start } = unconstrainedBody();
  const { nodes, tokenOrder, tokenStart } = trie;
  if (stack.length < trie.maxDepth + 1) stack = new Int32Array(trie.maxDepth + 1);
  const states = stack;
  const tokens: number[] = [];
  states[trie.depthOf(node)] = start;
  for (let i = node + 1, end = trie.endOf(node); i < end; ) {
    const at = NODE_STRIDE * i;
    const byteDepth = nodes[at + BYTE_DEPTH]!;
    const b = byteDepth & 0xff;
    const d = (byteDepth >>> 8) & DEPTH_MASK;
    const s = b === QUOTE ? -1 : dfa.next(states[d - 1]!, b);
    if (s < 0) {
      i = nodes[at + SUBTREE_END]!;
      continue;
    }
    states[d] = s;
    for (let k = tokenStart[i]!, e = tokenStart[i + 1]!; k < e; k++) tokens.push(tokenOrder[k]!);
    i++;
  }
  list = Int32Array.from(tokens);
  if (lists.size < MAX_LISTS) lists.set(node, list);
  return list;
}

/** the word and bit of the quote byte in a subtree byte set (TokenTrie.subtreeBytes) */
const QUOTE_WORD = QUOTE >>> 5;
const QUOTE_BIT = 1 << (QUOTE & 31);

/**
 * Can node i's subtree (i included) be left out of a walk inside an opened string: it has a byte set and no `"` in
 * it, so all its tokens are in the opening quote's list or rejected. (Subtrees too small for a byte set are walked.)
 */
export function quoteFreeSubtree(trie: TokenTrie, i: number): boolean {
  const setAt = trie.nodes[NODE_STRIDE * i + SET_AT]!;
  return setAt >= 0 && (trie.subtreeBytes[8 * setAt + QUOTE_WORD]! & QUOTE_BIT) === 0;
}
