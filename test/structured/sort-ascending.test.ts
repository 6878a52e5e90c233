import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sortAscending } from '../../src/structured/sort-ascending.js';

test('sortAscending sorts the first n numbers in place and leaves the rest alone', () => {
  const a = [5, 3, 9, 1, 7, 2];
  assert.equal(sortAscending(a, 4), a, 'in place');
  assert.deepEqual(a, [1, 3, 5, 9, 7, 2]);
  assert.deepEqual(sortAscending([4, 2, 8, 6]), [2, 4, 6, 8], 'the whole list by default');
  assert.deepEqual(sortAscending([], 0), []);
});

test('sortAscending numerically past the insertion-sort length, cutting a longer list to its n numbers', () => {
  const n = 40;
  const values = Array.from({ length: n }, (_, i) => (i * 7919) % 101); // not in order, two-digit and one-digit mixed
  const a = [...values, -1, -2, -3];
  sortAscending(a, n);
  assert.deepEqual(a, [...values].sort((x, y) => x - y));
});
