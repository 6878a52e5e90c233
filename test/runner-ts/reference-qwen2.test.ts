// The ts backend reproduces transformers' fp32 greedy continuation and top-5 logprobs for a qwen2 test model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readReference, replayReference, TOLERANCE } from './reference-replay.js';

test('qwen2: ts backend matches the recorded transformers reference within 1e-3', async () => {
  const ref = readReference('qwen2');
  assert.ok(ref.card.length > 0 && ref.prompts.length >= 3, 'fixture names its card and holds the prompts');
  const worst = await replayReference('qwen2');
  assert.ok(worst <= TOLERANCE);
});
