// The ts backend reproduces transformers' fp32 greedy continuation and top-5 logprobs for a llama test model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readReference, replayReference, TOLERANCE } from './reference-replay.js';

test('llama: ts backend matches the recorded transformers reference within 1e-3', async () => {
  const ref = readReference('llama');
  assert.ok(ref.card.length > 0 && ref.prompts.length >= 3, 'fixture names its card and holds the prompts');
  const worst = await replayReference('llama');
  assert.ok(worst <= TOLERANCE);
});
