// Masks cut from shared blocks (mask-blocks.ts) must behave as masks allocated one by one: zeroed, of the asked
// width, and never sharing words with another mask, across block boundaries and widths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyMask, cutInts, newMask } from '../../src/structured/mask-blocks.js';

test('masks cut from blocks are zeroed, of their width, and independent', () => {
  const masks = Array.from({ length: 20 }, (_, i) => newMask(i % 2 === 0 ? 37 : 5));
  masks.forEach((m, i) => {
    assert.equal(m.length, i % 2 === 0 ? 37 : 5);
    assert.ok(m.every((w) => w === 0), `mask ${i} is zeroed`);
    m.fill(i + 1);
  });
  // writing every mask left the others as written (no two share a word)
  masks.forEach((m, i) => assert.ok(m.every((w) => w === i + 1), `mask ${i} kept its words`));
  const src = Int32Array.from({ length: 37 }, (_, k) => k * 7 - 3);
  const copy = copyMask(src);
  assert.deepEqual(Array.from(copy), Array.from(src));
  src[0] = 99;
  assert.equal(copy[0], -3, 'a copy, not a view of the source');
});

test('ints cut for diffs are zeroed, of their length, and independent, across blocks and for large requests', () => {
  // 16,384 ints a block: 3,000 arrays of 2-18 ints cross several blocks; 5,000 ints get an array of their own
  const arrays = Array.from({ length: 3000 }, (_, i) => cutInts(2 + (i % 9) * 2));
  arrays.push(cutInts(5000));
  arrays.forEach((a, i) => {
    assert.equal(a.length, i < 3000 ? 2 + (i % 9) * 2 : 5000);
    if (!a.every((w) => w === 0)) assert.fail(`array ${i} is not zeroed`);
    a.fill(i + 1);
  });
  arrays.forEach((a, i) => {
    if (!a.every((w) => w === i + 1)) assert.fail(`array ${i} shares words with another`);
  });
});
