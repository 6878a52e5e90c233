import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvCacheManager, SequenceKv, type KvSequence } from '../../src/kv-cache/kv-cache-manager.js';
import { hashBlock } from '../../src/kv-cache/block-hash.js';

function seq(tokens: number[], salt: string | null = null, skip = false): KvSequence {
  return { tokenIds: tokens, numTokens: tokens.length, cacheSalt: salt, skipPrefixCache: skip, kv: new SequenceKv() };
}
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

test('block hashes chain over the whole prefix and include the salt', () => {
  const t = range(8);
  const h0 = hashBlock(null, t, 0, 4, null);
  assert.notEqual(hashBlock(null, t, 0, 4, 'salt'), h0);
  assert.notEqual(hashBlock(h0, t, 4, 4, null), hashBlock(null, t, 4, 4, null));
  assert.equal(hashBlock(h0, t, 4, 4, null), hashBlock(h0, [...t], 4, 4, null));
});

test('prefix hits need computed KV, never include the last token, and count queries/hits', () => {
  const kv = new KvCacheManager({ numBlocks: 16, blockSize: 4, enablePrefixCaching: true });
  const a = seq(range(12));
  assert.equal(kv.findComputedPrefix(a).numTokens, 0);
  assert.ok(kv.allocateSlots(a, 0, 12));
  assert.equal(a.kv.blocks.length, 3);
  const b = seq(range(12));
  assert.equal(kv.findComputedPrefix(b).numTokens, 0, 'nothing is cached before the step ran');
  kv.commitComputed(a, 12);
  const hit = kv.findComputedPrefix(b);
  assert.equal(hit.numTokens, 8, 'a full 12-token hit still recomputes the last block (last token)');
  assert.deepEqual(hit.blocks, a.kv.blocks.slice(0, 2));
  assert.ok(kv.allocateSlots(b, hit.numTokens, 4, hit));
  kv.recordQuery(12, hit.numTokens);
  assert.equal(kv.pool.refCountOf(a.kv.blocks[0]), 2);
  assert.equal(kv.prefixCacheQueries, 12);
  assert.equal(kv.prefixCacheHits, 8);
  // different salt, or prefix caching skipped: no hit
  assert.equal(kv.findComputedPrefix(seq(range(12), 'other')).numTokens, 0);
  assert.equal(kv.findComputedPrefix(seq(range(12), null, true)).numTokens, 0);
  kv.free(a);
  kv.free(b);
  assert.equal(kv.pool.numFreeBlocks, 16);
  // freed blocks stay cached until evicted
  assert.equal(kv.findComputedPrefix(seq(range(13))).numTokens, 12);
});

test('allocation fails without side effects when the pool is short, counting evictable hits', () => {
  const kv = new KvCacheManager({ numBlocks: 4, blockSize: 4, enablePrefixCaching: true });
  const a = seq(range(8));
  assert.ok(kv.allocateSlots(a, 0, 8));
  kv.commitComputed(a, 8);
  kv.free(a);
  const b = seq(range(17));
  const hit = kv.findComputedPrefix(b);
  assert.equal(hit.numTokens, 8);
  // needs 5 blocks: 2 hits (both free, so they occupy 2 of the 4 free ones) + 3 new → does not fit
  assert.equal(kv.allocateSlots(b, 8, 9, hit), false);
  assert.equal(b.kv.blocks.length, 0);
  assert.equal(kv.pool.numFreeBlocks, 4);
  assert.ok(kv.allocateSlots(b, 8, 8, hit));
  assert.equal(kv.pool.numFreeBlocks, 0);
  assert.equal(kv.usage, 1);
});

test('with prefix caching disabled nothing is cached', () => {
  const kv = new KvCacheManager({ numBlocks: 8, blockSize: 4, enablePrefixCaching: false });
  const a = seq(range(8));
  kv.allocateSlots(a, 0, 8);
  kv.commitComputed(a, 8);
  assert.equal(kv.findComputedPrefix(seq(range(9))).numTokens, 0);
  assert.equal(kv.pool.numCachedBlocks, 0);
});
