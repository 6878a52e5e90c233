import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHumanReadableInt } from '../../src/config/human-readable-int.js';

test('human-readable ints as vLLM: k = 1000, K = 1024, decimals only with lowercase', () => {
  assert.equal(parseHumanReadableInt('10240'), 10240);
  assert.equal(parseHumanReadableInt('10k'), 10000);
  assert.equal(parseHumanReadableInt('32K'), 32768);
  assert.equal(parseHumanReadableInt('25.6k'), 25600);
  assert.equal(parseHumanReadableInt('1m'), 1_000_000);
  assert.equal(parseHumanReadableInt('1M'), 1_048_576);
  assert.equal(parseHumanReadableInt('2G'), 2 * 2 ** 30);
  assert.equal(parseHumanReadableInt('-1'), null);
  assert.equal(parseHumanReadableInt('auto'), null);
});

test('human-readable ints: bad values name a valid form', () => {
  assert.throws(() => parseHumanReadableInt('3.5K'), /binary suffixes .* whole numbers; use a lowercase decimal suffix such as '3.5k'/);
  assert.throws(() => parseHumanReadableInt('12x'), /not a whole number; use e.g. 10240, 10k/);
  assert.throws(() => parseHumanReadableInt('1.5'), /must be a whole number/);
  assert.throws(() => parseHumanReadableInt('1.0005k'), /not a whole number of tokens/);
});
