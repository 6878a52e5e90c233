// Boundary nodes of a lexer walk at depth 1: the current lexeme ends right before the token's first byte. After
// a complete lexeme (a `:`, a closing quote, a number that may end) every token starting with a byte that cannot
// continue it is such a node — up to all 256 children of the trie's root — and walking each one's subtree from
// the next lexeme's start repeats, per mask, the work the shared walk from that start state already did. Grouped
// by the lexemes that end there, such a group's tokens are allowed exactly where the mask of the state after
// scanning those lexemes allows them (GrammarMatcher.step takes the same path for a first byte that is dead:
// scan, then go on from the parser's next lexer state), so the group costs that mask (shared walk, cached by
// parser state) ANDed with the group's tokens.
import type { SharedLexerWalk } from './lexer-walk.js';
import { newMask } from './mask-blocks.js';

/** groups with fewer depth-1 nodes are walked node by node (cheaper than a mask of the whole vocabulary) */
const MIN_GROUP_NODES = 8;

export interface RootBoundaryGroups {
  /** per group: the lexemes that end there, as slots of the walk's canonical description (a boundarySlots entry) */
  slots: Int32Array[];
  /** per group: the tokens under its nodes, as a bitmask */
  tokens: Int32Array[];
  /** indices into the walk's boundary nodes that are in no group, in trie order */
  others: Int32Array;
}

const groupsOf = new WeakMap<SharedLexerWalk, RootBoundaryGroups>();

/** the walk's depth-1 boundary groups (computed once per shared walk; grammar-independent) */
export function rootBoundaryGroups(walk: SharedLexerWalk, words: number): RootBoundaryGroups {
  let g = groupsOf.get(walk);
  if (g) return g;
  const { nodeDepth, subtreeEnd, tokenStart, tokenOrder } = walk.trie;
  const bySlots = new Map<Int32Array, number[]>();
  // only from states that no byte continues (a complete `:` or `,`): where some bytes continue the lexeme (spaces
  // after a newline), the group's first bytes mostly die at once, and walking them was cheaper than a second mask
  const final = walk.boundaryNodes.every((node) => nodeDepth[node] === 1) && walk.inner.every((w) => w === 0);
  if (final) walk.boundaryNodes.forEach((node, q) => {
    if (nodeDepth[node] !== 1) return;
    const slots = walk.boundarySlots[q]!;
    const list = bySlots.get(slots);
    if (list) list.push(q);
    else bySlots.set(slots, [q]);
  });
  const grouped = new Uint8Array(walk.boundaryNodes.length);
  g = { slots: [], tokens: [], others: new Int32Array(0) };
  for (const [slots, qs] of bySlots) {
    if (qs.length < MIN_GROUP_NODES) continue;
    const tokens = newMask(words);
    for (const q of qs) {
      grouped[q] = 1;
      const node = walk.boundaryNodes[q]!;
      for (let k = tokenStart[node]!, e = tokenStart[subtreeEnd[node]!]!; k < e; k++) {
        const t = tokenOrder[k]!;
        tokens[t >>> 5] |= 1 << (t & 31);
      }
    }
    g.slots.push(slots);
    g.tokens.push(tokens);
  }
  const others: number[] = [];
  for (let q = 0; q < grouped.length; q++) if (!grouped[q]) others.push(q);
  g.others = Int32Array.from(others);
  groupsOf.set(walk, g);
  return g;
}
