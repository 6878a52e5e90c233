// The part of a mask that depends only on the lexer state: tokens whose bytes all continue the current lexeme
// (for a JSON string body: nearly the whole vocabulary), plus the trie nodes where a lexeme would end inside
// a token. A walk depends only on the lexer state's grammar-independent description (LexerDfa.canonicalState),
// so it is computed once per such description and shared by every parser state, request and compiled grammar
// of a provider: the body of every string with more room left than a token has characters is walked once,
// whatever its schema or maxLength.
import { type CanonicalState, CHUNK_BITS, CHUNK_MASK, DEAD, LexerDfa, MAX_LOOP_RUN } from './lexer-dfa.js';
import { BYTE_DEPTH, DEPTH_MASK, depthOfField, NODE_STRIDE, SET_AT, SEVERAL_TOKENS, SUBTREE_END, TOKEN, type TokenTrie, WALK_DEPTH, WIDE_SHIFT, WIDE_STRIDE, wideChild } from './token-trie.js';
import { newMask } from './mask-blocks.js';

export interface SharedLexerWalk {
  /** the trie the node lists below index: the provider's, or a part of it (string-body-split.ts) */
  trie: TokenTrie;
  /** tokens allowed by the lexer alone, as a bitmask */
  inner: Int32Array;
  /** how many trie nodes have a byte that cannot continue the lexeme but comes after an accepting state */
  boundaryCount: number;
  /** nodes just below WALK_DEPTH that the walk reached (capped descriptions only): walked exactly per mask */
  deepNodes: ArrayLike<number>;
  /** the boundary nodes grouped by the lexemes that end there, as slots of the start state's canonical description */
  boundarySlotGroups: SlotGroup[];
  /** trie nodes the walk visited (its cost) */
  visited: number;
}

export interface LexerWalk {
  trie: TokenTrie;
  inner: Int32Array;
  boundaryCount: number;
  deepNodes: ArrayLike<number>;
  /**
   * the boundary nodes grouped by the lexemes (this grammar's ids) that end there: a mask scans each group's
   * lexemes once (most of a state's hundreds of boundary nodes share a handful of sets, and most scans fail)
   */
  boundaryGroups: BoundaryGroup[];
}

/**
 * Boundary nodes that end the same lexemes, ordered by their byte: the nodes with the j-th of their distinct bytes
 * (ascending) are nodes[byteStart[j] .. byteStart[j + 1]) (in trie order), so a mask asks the lexer once per
 * distinct byte whether the next lexeme can start with it (after whitespace, hundreds of nodes and a handful of bytes
 * the next lexeme takes)
 */
export interface NodesByByte {
  nodes: readonly number[];
  byteStart: readonly number[];
  /** the distinct bytes as 256 bits (a mask intersects them with the next lexer state's edge bytes: a few stay) */
  byteSet: Int32Array;
  /** byte -> its j (read for bytes in byteSet only) */
  byteIndex: Uint8Array;
}

export interface SlotGroup extends NodesByByte {
  slots: Int32Array;
}

export interface BoundaryGroup extends NodesByByte {
  accepting: Int32Array;
}

const MAX_SHARED_WALKS = 512;

/** per provider (one token trie): walks by lexer-state description, least recently used dropped */
export class LexerWalkCache {
  private readonly walks = new Map<string, SharedLexerWalk>();
  /** walks computed while `pinning` (the provider's start-up: format-prewalk.ts), never dropped */
  private readonly pinned = new Map<string, SharedLexerWalk>();
  /** while true, new walks are kept for good rather than in the bounded cache */
  pinning = false;
  /** walks computed so far (split: of them split at a quote), their time and trie nodes visited (benchmarks read these) */
  readonly stats = { computed: 0, split: 0, computeMs: 0, nodesVisited: 0 };

  get size(): number {
    return this.walks.size + this.pinned.size;
  }

  has(key: string): boolean {
    return this.pinned.has(key) || this.walks.has(key);
  }

  get(key: string, compute: () => SharedLexerWalk): SharedLexerWalk {
    const p = this.pinned.get(key);
    if (p) return p;
    let w = this.walks.get(key);
    if (w) {
      this.walks.delete(key);
    } else {
      const t = performance.now();
      w = compute();
      this.stats.computeMs += performance.now() - t;
      this.stats.computed++;
      this.stats.nodesVisited += w.visited;
      if (this.pinning) {
        this.pinned.set(key, w);
        return w;
      }
      if (this.walks.size >= MAX_SHARED_WALKS) this.walks.delete(this.walks.keys().next().value!);
    }
    this.walks.set(key, w);
    return w;
  }
}

