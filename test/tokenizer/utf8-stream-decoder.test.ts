// The streaming UTF-8 decoder against node's TextDecoder (WHATWG, = Rust from_utf8_lossy): same text for random
// byte strings split at random points, and `incomplete` exactly when TextDecoder would hold bytes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Utf8StreamDecoder } from '../../src/tokenizer/utf8-stream-decoder.js';
import { rng } from './stream-helpers.js';

test('equals TextDecoder on random and adversarial byte strings, split anywhere', () => {
  const rand = rng(99);
  const valid = new TextEncoder().encode('aé你👨‍👩‍👧\uFFFD\u{10FFFF}\u07FF\uD7FF\uE000');
  // bytes around the edges of the valid ranges: overlongs (C0, C1, E0 80), surrogates (ED A0), > U+10FFFF (F4 90, F5)
  const edge = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
  let incompleteSeen = 0;
  for (let k = 0; k < 20000; k++) {
    const len = 1 + Math.floor(rand() * 12);
    const bytes = Uint8Array.from({ length: len }, () => {
      const r = rand();
      return r < 0.4 ? edge[Math.floor(rand() * edge.length)]! : r < 0.7 ? valid[Math.floor(rand() * valid.length)]! : Math.floor(rand() * 256);
    });
    const ours = new Utf8StreamDecoder();
    const theirs = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
    let a = '';
    let b = '';
    for (let i = 0; i < len; ) {
      const j = Math.min(len, i + 1 + Math.floor(rand() * 4));
      a += ours.write(bytes, i, j);
      b += theirs.decode(bytes.subarray(i, j), { stream: true });
      // TextDecoder holds bytes back iff flushing now would add a U+FFFD
      const probe = new TextDecoder('utf-8', { ignoreBOM: true });
      const held = probe.decode(bytes.subarray(0, j)) !== b;
      assert.equal(ours.incomplete, held, `bytes ${[...bytes.subarray(0, j)].map((x) => x.toString(16))}`);
      if (held) incompleteSeen++;
      i = j;
    }
    a += ours.end();
    b += theirs.decode();
    assert.equal(a, b, `bytes ${[...bytes].map((x) => x.toString(16))}`);
  }
  assert.ok(incompleteSeen > 1000);
});
