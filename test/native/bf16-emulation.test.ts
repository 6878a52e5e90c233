// The CPU emulation of the CUDA backend's 16-bit stores (bench/native/emulated-forward.ts, cuda-stores.ts): with
// nothing rounded it must be the ts reference itself, rounding must follow the storage types, and each kind of step
// must get the stores the CUDA code has (the accuracy conclusions in bench/native/README.md rest on both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AFTER, BEFORE, GEMV_MAX_TOKENS, storesFor } from '../../bench/native/cuda-stores.js';
import { EmulatedSequence, NO_STORES, round16 } from '../../bench/native/emulated-forward.js';
import { loadModelConfig } from '../../src/loader/model-config.js';
import { ReferenceModel } from '../../src/runner/ts/ts-model.js';
import { loadTsWeights } from '../../src/runner/ts/ts-weights.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { compareRows, maxTop5Diff } from './logprob-compare.js';
import { makeNativeTestModel, maxAbsDiff } from './native-test-helpers.js';

test('round16 rounds to nearest-even bf16 and fp16', () => {
  assert.equal(round16(1 + 2 ** -9, 'bf16'), 1);  // a quarter of bf16's ulp at 1 (2^-7)
  assert.equal(round16(1 + 2 ** -8, 'bf16'), 1);  // half an ulp: ties to even
  assert.equal(round16(1 + 3 * 2 ** -9, 'bf16'), 1 + 2 ** -7);
  assert.equal(round16(1 + 2 ** -12, 'fp16'), 1);
  assert.equal(round16(1 + 3 * 2 ** -12, 'fp16'), 1 + 2 ** -10);
  assert.equal(round16(70000, 'fp16'), Infinity);
  assert.equal(round16(70000, 'bf16'), 70144);
});

test('the emulated forward with nothing rounded is the ts reference; rounding moves it by bf16-sized amounts', () => {
  const dir = makeNativeTestModel('qwen3', 512);
  const config = loadModelConfig(dir);
  const weights = loadTsWeights(dir, config, 'auto');
  const ref = new ReferenceModel(config, weights, 8, 4);
  const exact = new EmulatedSequence(config, weights, 16);
  const rounded = new EmulatedSequence(config, weights, 16, 'bf16');
  const all = { norm: true, kv: true, attnP: true, attnOut: true, act: true, final: true };
  const blockTable = [3, 0, 5];
  let pending = [11, 22, 33, 44, 55];
  for (let pos = 0; pos < 9; pos += pending.length, pending = [(pos * 37) % 512]) {
    const batch = buildStepBatch([{ tokenIds: pending, startPosition: pos, blockTable, sample: true, promptLogits: true }], 4);
    const want = ref.forward(batch);
    const logitTokens = pending.map((_, i) => i);
    const got = exact.step(pending, NO_STORES, logitTokens);
    assert.ok(maxAbsDiff(want.promptLogits[0]!, got) < 1e-4, `exact emulation at position ${pos}`);
    const diff = maxTop5Diff(compareRows(want.promptLogits[0]!, rounded.step(pending, all, logitTokens), 512));
    assert.ok(diff > 1e-4 && diff < 0.2, `bf16 stores at position ${pos}: top-5 diff ${diff}`);
  }
  assert.equal(exact.position, 9);
  assert.throws(() => exact.step(Array(8).fill(1), NO_STORES), /more than its 16 positions/);
});

test('each kind of CUDA step gets its stores', () => {
  const T = GEMV_MAX_TOKENS;
  // GEMV steps: only the K/V cache (and a 2-token row's flash P) in S after this branch; the legacy decode kernel's
  // bf16 attention output before
  assert.deepEqual(storesFor(AFTER, 1, 1, 1), { norm: false, kv: true, attnP: false, attnOut: false, act: false, final: false });
  assert.equal(storesFor(AFTER, T, 1, T).attnP, true);
  assert.equal(storesFor(BEFORE, 1, 1, 1).attnOut, true);
  // cuBLASLt steps: every store in S, except the final norm of <= 2 logit rows after this branch
  assert.deepEqual(storesFor(AFTER, T + 1, T + 1, T + 1), { norm: true, kv: true, attnP: true, attnOut: true, act: true, final: true });
  assert.equal(storesFor(AFTER, 8, T, 8).final, false);
  assert.equal(storesFor(BEFORE, 8, 1, 8).final, true);
  // a one-token row of a cuBLASLt step runs a decode kernel: fp32 P
  assert.equal(storesFor(AFTER, 8, 2, 1).attnP, false);
});
