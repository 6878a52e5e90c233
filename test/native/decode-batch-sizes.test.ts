import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBatchSizes, MAX_DECODE_BATCH_SIZE } from '../../src/native/decode-batch-sizes.js';

test("decode batch sizes: every size up to 8 (the GEMV decode path), then vLLM's multiples of 8 up to max_num_seqs", () => {
  const sizes = decodeBatchSizes(256, 8192);
  assert.deepEqual(sizes.slice(0, 10), [1, 2, 3, 4, 5, 6, 7, 8, 16, 24]);
  assert.equal(sizes.at(-1), 256);
  assert.equal(sizes.length, 7 + 256 / 8);
  for (const s of sizes.slice(7)) assert.equal(s % 8, 0);
});

test('the largest size covers max_num_seqs when it is not a multiple of 8', () => {
  assert.equal(decodeBatchSizes(100, 8192).at(-1), 104);
  assert.deepEqual(decodeBatchSizes(3, 8192), [1, 2, 3]);
  assert.deepEqual(decodeBatchSizes(12, 8192), [1, 2, 3, 4, 5, 6, 7, 8, 16]);
  assert.deepEqual(decodeBatchSizes(1, 8192), [1]);
});

test('sizes stop at 512 and never exceed the token budget', () => {
  assert.equal(decodeBatchSizes(1024, 8192).at(-1), MAX_DECODE_BATCH_SIZE);
  // 100 rows at most per step, but a padded step of 104 rows would not fit 100 tokens of activations
  assert.equal(decodeBatchSizes(256, 100).at(-1), 96);
  assert.deepEqual(decodeBatchSizes(256, 3), [1, 2, 3]);
  assert.deepEqual(decodeBatchSizes(256, 12), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('bad limits are refused by name', () => {
  assert.throws(() => decodeBatchSizes(0, 8192), /max_num_seqs must be a positive integer, got 0/);
  assert.throws(() => decodeBatchSizes(8, 1.5), /max_num_batched_tokens must be a positive integer, got 1.5/);
});
