// All text tokens in one byte trie laid out in preorder in flat typed arrays: node i's subtree is
// [i, its SUBTREE_END), so a walk skips a rejected subtree by jumping and never allocates.
import type { TokenVocab } from './token-vocab.js';

/**
 * Walks from a state with bounded counts stop below this depth, and the few longer tokens (about 150 of Qwen3's
 * 151k) still alive there are walked exactly for each mask. This keeps the horizon of lexer-walk sharing short:
 * a string body with more than this many characters of room left walks like an unbounded one. Bounded
 * whitespace (at most 64 characters) never reaches it, so the common whitespace masks pay nothing for it.
 */
export const WALK_DEPTH = 64;

/**
 * Nodes with at least this many children are wide: their children are indexed by byte (wideChildren), so a walk
 * visits only the children whose bytes the lexer can take next (after whitespace, a few of the ~100 children of a
 * space) instead of reading every child's node, each on its own cache line.
 */
const MIN_WIDE_CHILDREN = 8;
/** per wide node: its children's bytes as 8 words of bits, then per word the childList index of its first child */
export const WIDE_STRIDE = 16;

/** subtrees with fewer nodes than this get no byte set (walking them costs what testing the set would) */
const MIN_SET_SUBTREE = 3;

/**
 * Node i's fields sit together at nodes[NODE_STRIDE * i + field]: a sparse walk (most subtrees rejected at their
 * first byte) reads one cache line per node rather than one per array, which is what cold masks wait on.
 */
export const NODE_STRIDE = 4;
/**
 * the node's byte in the low 8 bits, its depth (bytes from the root, the byte included) in the next DEPTH_BITS, and
 * above them its wide index + 1 (0: not wide; see wideChildren)
 */
export const BYTE_DEPTH = 0;
const DEPTH_BITS = 12;
export const DEPTH_MASK = (1 << DEPTH_BITS) - 1;
export const WIDE_SHIFT = 8 + DEPTH_BITS;
/** wide indexes + 1 fit the BYTE_DEPTH field's top bits: beyond this many, only the widest nodes are wide */
const MAX_WIDE = (1 << (32 - WIDE_SHIFT)) - 1;
/** the node's depth from its BYTE_DEPTH field */
export const depthOfField = (byteDepth: number): number => (byteDepth >>> 8) & DEPTH_MASK;
/** the end of the node's subtree: nodes [i, end) */
export const SUBTREE_END = 1;
/**
 * the token ending at the node, -1 for none, or SEVERAL_TOKENS where more than one token has the node's bytes
 * (then they are tokenOrder[tokenStart[i] .. tokenStart[i + 1])): a walk that reaches a node reads no other array
 * to learn its tokens in the common case
 */
export const TOKEN = 2;
export const SEVERAL_TOKENS = -2;
/** the node's subtree byte set (see subtreeBytes), or -1 */
export const SET_AT = 3;

export class TokenTrie {
  /** per node, NODE_STRIDE fields: BYTE_DEPTH, SUBTREE_END, TOKEN, SET_AT */
  readonly nodes: Int32Array;
  readonly maxDepth: number;
  readonly nodeCount: number;
  /** the deepest node in node i's subtree (its longest token's length) */
  readonly subtreeDepth: Uint16Array;
  /**
   * node i's subtree's bytes (its own included) as 8 words of bits at subtreeBytes[8 * at] (at: the node's SET_AT
   * field), or at = -1 for subtrees of fewer than MIN_SET_SUBTREE nodes: a walk accepts a whole subtree at once
   * where all its bytes keep the lexer in a loop (LexerDfa.selfLoops)
   */
  readonly subtreeBytes: Int32Array;
  /**
   * every token in preorder: node i's own tokens are tokenOrder[tokenStart[i] .. tokenStart[i + 1]), its subtree's
   * tokenOrder[tokenStart[i] .. tokenStart[end]) (end: its SUBTREE_END)
   */
  readonly tokenOrder: Int32Array;
  readonly tokenStart: Int32Array;
  /** per wide node (index w): wideChildren[WIDE_STRIDE * w ..] (see WIDE_STRIDE) */
  readonly wideChildren: Int32Array;
  /** the wide nodes' children, each node's in byte order (the order of the trie) */
  readonly childList: Int32Array;

