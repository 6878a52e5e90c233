import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveSamplingParams, type ResolveContext } from '../../src/engine/sampling-params.js';
import type { SamplingParams } from '../../src/engine/types.js';

const ctx: ResolveContext = { vocabSize: 100, maxLogprobs: 5 };
const r = (p: SamplingParams, c = ctx) => resolveSamplingParams(p, c);

test('invalid values are rejected with a message naming the field (vLLM wording)', () => {
  const cases: Array<[SamplingParams, RegExp]> = [
    [{ temperature: -1 }, /^temperature must be non-negative, got -1\.$/],
    [{ topP: 0 }, /^top_p must be in \(0, 1\], got 0\.$/],
    [{ topK: -2 }, /^top_k must be 0 \(disable\), or at least 1, got -2\.$/],
    [{ topK: 101 }, /^top_k cannot be greater than vocabulary size\(100\), but got 101\.$/],
    [{ minP: 2 }, /^min_p must be in \[0, 1\], got 2\.$/],
    [{ n: 0 }, /^n must be at least 1, got 0\.$/],
    [{ presencePenalty: 3 }, /^presence_penalty must be in \[-2, 2\], got 3\.$/],
    [{ frequencyPenalty: -3 }, /^frequency_penalty must be in \[-2, 2\], got -3\.$/],
    [{ repetitionPenalty: 0 }, /^repetition_penalty must be greater than zero, got 0\.$/],
    [{ maxTokens: 0 }, /^max_tokens must be at least 1, got 0\.$/],
    [{ minTokens: -1 }, /^min_tokens must be greater than or equal to 0, got -1\.$/],
    [{ minTokens: 5, maxTokens: 2 }, /^min_tokens must be less than or equal to max_tokens=2, got 5\.$/],
    [{ logprobs: 6 }, /^Requested sample logprobs of 6, which is greater than max allowed: 5$/],
    [{ promptLogprobs: 6 }, /^Requested prompt logprobs of 6, which is greater than max allowed: 5$/],
    [{ stop: ['a', ''] }, /^stop cannot contain an empty string\.$/],
    [{ allowedTokenIds: [] }, /allowed_token_ids is not None and empty!/],
    [{ allowedTokenIds: [100] }, /allowed_token_ids contains out-of-vocab token id!/],
    [{ logitBias: { '1000': 1 } }, /token_id\(s\) 1000 in logit_bias contain out-of-vocab token ids\. Vocabulary size: 100/],
    [{ seed: 1.5 }, /^seed must be an integer/],
    [{ temperature: 'hot' as unknown as number }, /^temperature must be a number/],
  ];
  for (const [p, re] of cases) assert.throws(() => r(p), { message: re }, JSON.stringify(p));
});

test('request value → generation_config → vLLM default', () => {
  const d = r({});
  assert.equal(d.temperature, 1);
  assert.equal(d.topP, 1);
  assert.equal(d.maxTokens, null);
  assert.equal(d.skipSpecialTokens, true);
  const g = r({ topP: 0.5 }, { ...ctx, defaults: { temperature: 0.7, topP: 0.9, topK: 20, maxTokens: 64 } });
  assert.equal(g.temperature, 0.7);
  assert.equal(g.topP, 0.5);
  assert.equal(g.topK, 20);
  assert.equal(g.maxTokens, null, 'max_new_tokens caps the default instead of becoming the request value');
  assert.equal(g.defaultMaxTokens, 64);
});

test('greedy clears the truncation settings; top_k -1 means off; logit_bias is clamped', () => {
  const p = r({ temperature: 0, topK: 5, topP: 0.3 });
  assert.equal(p.topK, 0);
  assert.equal(p.topP, 1);
  assert.equal(r({ topK: -1 }).topK, 0);
  assert.equal(r({ logitBias: { '3': 500 } }).logitBias!.get(3), 100);
  assert.deepEqual(r({ stop: 'x' }).stop, ['x']);
});
