import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockPool } from '../../src/kv-cache/block-pool.js';

test('allocate takes free blocks in order and tracks usage', () => {
  const pool = new BlockPool(4);
  assert.equal(pool.usage, 0);
  assert.deepEqual([pool.allocate(), pool.allocate()], [0, 1]);
  assert.equal(pool.numFreeBlocks, 2);
  assert.equal(pool.usage, 0.5);
});

test('freed cached blocks stay findable and are evicted least-recently-freed first', () => {
  const pool = new BlockPool(3);
  const a = pool.allocate();
  const b = pool.allocate();
  const c = pool.allocate();
  pool.cacheBlock(a, 'A');
  pool.cacheBlock(b, 'B');
  pool.release(b); // freed first → evicted first
  pool.release(a);
  assert.equal(pool.lookup('A'), a);
  assert.equal(pool.lookup('B'), b);
  assert.equal(pool.allocate(), b);
  assert.equal(pool.lookup('B'), undefined, 'evicting a block drops its cache entry');
  assert.equal(pool.lookup('A'), a);
  // touching a free cached block takes it off the free list
  pool.touch(a);
  assert.equal(pool.numFreeBlocks, 0);
  assert.throws(() => pool.allocate(), /exhausted/);
  pool.release(c);
  assert.equal(pool.allocate(), c);
});

test('shared blocks return to the free list only when the last holder releases them', () => {
  const pool = new BlockPool(2);
  const a = pool.allocate();
  pool.touch(a);
  assert.equal(pool.refCountOf(a), 2);
  pool.release(a);
  assert.equal(pool.numFreeBlocks, 1);
  pool.release(a);
  assert.equal(pool.numFreeBlocks, 2);
  assert.throws(() => pool.release(a), /released more times/);
});

test('a duplicate prefix does not replace the cached block', () => {
  const pool = new BlockPool(2);
  const a = pool.allocate();
  const b = pool.allocate();
  pool.cacheBlock(a, 'X');
  pool.cacheBlock(b, 'X');
  assert.equal(pool.lookup('X'), a);
  pool.release(b);
  pool.allocate();
  assert.equal(pool.lookup('X'), a, 'evicting the uncached duplicate keeps the entry');
});
