// Masks cut from shared blocks (mask-blocks.ts) must behave as masks allocated one by one: zeroed, of the asked
// width, and never sharing words with another mask, across block boundaries and widths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyMask, newMask } from '../../src/structured/mask-blocks.js';

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
