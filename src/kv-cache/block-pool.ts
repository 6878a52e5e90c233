// The physical KV block pool: reference counts, the prefix-cache map (hash → block) and the free list.
// The free list is an intrusive doubly-linked list in typed arrays: blocks are appended at the tail when their last
// user releases them and taken from the head, so cached blocks are evicted least-recently-freed first, all in O(1).
import type { BlockHash } from './block-hash.js';

export class BlockPool {
  readonly numBlocks: number;
  private readonly refCount: Int32Array;
  private readonly hashOf: Array<BlockHash | null>;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** sentinel node index closing the circular free list */
  private readonly head: number;
  private free = 0;
  private readonly cached = new Map<BlockHash, number>();

  constructor(numBlocks: number) {
    if (!Number.isInteger(numBlocks) || numBlocks <= 0) throw new Error(`numBlocks must be a positive integer, got ${numBlocks}.`);
    this.numBlocks = numBlocks;
    this.refCount = new Int32Array(numBlocks);
    this.hashOf = new Array<BlockHash | null>(numBlocks).fill(null);
    this.prev = new Int32Array(numBlocks + 1);
    this.next = new Int32Array(numBlocks + 1);
    this.head = numBlocks;
    this.prev[this.head] = this.head;
    this.next[this.head] = this.head;
    for (let b = 0; b < numBlocks; b++) this.pushTail(b);
  }

  get numFreeBlocks(): number {
    return this.free;
  }

  /** fraction of blocks held by requests (free cached blocks count as free: they are evictable) */
  get usage(): number {
    return 1 - this.free / this.numBlocks;
  }

  refCountOf(block: number): number {
    return this.refCount[block];
  }

  /** block holding the KV of this prefix, if cached */
  lookup(hash: BlockHash): number | undefined {
    return this.cached.get(hash);
  }

  /** takes a free block (evicting its cached content, if any) with one reference */
  allocate(): number {
    const b = this.next[this.head];
    if (b === this.head) throw new Error('KV block pool exhausted (allocate called without checking numFreeBlocks)');
    this.unlink(b);
    const h = this.hashOf[b];
    if (h !== null) {
      this.cached.delete(h);
      this.hashOf[b] = null;
    }
    this.refCount[b] = 1;
    return b;
  }

  /** adds a reference to a (possibly free, cached) block, taking it off the free list */
  touch(block: number): void {
    if (this.refCount[block] === 0) this.unlink(block);
    this.refCount[block]++;
  }

  /** drops a reference; a block nobody holds goes to the tail of the free list (its cached content stays findable) */
  release(block: number): void {
    const rc = --this.refCount[block];
    if (rc < 0) throw new Error(`KV block ${block} released more times than it was held`);
    if (rc === 0) this.pushTail(block);
  }

  /** registers a full block's content; a duplicate of an already cached prefix stays unregistered */
  cacheBlock(block: number, hash: BlockHash): void {
    if (this.hashOf[block] !== null || this.cached.has(hash)) return;
    this.hashOf[block] = hash;
    this.cached.set(hash, block);
  }

  get numCachedBlocks(): number {
    return this.cached.size;
  }

  /** drops every cached prefix (blocks in use keep their contents but can no longer be found) */
  resetPrefixCache(): void {
    this.cached.clear();
    this.hashOf.fill(null);
  }

  private pushTail(b: number): void {
    const last = this.prev[this.head];
    this.next[last] = b;
    this.prev[b] = last;
    this.next[b] = this.head;
    this.prev[this.head] = b;
    this.free++;
  }

  private unlink(b: number): void {
    const p = this.prev[b];
    const n = this.next[b];
    this.next[p] = n;
    this.prev[n] = p;
    this.free--;
  }
}
