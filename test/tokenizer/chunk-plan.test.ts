import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planChunks } from '../../src/tokenizer/chunk-plan.js';

test('chunks are contiguous, in order, cover every text once and are about total / chunks long', () => {
  const lengths = Array.from({ length: 1000 }, (_, i) => 400 + ((i * 37) % 300));
  const ranges = planChunks(lengths, 16, 1024);
  assert.equal(ranges[0]![0], 0);
  assert.equal(ranges.at(-1)![1], lengths.length);
  ranges.slice(1).forEach(([start], i) => assert.equal(start, ranges[i]![1]));
  assert.ok(ranges.length >= 15 && ranges.length <= 17, `${ranges.length} chunks`);
  const total = lengths.reduce((a, b) => a + b, 0);
  for (const [s, e] of ranges.slice(0, -1)) {
    const size = lengths.slice(s, e).reduce((a, b) => a + b, 0);
    assert.ok(size >= total / 16 && size < total / 16 + 700, `chunk ${s}-${e}: ${size}`);
  }
});

test('small batches make fewer, bigger chunks (minChunk); a long text is a chunk of its own', () => {
  assert.deepEqual(planChunks([100, 100, 100, 100], 8, 250), [[0, 3], [3, 4]]);
  assert.deepEqual(planChunks([10, 5000, 10], 4, 100), [[0, 2], [2, 3]]);
  assert.deepEqual(planChunks([], 4, 100), []);
  assert.deepEqual(planChunks([0, 0], 4, 0), [[0, 2]]);
  assert.throws(() => planChunks([1], 0, 1), /chunks must be a positive integer, got 0/);
});
