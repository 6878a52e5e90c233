// One grammar mask row per distinct mask (src/native/cuda-sampling-masks.ts): equal rows share one, rows that the
// fingerprint cannot tell apart are still told apart by the full compare, and a step whose rows all differ passes
// the engine's bitmask on without a copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distinctMasks } from '../../src/native/cuda-sampling-masks.js';

const WORDS = 300;

function rowsOf(masks: Array<Int32Array | null>): { bitmask: Int32Array; rows: Uint8Array } {
  const bitmask = new Int32Array(masks.length * WORDS);
  const rows = new Uint8Array(masks.length);
  masks.forEach((m, i) => {
    if (!m) return;
    rows[i] = 1;
    bitmask.set(m, i * WORDS);
  });
  return { bitmask, rows };
}

function mask(seed: number): Int32Array {
  return Int32Array.from({ length: WORDS }, (_, w) => Math.imul(w + 1, 0x9e3779b1 + seed * 7919) | 0);
}

test('equal masks share one row, in order of first use; rows without a mask get -1', () => {
  const a = mask(1);
  const b = mask(2);
  const { bitmask, rows } = rowsOf([a, null, b, a.slice(), b.slice(), null, a.slice()]);
  const d = distinctMasks(bitmask, rows, WORDS);
  assert.deepEqual([...d.index], [0, -1, 1, 0, 1, -1, 0]);
  assert.deepEqual(d.masks, Int32Array.from([...a, ...b]));
});

test('masks equal in every fingerprinted word but one other word are kept apart', () => {
  const a = mask(3);
  const b = a.slice();
  b[9] = a[9]! ^ 1; // word 9: after the 8 head words, before the first strided one
  const c = a.slice();
  c[WORDS - 1] = a[WORDS - 1]! ^ (1 << 31);
  const { bitmask, rows } = rowsOf([a, b, c, b.slice(), a.slice()]);
  const d = distinctMasks(bitmask, rows, WORDS);
  assert.deepEqual([...d.index], [0, 1, 2, 1, 0]);
  assert.deepEqual(d.masks.subarray(WORDS, 2 * WORDS), b);
  assert.deepEqual(d.masks.subarray(2 * WORDS), c);
});

test('all rows masked and all different: the bitmask itself, no copy; a view into a larger buffer works', () => {
  const { bitmask, rows } = rowsOf([mask(4), mask(5), mask(6)]);
  const d = distinctMasks(bitmask, rows, WORDS);
  assert.equal(d.masks, bitmask);
  assert.deepEqual([...d.index], [0, 1, 2]);
  // the engine hands a view of its reused buffer (offset 0, or further in for a caller's own view)
  const big = new Int32Array(new SharedArrayBuffer(8 * WORDS * 4));
  big.set(bitmask, 2 * WORDS);
  big.set(mask(4), 5 * WORDS); // row 3 of the view equals row 0
  const view = big.subarray(2 * WORDS, 6 * WORDS);
  const e = distinctMasks(view, Uint8Array.of(1, 1, 1, 1), WORDS);
  assert.deepEqual([...e.index], [0, 1, 2, 0]);
  assert.deepEqual(e.masks, bitmask);
});

test('no masked rows: an empty mask array; a bitmask of the wrong size is a clear error', () => {
  const { bitmask, rows } = rowsOf([null, null]);
  const d = distinctMasks(bitmask, rows, WORDS);
  assert.equal(d.masks.length, 0);
  assert.deepEqual([...d.index], [-1, -1]);
  assert.throws(() => distinctMasks(new Int32Array(WORDS + 1), Uint8Array.of(1), WORDS), /holds 301 words, expected 1 rows × 300/);
});

test('a row the engine pointed at an earlier one (grammarSameAs) takes its mask unread; a bad pointer is a clear error', () => {
  const a = mask(5);
  const b = mask(6);
  // row 2 shares row 0 and was not written (its words are garbage); row 3 is an equal copy found by compare
  const { bitmask, rows } = rowsOf([a, b, mask(99), a.slice()]);
  const sameAs = Int32Array.of(-1, -1, 0, -1);
  const d = distinctMasks(bitmask, rows, WORDS, sameAs);
  assert.deepEqual([...d.index], [0, 1, 0, 0]);
  assert.deepEqual(d.masks, Int32Array.from([...a, ...b]));
  assert.throws(() => distinctMasks(bitmask, rows, WORDS, Int32Array.of(-1, 2, -1, -1)), /row 1 shares row 2, which holds no earlier mask/);
});