/** how a lexer state is described for sharing walks over this trie (see LexerDfa.canonicalState) */
export function describeState(dfa: LexerDfa, trie: TokenTrie, s: number): CanonicalState {
  // walks from capped states stop at WALK_DEPTH bytes; no token has more than maxDepth characters
  return dfa.canonicalState(s, WALK_DEPTH + 1, trie.maxDepth + 1);
}

/**
 * Walk `trie` from lexer state `start`. `canon`: the state's description, when the trie is only a part of the
 * one the description was made for (slots must follow that description). `allowed`: tokens outside `trie` known to
 * be allowed from `start` (the walk's mask starts as a copy of it).
 */
export function walkLexer(dfa: LexerDfa, trie: TokenTrie, start: number, words: number, canon = describeState(dfa, trie, start), allowed?: Int32Array): SharedLexerWalk {
  const { nodes, nodeCount, tokenOrder, tokenStart } = trie;
  const inner = newMask(words);
  if (allowed) inner.set(allowed);
  let boundaryCount = 0;
  const deep: number[] = [];
  // boundary nodes by accepting list (most of a state's hundreds share a handful): lists of equal slots merged
  const groupOf = new Map<Int32Array, { slots: Int32Array; nodes: number[] }>();
  const groupBySlots = new Map<string, { slots: Int32Array; nodes: number[] }>();
  const lexStack = walkStack(trie.maxDepth + 1);
  const slotLexemes = canon.slotLexemes;
  // a description with a capped count holds for tokens within the horizon only: longer ones are left to the mask
  // (an integer beyond any token's length rather than Infinity: the comparison below stays on small integers)
  const depthLimit = canon.clamped ? WALK_DEPTH : MAX_LOOP_RUN;
  const slotOf = new Map<number, number>();
  slotLexemes.forEach((lex, slot) => slotOf.set(lex, slot));
  lexStack[0] = start;
  // (pushed to as states are added, never replaced: read once)
  const chunks = dfa.chunks;
  // ranges of trie nodes left to walk, as (first, end) pairs popped from the top: preorder, with the children of wide
  // nodes (see TokenTrie.wideChildren) that a state ending no lexeme cannot take left out (no boundary to note there)
  const ranges = rangeScratch;
  ranges.length = 0;
  const rootWide = nodes[BYTE_DEPTH]! >>> WIDE_SHIFT;
  if (rootWide !== 0 && dfa.accepting[start]!.length === 0) pushTakenChildren(trie, rootWide - 1, dfa.edgeBytes(start), ranges);
  else ranges.push(1, nodeCount);
  let visited = 0;
  while (ranges.length > 0) {
    const end = ranges.pop()!;
    let i = ranges.pop()!;
    while (i < end) {
      visited++;
      const at = NODE_STRIDE * i;
      const byteDepth = nodes[at + BYTE_DEPTH]!;
      const depth = (byteDepth >>> 8) & DEPTH_MASK;
      if (depth > depthLimit) {
        // the path is alive this deep: its long tokens are checked one by one (GrammarMatcher.computeMask)
        deep.push(i);
        i = nodes[at + SUBTREE_END]!;
        continue;
      }
      const parentLex = lexStack[depth - 1]!;
      const b = byteDepth & 0xff;
      let ns = chunks[parentLex >>> CHUNK_BITS]![((parentLex & CHUNK_MASK) << 8) | b]!;
      if (ns === -1) ns = dfa.next(parentLex, b);
      if (ns === DEAD) {
        const acc = dfa.accepting[parentLex]!;
        if (acc.length > 0) {
          boundaryCount++;
          let group = groupOf.get(acc);
          if (!group) {
            const slots = Int32Array.from(acc, (l) => slotOf.get(l)!);
            const key = slots.join(',');
            group = groupBySlots.get(key);
            if (!group) groupBySlots.set(key, (group = { slots, nodes: [] }));
            groupOf.set(acc, group);
          }
          group.nodes.push(i);
        }
        i = nodes[at + SUBTREE_END]!;
        continue;
      }
      const loopEnd = loopSubtreeEnd(dfa, trie, i, parentLex, ns, depthLimit);
      if (loopEnd >= 0) {
        for (let k = tokenStart[i]!, e = tokenStart[loopEnd]!; k < e; k++) {
          const t = tokenOrder[k]!;
          inner[t >>> 5] |= 1 << (t & 31);
        }
        i = loopEnd;
        continue;
      }
      lexStack[depth] = ns;
      const t = nodes[at + TOKEN]!;
      if (t >= 0) inner[t >>> 5] |= 1 << (t & 31);
      else if (t === SEVERAL_TOKENS) {
        for (let k = tokenStart[i]!, e = tokenStart[i + 1]!; k < e; k++) inner[tokenOrder[k]! >>> 5] |= 1 << (tokenOrder[k]! & 31);
      }
      const wide = byteDepth >>> WIDE_SHIFT;
      if (wide !== 0 && dfa.accepting[ns]!.length === 0) {
        // the rest of this range after the node's subtree, then its children that `ns` takes, first child on top
        const after = nodes[at + SUBTREE_END]!;
        if (after < end) ranges.push(after, end);
        pushTakenChildren(trie, wide - 1, dfa.edgeBytes(ns), ranges);
        break;
      }
      i++;
    }
  }
  const boundarySlotGroups = [...groupBySlots.values()].map((g) => ({ slots: g.slots, ...byByte(trie, g.nodes) }));
  return { trie, inner, boundaryCount, boundarySlotGroups, deepNodes: deep, visited };
}

