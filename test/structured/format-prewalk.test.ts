// The provider walks the built-in string formats' first bytes at start-up (format-prewalk.ts): those walks must be
// the ones masks would compute (same masks with and without), must be what masks inside a format string then use
// (no new walk within PREWALK_BYTES), and must stay cached whatever else the bounded walk cache takes in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { PREWALK_BYTES } from '../../src/structured/format-prewalk.js';
import { LexerWalkCache, type SharedLexerWalk } from '../../src/structured/lexer-walk.js';
import { SUPPORTED_FORMATS } from '../../src/structured/json-schema/formats.js';
import { qwen } from './qwen-fixture.js';

const q = qwen();
const words = Math.ceil(q.vocab.size / 32);

const SAMPLES: Record<string, string> = {
  email: 'grace.hopper@navy.example.mil',
  uri: 'https://example.org/people/grace?tab=bio#early',
  'date-time': '1985-12-06T09:30:00.250+01:00',
  date: '1952-05-01',
  time: '09:30:00.25Z',
  duration: 'P3Y6M4DT12H30M5S',
  hostname: 'harvard.example.edu',
  ipv4: '192.168.100.254',
  ipv6: '2001:db8:85a3::8a2e:370:7334',
  uuid: '3f2b8c1e-9d4a-4b7e-8f21-0c6d5e4a3b2f',
  byte: 'SGVsbG8sIHdvcmxkIQ==',
};

test('every supported format has a sample here', () => {
  assert.deepEqual(Object.keys(SAMPLES).sort(), [...SUPPORTED_FORMATS].sort());
});

test('format strings get the same masks with and without the pre-walk, and none of the first bytes walks again', () => {
  const pre = createGrammarProvider(q.vocab);
  const plain = createGrammarProvider(q.vocab, { prewalkFormats: false });
  assert.ok(pre.walks.size > 100, `${pre.walks.size} walks at start-up`);
  assert.equal(pre.walks.size, pre.walks.stats.computed);
  assert.equal(plain.walks.size, 0);
  for (const [format, value] of Object.entries(SAMPLES)) {
    const c = { kind: 'json' as const, schema: { type: 'string', format } };
    const a = pre.create(c);
    const b = plain.create(c);
    const ids = q.encode(JSON.stringify(value));
    let bytesIn = -1; // bytes of the value accepted so far (-1: before the opening quote)
    let insideMasks = 0;
    for (const id of ids) {
      const ma = new Int32Array(words);
      const mb = new Int32Array(words);
      const before = pre.walks.stats.computed;
      a.fillNextTokenBitmask(ma, 0);
      const inside = bytesIn >= 0 && bytesIn <= PREWALK_BYTES;
      if (inside) {
        assert.equal(pre.walks.stats.computed, before, `${format}: a new walk ${bytesIn} bytes in`);
        insideMasks++;
      }
      b.fillNextTokenBitmask(mb, 0);
      assert.deepEqual(ma, mb, `${format}: mask ${bytesIn} bytes in`);
      assert.equal(a.acceptToken(id), true, format);
      assert.equal(b.acceptToken(id), true, format);
      bytesIn += q.vocab.tokenBytes[id]!.length;
    }
    assert.ok(insideMasks > 0, `${format}: masks inside the string checked`);
    assert.equal(a.eosAllowed(), true, format);
  }
});

test('walks computed while pinning stay cached past the bounded cache', () => {
  const cache = new LexerWalkCache();
  const fake = (): SharedLexerWalk => ({ trie: null as never, inner: new Int32Array(1), boundaryCount: 0, deepNodes: [], boundarySlotGroups: [], visited: 1 });
  cache.pinning = true;
  for (let k = 0; k < 3; k++) cache.get(`pinned${k}`, fake);
  cache.pinning = false;
  for (let k = 0; k < 2000; k++) cache.get(`other${k}`, fake);
  assert.equal(cache.has('other0'), false, 'the bounded part dropped its oldest');
  for (let k = 0; k < 3; k++) {
    assert.equal(cache.has(`pinned${k}`), true);
    cache.get(`pinned${k}`, () => assert.fail('a pinned walk was computed again'));
  }
  assert.equal(cache.stats.computed, 2003);
});
