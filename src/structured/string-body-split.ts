// Lexer walks from inside JSON strings, split at the quote. Inside an object key where other properties are
// allowed, the lexer state is "any string except the declared names, or one of the names": a state of its own
// per object schema, and a walk from it would cross the whole token trie (~333k nodes for Qwen3). But until a
// token's `"` byte, such a state accepts exactly what the body of an unconstrained string accepts (tokens cannot
// tell the branches apart before the closing quote; LexerDfa.continuesAsAnyStringBody checks this per state).
// So its walk is the unconstrained string body's walk (one per token trie, shared by every schema) for tokens
// without a `"`, plus an exact walk over the small trie of the tokens that contain one (~2k nodes for Qwen3),
// where the key ends and the parser decides which branch it was. Strings under a maxLength split alike while
// their room exceeds a split bound (SPLIT_BOUNDS): only the tokens longer than the bound are walked exactly too.
import { type CanonicalState, LexerDfa } from './lexer-dfa.js';
import { QUOTE, unconstrainedBody } from './string-open.js';
import { type SharedLexerWalk, walkLexer } from './lexer-walk.js';
import { TokenTrie, WALK_DEPTH } from './token-trie.js';

/**
 * Token length bounds of the splits for strings with room for fewer characters than the longest token has, largest
 * first: a state with room for more than `bound` characters continues as an unconstrained body for every token of
 * at most `bound` bytes, so only the tokens with a `"` or more bytes are walked exactly. WALK_DEPTH keeps the
 * exact part tiny (~4k trie nodes for Qwen3) for rooms of 65 or more; 16 (~26k nodes against ~330k for the whole
 * trie) covers the rooms of 17 to 64 characters that strings under a common maxLength (20, 32, 50, 64) spend
 * most of their characters in, where every character is a new room and so a new walk.
 */
const SPLIT_BOUNDS = [WALK_DEPTH, 16];

interface LengthSplit {
  /** the tokens with a `"` or more than `bound` bytes */
  quoteOrLongTrie: TokenTrie;
  /** bitmask of the text tokens without a `"` of at most `bound` bytes that an unconstrained string body takes */
  shortBodyTokens: Int32Array;
}

interface QuoteSplit {
  /** the tokens whose bytes contain a `"` */
  quoteTrie: TokenTrie;
  /**
   * bitmask of the text tokens without a `"` that an unconstrained string body takes: a split walk's mask starts as a
   * copy of it (a builtin copy; a loop over the words, run a few dozen times a process, took 150-400 µs unoptimized)
   */
  bodyTokens: Int32Array;
  /** per SPLIT_BOUNDS entry (for states with room for more characters than the bound, see below) */
  byLength: Map<number, LengthSplit>;
}

const splits = new WeakMap<TokenTrie, QuoteSplit>();

/**
 * Builds the split's shared parts for `trie` (idempotent): the unconstrained string body's walk crosses the
 * whole trie (137 ms inside the first such mask of a benchmark process, its DFA built from nothing), so the
 * provider calls this when it is created rather than letting the first object key of the first request pay it.
 */
export function prepareQuoteSplit(trie: TokenTrie, words: number): void {
  quoteSplit(trie, words);
}

/** whether prepareQuoteSplit has run for `trie` (tests check that providers do it up front) */
export function quoteSplitReady(trie: TokenTrie): boolean {
  return splits.has(trie);
}

function quoteSplit(trie: TokenTrie, words: number): QuoteSplit {
  let q = splits.get(trie);
  if (q) return q;
  const { vocab } = trie;
  // the walk from inside an unconstrained JSON string (`"` then any body), over the whole trie
  const { dfa, start: body } = unconstrainedBody();
  if (!dfa.continuesAsAnyStringBody(body, trie.maxDepth + 1)) throw new Error('internal: the unconstrained string body is not recognized as one');
  const anyBody = walkLexer(dfa, trie, body, words);
  if (anyBody.deepNodes.length > 0) throw new Error('internal: the unconstrained string body walk stopped early');
  // the tokens with a `"` or more than `bound` bytes, as a trie of their own, and the others that a body takes
  const splitAt = (bound: number): { exact: TokenTrie; bodyTokens: Int32Array } => {
    const bodyTokens = new Int32Array(words);
    const exactBytes = vocab.tokenBytes.map((b, id) => {
      if (!b || b.length === 0) return null;
      if (b.includes(QUOTE) || b.length > bound) return b;
      bodyTokens[id >>> 5] |= anyBody.inner[id >>> 5]! & (1 << (id & 31));
      return null;
    });
    return { exact: new TokenTrie({ size: vocab.size, tokenBytes: exactBytes, eosIds: [] }), bodyTokens };
  };
  const { exact: quoteTrie, bodyTokens } = splitAt(Infinity);
  const byLength = new Map<number, LengthSplit>();
  for (const bound of SPLIT_BOUNDS) {
    const { exact, bodyTokens: shortBodyTokens } = splitAt(bound);
    byLength.set(bound, { quoteOrLongTrie: exact, shortBodyTokens });
  }
  q = { quoteTrie, bodyTokens, byLength };
  splits.set(trie, q);
  return q;
}

/**
 * How to share the split walk from `s`, or null where the state does not continue as an unconstrained string
 * body even for tokens of at most the smallest split bound's bytes. The description is exact (no count capped at
 * WALK_DEPTH): the split walk covers the long tokens exactly, so no mask has deep nodes left to walk one by one,
 * and a string with 17–128 characters of room gets one shared walk per room, not per mask.
 */
export function splitDescription(dfa: LexerDfa, trie: TokenTrie, s: number): CanonicalState | null {
  if (splitBound(dfa, s) === null) return null;
  return dfa.canonicalState(s, trie.maxDepth + 1, trie.maxDepth + 1);
}

/** the largest split bound B such that the state continues as an unconstrained body for tokens of at most B bytes */
function splitBound(dfa: LexerDfa, s: number): number | null {
  for (const bound of SPLIT_BOUNDS) if (dfa.continuesAsAnyStringBody(s, bound + 1)) return bound;
  return null;
}

/**
 * The walk from `start` (splitDescription(dfa, trie, start) is `canon`), split at the quote:
 * - if it continues as an unconstrained string body for every token (LexerDfa.continuesAsAnyStringBody with the
 *   trie's longest token), tokens without a `"` take the shared body walk and those with one are walked exactly;
 * - otherwise (a string with room for more characters than a split bound, but fewer than the longest token has),
 *   it does so for tokens of at most the largest such bound's bytes, which cannot use up the room: those without
 *   a `"` take the shared body walk, and the rest — with a `"`, or longer — are walked exactly over their own trie.
 */
export function walkSplitAtQuote(dfa: LexerDfa, trie: TokenTrie, start: number, words: number, canon: CanonicalState): SharedLexerWalk {
  if (canon.clamped) throw new Error('internal: split walks are shared by exact descriptions');
  const split = quoteSplit(trie, words);
  const forAll = dfa.continuesAsAnyStringBody(start, trie.maxDepth + 1);
  const bound = forAll ? null : splitBound(dfa, start);
  const byLength = bound === null ? undefined : split.byLength.get(bound);
  if (!forAll && !byLength) throw new Error('internal: a split walk from a state that does not continue as a string body');
  const exact = byLength ? byLength.quoteOrLongTrie : split.quoteTrie;
  return walkLexer(dfa, exact, start, words, canon, byLength ? byLength.shortBodyTokens : split.bodyTokens);
}
