// Providers run a sample request at start-up (warm-up.ts) so V8 compiles the mask path before real requests: the
// sample must go through (it throws where a mask refuses a token of it) under both walk settings, and leave the
// provider's caches empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { warmUpMaskPath } from '../../src/structured/warm-up.js';
import { qwen } from './qwen-fixture.js';

const q = qwen();

test('the warm-up sample is accepted token by token and leaves the provider\'s caches empty', () => {
  // (the format pre-walk, which fills the walk cache on purpose, is tested in format-prewalk.test.ts)
  const p = createGrammarProvider(q.vocab, { prewalkFormats: false });
  assert.equal(p.walks.size, 0);
  assert.equal(p.walks.stats.computed, 0);
  // again, by hand, for both walk settings (whole-trie walks are the tests' reference)
  warmUpMaskPath(q.vocab, p.trie, true);
  const whole = createGrammarProvider(q.vocab, { splitWalksAtQuote: false, warmUp: false });
  warmUpMaskPath(q.vocab, whole.trie, false);
  assert.equal(p.walks.stats.computed, 0);
  assert.equal(whole.walks.stats.computed, 0);
});

test('a vocabulary that cannot spell the sample ends the warm-up early, and the provider works', () => {
  // a few single-byte tokens only: the sample's first key cannot be spelled
  const tokenBytes = [...'{}":, \n0123456789'].map((c) => Uint8Array.of(c.charCodeAt(0)));
  const p = createGrammarProvider({ size: tokenBytes.length + 1, tokenBytes: [...tokenBytes, null], eosIds: [tokenBytes.length] });
  const m = p.create({ kind: 'json', schema: { type: 'integer' } });
  const mask = new Int32Array(1);
  m.fillNextTokenBitmask(mask, 0);
  const allowed = tokenBytes.map((_, id) => (mask[0]! >>> id) & 1).join('');
  assert.equal(allowed, '0000000' + '1111111111', 'digits only');
});

test('the provider keeps the warm-up\'s sample matchers alive (pretty and compact); none without a warm-up', () => {
  const sample = (p: object) => (p as { warmUpSample: readonly unknown[] }).warmUpSample;
  const p = createGrammarProvider(q.vocab);
  assert.equal(sample(p).length, 2);
  for (const m of sample(p)) assert.equal((m as { eosAllowed(): boolean }).eosAllowed(), true, 'each walked its whole sample');
  assert.equal(sample(createGrammarProvider(q.vocab, { warmUp: false })).length, 0);
});