  /** `wideNodes` false: no node is wide (every walk reads every child; tests compare the two) */
  constructor(
    readonly vocab: TokenVocab,
    wideNodes = true,
  ) {
    const ids: number[] = [];
    for (let i = 0; i < vocab.size; i++) {
      const b = vocab.tokenBytes[i];
      if (b && b.length > 0) ids.push(i);
    }
    const bytes = vocab.tokenBytes as Uint8Array[];
    ids.sort((x, y) => compareBytes(bytes[x]!, bytes[y]!) || x - y);
    const nb: number[] = [0];
    const nd: number[] = [0];
    const nt: number[] = [-1];
    // further tokens with the same bytes as a node's first: a chain by token id
    const sameBytesNext = new Int32Array(vocab.size).fill(-1);
    let prev: Uint8Array = new Uint8Array(0);
    const pathNodes: number[] = [0]; // node index for each depth along the previous token
    let maxDepth = 0;
    for (const id of ids) {
      const b = bytes[id]!;
      let lcp = 0;
      while (lcp < b.length && lcp < prev.length && b[lcp] === prev[lcp]) lcp++;
      if (lcp === b.length && lcp === prev.length) {
        // same bytes as the previous token: chain it
        const node = pathNodes[lcp]!;
        sameBytesNext[id] = nt[node]!;
        nt[node] = id;
        continue;
      }
      pathNodes.length = lcp + 1;
      for (let d = lcp; d < b.length; d++) {
        nb.push(b[d]!);
        nd.push(d + 1);
        nt.push(-1);
        pathNodes.push(nb.length - 1);
      }
      nt[nb.length - 1] = id;
      maxDepth = Math.max(maxDepth, b.length);
      prev = b;
    }
    const n = nb.length;
    this.nodeCount = n;
    const nodeByte = Uint8Array.from(nb);
    const nodeDepth = Uint16Array.from(nd);
    this.maxDepth = maxDepth;
    // subtree end: next node whose depth is <= this node's depth
    const subtreeEnd = new Int32Array(n);
    const stack: number[] = [];
    for (let i = 0; i < n; i++) {
      while (stack.length && nd[stack[stack.length - 1]!]! >= nd[i]!) subtreeEnd[stack.pop()!] = i;
      stack.push(i);
    }
    while (stack.length) subtreeEnd[stack.pop()!] = n;
    const order: number[] = [];
    this.tokenStart = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) {
      this.tokenStart[i] = order.length;
      for (let t = nt[i]!; t >= 0; t = sameBytesNext[t]!) order.push(t);
    }
    this.tokenStart[n] = order.length;
    this.tokenOrder = Int32Array.from(order);
    if (maxDepth > DEPTH_MASK) throw new Error(`structured output: a token of ${maxDepth} bytes (at most ${DEPTH_MASK} supported)`);
    const summaries = subtreeSummaries(nodeByte, nodeDepth, subtreeEnd);
    const wide = wideChildIndex(nodeByte, subtreeEnd, wideNodes ? MIN_WIDE_CHILDREN : Infinity);
    this.wideChildren = wide.wideChildren;
    this.childList = wide.childList;
    this.subtreeDepth = summaries.subtreeDepth;
    this.subtreeBytes = summaries.subtreeBytes;
    this.nodes = new Int32Array(NODE_STRIDE * n);
    for (let i = 0; i < n; i++) {
      const at = NODE_STRIDE * i;
      this.nodes[at + BYTE_DEPTH] = nodeByte[i]! | (nodeDepth[i]! << 8) | ((wide.wideOf[i]! + 1) << WIDE_SHIFT);
      this.nodes[at + SUBTREE_END] = subtreeEnd[i]!;
      const t = nt[i]!;
      this.nodes[at + TOKEN] = t >= 0 && sameBytesNext[t]! >= 0 ? SEVERAL_TOKENS : t;
      this.nodes[at + SET_AT] = summaries.subtreeSetAt[i]!;
    }
  }

  /** node i's byte (the root's is 0) */
  byteOf(i: number): number {
    return this.nodes[NODE_STRIDE * i + BYTE_DEPTH]! & 0xff;
  }

  /** node i's depth: the bytes from the root to it, its own included */
  depthOf(i: number): number {
    return depthOfField(this.nodes[NODE_STRIDE * i + BYTE_DEPTH]!);
  }

  /** the end of node i's subtree: its nodes are [i, endOf(i)) */
  endOf(i: number): number {
    return this.nodes[NODE_STRIDE * i + SUBTREE_END]!;
  }

  /** a token ending at node i, or -1 */
  tokenOf(i: number): number {
    const t = this.nodes[NODE_STRIDE * i + TOKEN]!;
    return t === SEVERAL_TOKENS ? this.tokenOrder[this.tokenStart[i]!]! : t;
  }
}

