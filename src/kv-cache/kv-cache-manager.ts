// Per-sequence block tables on top of the block pool, with prefix caching (vLLM v1 semantics):
// - a new sequence first looks up the longest cached run of its full prompt blocks (never the last token: it is
//   always recomputed so that a full hit still yields logits);
// - blocks are registered in the cache only once their KV has been computed (`commitComputed` after the step),
//   so a hit never points at KV that a neighbour in the same batch is still writing;
// - freeing releases blocks tail first, so a sequence's last blocks are evicted before its shared prefix.
import { BlockPool } from './block-pool.js';
import { hashBlock, type BlockHash } from './block-hash.js';

/** The KV state a sequence carries (owned by the request, mutated only by the manager). */
export class SequenceKv {
  blocks: number[] = [];
  /** chained hashes of this sequence's full blocks, computed lazily */
  hashes: BlockHash[] = [];
  /** leading blocks already registered in the prefix cache */
  numCachedBlocks = 0;
}

export interface KvSequence {
  readonly tokenIds: ArrayLike<number>;
  readonly numTokens: number;
  readonly cacheSalt: string | null;
  /** e.g. prompt logprobs: every prompt token must be computed */
  readonly skipPrefixCache: boolean;
  readonly kv: SequenceKv;
}

export interface ComputedPrefix {
  blocks: number[];
  numTokens: number;
}

const NO_HIT: ComputedPrefix = { blocks: [], numTokens: 0 };

export class KvCacheManager {
  readonly pool: BlockPool;
  readonly blockSize: number;
  readonly enablePrefixCaching: boolean;
  prefixCacheQueries = 0;
  prefixCacheHits = 0;

  constructor(opts: { numBlocks: number; blockSize: number; enablePrefixCaching: boolean }) {
    if (!Number.isInteger(opts.blockSize) || opts.blockSize <= 0) throw new Error(`blockSize must be a positive integer, got ${opts.blockSize}.`);
    this.pool = new BlockPool(opts.numBlocks);
    this.blockSize = opts.blockSize;
    this.enablePrefixCaching = opts.enablePrefixCaching;
  }

  get usage(): number {
    return this.pool.usage;
  }

  /** longest cached prefix of a sequence that holds no blocks yet (does not take references) */
  findComputedPrefix(seq: KvSequence): ComputedPrefix {
    if (!this.enablePrefixCaching || seq.skipPrefixCache) return NO_HIT;
    const maxBlocks = Math.floor((seq.numTokens - 1) / this.blockSize);
    this.ensureHashes(seq, maxBlocks);
    const blocks: number[] = [];
    for (let i = 0; i < maxBlocks; i++) {
      const b = this.pool.lookup(seq.kv.hashes[i]);
      if (b === undefined) break;
      blocks.push(b);
    }
    return blocks.length === 0 ? NO_HIT : { blocks, numTokens: blocks.length * this.blockSize };
  }

  /** records the prefix-cache outcome of a newly scheduled sequence (tokens queried, tokens hit) */
  recordQuery(numTokens: number, numHitTokens: number): void {
    this.prefixCacheQueries += numTokens;
    this.prefixCacheHits += numHitTokens;
  }

  /**
   * Makes room for `numNewTokens` more tokens after `numComputedTokens` (which includes `prefix`, the cached
   * blocks found for a sequence holding none). Returns false, changing nothing, when the pool is too small.
   */
  allocateSlots(seq: KvSequence, numComputedTokens: number, numNewTokens: number, prefix: ComputedPrefix = NO_HIT): boolean {
    const kv = seq.kv;
    const required = Math.ceil((numComputedTokens + numNewTokens) / this.blockSize);
    const numNew = required - kv.blocks.length - prefix.blocks.length;
    let evictableHits = 0;
    for (const b of prefix.blocks) if (this.pool.refCountOf(b) === 0) evictableHits++;
    if (numNew > this.pool.numFreeBlocks - evictableHits) return false;
    for (const b of prefix.blocks) {
      this.pool.touch(b);
      kv.blocks.push(b);
    }
    if (prefix.blocks.length > 0) kv.numCachedBlocks = prefix.blocks.length;
    for (let i = 0; i < numNew; i++) kv.blocks.push(this.pool.allocate());
    return true;
  }

  /** registers the sequence's full blocks whose KV is now computed (call after the step ran) */
  commitComputed(seq: KvSequence, numComputedTokens: number): void {
    if (!this.enablePrefixCaching || seq.skipPrefixCache) return;
    const full = Math.min(Math.floor(numComputedTokens / this.blockSize), seq.kv.blocks.length);
    if (full <= seq.kv.numCachedBlocks) return;
    this.ensureHashes(seq, full);
    for (let i = seq.kv.numCachedBlocks; i < full; i++) this.pool.cacheBlock(seq.kv.blocks[i], seq.kv.hashes[i]);
    seq.kv.numCachedBlocks = full;
  }

  /** releases every block the sequence holds (tail first) */
  free(seq: KvSequence): void {
    const blocks = seq.kv.blocks;
    for (let i = blocks.length - 1; i >= 0; i--) this.pool.release(blocks[i]);
    seq.kv.blocks = [];
    seq.kv.numCachedBlocks = 0;
  }

  resetPrefixCache(): void {
    this.pool.resetPrefixCache();
  }

  private ensureHashes(seq: KvSequence, numBlocks: number): void {
    const hashes = seq.kv.hashes;
    const bs = this.blockSize;
    for (let i = hashes.length; i < numBlocks; i++) {
      hashes.push(hashBlock(i === 0 ? null : hashes[i - 1], seq.tokenIds, i * bs, bs, seq.cacheSalt));
    }
  }
}