// Scratch of walkLexer and byByte (one walk at a time per thread), and plain arrays for what a walk returns: the small
// typed arrays each walk allocated (its stack, node lists, byte counts) took longer than walking an object key's state
// over the ~2k-node quote trie (string-body-split.ts) itself.
let stackScratch = new Int32Array(0);
const rangeScratch: number[] = [];

/** push (child, its subtree's end) for each child of wide node `w` whose byte is in `bytes`, last child first */
function pushTakenChildren(trie: TokenTrie, w: number, bytes: Int32Array, ranges: number[]): void {
  const { wideChildren, nodes } = trie;
  const rec = WIDE_STRIDE * w;
  for (let k = 7; k >= 0; k--) {
    let taken = wideChildren[rec + k]! & bytes[k]!;
    while (taken !== 0) {
      const b = 31 - Math.clz32(taken);
      taken ^= 1 << b;
      const c = wideChild(trie, w, (k << 5) | b);
      ranges.push(c, nodes[NODE_STRIDE * c + SUBTREE_END]!);
    }
  }
}
const byteCounts = new Int32Array(257);

/** walkLexer's stack of lexer states per depth */
function walkStack(depth: number): Int32Array {
  if (stackScratch.length < depth) stackScratch = new Int32Array(depth);
  return stackScratch;
}

/** trie nodes (in trie order) ordered by byte, trie order kept among equal bytes (a counting sort) */
function byByte(trie: TokenTrie, list: number[]): NodesByByte {
  const count = byteCounts;
  for (const i of list) count[trie.byteOf(i) + 1]++;
  const byteStart: number[] = [];
  const byteSet = new Int32Array(8);
  const byteIndex = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    if (count[b + 1] !== 0) {
      byteIndex[b] = byteStart.length;
      byteSet[b >>> 5] |= 1 << (b & 31);
      byteStart.push(count[b]!);
    }
    count[b + 1] += count[b]!;
  }
  byteStart.push(list.length);
  // (a copy overwritten in place: a packed array, which `new Array(n)` would not be)
  const nodes = list.slice();
  for (const i of list) nodes[count[trie.byteOf(i)]++] = i;
  count.fill(0);
  return { nodes, byteStart, byteSet, byteIndex };
}

/**
 * Trie node i, whose byte steps the lexer from `from` to `to`: the end of its subtree when every token in it keeps the
 * lexer in `from`'s loop (no lexeme ends inside: all its tokens are allowed, none walked), else -1. `depthLimit`: the
 * deepest token the state's description holds for. Asks the DFA only where the node's own byte loops (most do not:
 * selfLoops builds the state's whole row) and the subtree is large enough to have its byte set.
 */
export function loopSubtreeEnd(dfa: LexerDfa, trie: TokenTrie, i: number, from: number, to: number, depthLimit: number): number {
  const { nodes, subtreeBytes, subtreeDepth } = trie;
  const at = NODE_STRIDE * i;
  const setAt = nodes[at + SET_AT]!;
  if (setAt < 0 || subtreeDepth[i]! > depthLimit || !dfa.loopsTo(from, to)) return -1;
  const loops = dfa.selfLoops(from);
  if (loops === null || subtreeDepth[i]! - depthOfField(nodes[at + BYTE_DEPTH]!) >= loops.run || !isSubset(subtreeBytes, 8 * setAt, loops.bytes)) return -1;
  return nodes[at + SUBTREE_END]!;
}

/** are the 256 bits at sets[at .. at + 8) all in `of` */
function isSubset(sets: Int32Array, at: number, of: Int32Array): boolean {
  for (let k = 0; k < 8; k++) if ((sets[at + k]! & ~of[k]!) !== 0) return false;
  return true;
}