/** the child of wide node `w` with byte `b`, which must be one of its children's bytes (a bit of its set) */
export function wideChild(trie: TokenTrie, w: number, b: number): number {
  const rec = WIDE_STRIDE * w;
  const k = b >>> 5;
  return trie.childList[trie.wideChildren[rec + 8 + k]! + bitCount(trie.wideChildren[rec + k]! & ~(-1 << (b & 31)))]!;
}

/** the number of bits set */
export function bitCount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** the wide nodes (see MIN_WIDE_CHILDREN: the MAX_WIDE widest where more have enough children) and their child index */
function wideChildIndex(nodeByte: Uint8Array, subtreeEnd: Int32Array, minChildren: number) {
  const n = nodeByte.length;
  const childCount = new Int32Array(n);
  for (let i = 0; i < n; i++) for (let c = i + 1; c < subtreeEnd[i]!; c = subtreeEnd[c]!) childCount[i]++;
  let wideNodes: number[] = [];
  for (let i = 0; i < n; i++) if (childCount[i]! >= minChildren) wideNodes.push(i);
  if (wideNodes.length > MAX_WIDE) wideNodes = wideNodes.sort((a, b) => childCount[b]! - childCount[a]! || a - b).slice(0, MAX_WIDE).sort((a, b) => a - b);
  const wideOf = new Int32Array(n).fill(-1);
  const wideChildren = new Int32Array(WIDE_STRIDE * wideNodes.length);
  const childList = new Int32Array(wideNodes.reduce((s, i) => s + childCount[i]!, 0));
  let listed = 0;
  wideNodes.forEach((p, w) => {
    wideOf[p] = w;
    const rec = WIDE_STRIDE * w;
    for (let c = p + 1; c < subtreeEnd[p]!; c = subtreeEnd[c]!) {
      const b = nodeByte[c]!;
      wideChildren[rec + (b >>> 5)] |= 1 << (b & 31);
      childList[listed++] = c;
    }
    // children come in byte order: each word's first child follows the children of the words before it
    let start = listed - childCount[p]!;
    for (let k = 0; k < 8; k++) {
      wideChildren[rec + 8 + k] = start;
      start += bitCount(wideChildren[rec + k]!);
    }
  });
  return { wideOf, wideChildren, childList };
}

/** per node: its subtree's deepest depth and, for subtrees of MIN_SET_SUBTREE nodes or more, its set of bytes */
function subtreeSummaries(nodeByte: Uint8Array, nodeDepth: Uint16Array, subtreeEnd: Int32Array) {
  const n = nodeByte.length;
  const subtreeSetAt = new Int32Array(n).fill(-1);
  let sets = 0;
  for (let i = 0; i < n; i++) if (subtreeEnd[i]! - i >= MIN_SET_SUBTREE) subtreeSetAt[i] = sets++;
  const subtreeBytes = new Int32Array(8 * sets);
  const subtreeDepth = Uint16Array.from(nodeDepth);
  // children come after their parent in preorder: fold each node into its parent, from the last node back
  const parent = new Int32Array(n);
  const lastAtDepth: number[] = [0];
  for (let i = 1; i < n; i++) {
    const d = nodeDepth[i]!;
    parent[i] = lastAtDepth[d - 1]!;
    lastAtDepth[d] = i;
  }
  for (let i = n - 1; i >= 1; i--) {
    const at = subtreeSetAt[i]!;
    const b = nodeByte[i]!;
    if (at >= 0) subtreeBytes[8 * at + (b >>> 5)] |= 1 << (b & 31);
    const p = parent[i]!;
    if (subtreeDepth[i]! > subtreeDepth[p]!) subtreeDepth[p] = subtreeDepth[i]!;
    const pat = subtreeSetAt[p]!;
    if (pat < 0) continue;
    if (at >= 0) for (let k = 0; k < 8; k++) subtreeBytes[8 * pat + k] |= subtreeBytes[8 * at + k]!;
    else for (let j = i; j < subtreeEnd[i]!; j++) subtreeBytes[8 * pat + (nodeByte[j]! >>> 5)] |= 1 << (nodeByte[j]! & 31);
  }
  return { subtreeDepth, subtreeSetAt, subtreeBytes };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
