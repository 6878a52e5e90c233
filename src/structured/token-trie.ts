// All text tokens in one byte trie laid out in preorder in flat typed arrays: node i's subtree is
// [i, subtreeEnd[i]), so a walk skips a rejected subtree by jumping and never allocates.
import type { TokenVocab } from './token-vocab.js';

/**
 * Walks from a state with bounded counts stop below this depth, and the few longer tokens (about 150 of Qwen3's
 * 151k) still alive there are walked exactly for each mask. This keeps the horizon of lexer-walk sharing short:
 * a string body with more than this many characters of room left walks like an unbounded one. Bounded
 * whitespace (at most 64 characters) never reaches it, so the common whitespace masks pay nothing for it.
 */
export const WALK_DEPTH = 64;

export class TokenTrie {
  readonly nodeByte: Uint8Array;
  readonly nodeDepth: Uint16Array;
  readonly subtreeEnd: Int32Array;
  /** first token ending at the node, or -1; further tokens with the same bytes chain through sameBytesNext */
  readonly nodeToken: Int32Array;
  readonly sameBytesNext: Int32Array;
  readonly maxDepth: number;
  readonly nodeCount: number;

  constructor(readonly vocab: TokenVocab) {
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
    this.sameBytesNext = new Int32Array(vocab.size).fill(-1);
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
        this.sameBytesNext[id] = nt[node]!;
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
    this.nodeByte = Uint8Array.from(nb);
    this.nodeDepth = Uint16Array.from(nd);
    this.nodeToken = Int32Array.from(nt);
    this.maxDepth = maxDepth;
    // subtree end: next node whose depth is <= this node's depth
    this.subtreeEnd = new Int32Array(n);
    const stack: number[] = [];
    for (let i = 0; i < n; i++) {
      while (stack.length && nd[stack[stack.length - 1]!]! >= nd[i]!) this.subtreeEnd[stack.pop()!] = i;
      stack.push(i);
    }
    while (stack.length) this.subtreeEnd[stack.pop()!] = n;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
