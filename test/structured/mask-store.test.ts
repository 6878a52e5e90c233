// Cached masks are kept as their walk's mask plus the words where they differ (mask-store.ts): written back they
// must equal the mask they were made from, whatever the scratch buffer holds later, and a mask that differs in
// many words is kept whole. Real masks kept this way are checked against computed ones in mask-classes.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MaskScratch, diffMask, maskScratch, wholeMask } from '../../src/structured/mask-store.js';
import { packedOf } from '../../src/structured/packed-mask.js';
import { rng } from './random-walk.js';

const WORDS = 300;

test('a stored mask writes back exactly the mask it was made from, at any offset', () => {
  const next = rng(17);
  const base = Int32Array.from({ length: WORDS }, () => (next() * 0x100000000) | 0);
  const scratch = new MaskScratch(WORDS);
  for (const changed of [0, 1, 7, 99, 100, 101, 250, WORDS]) {
    scratch.start(base);
    const expected = Int32Array.from(base);
    // tokens already in the base change no word; new ones change `changed` words (a token twice in one word)
    for (let w = 0; w < WORDS; w++) for (let b = 0; b < 32; b++) if (base[w]! & (1 << b)) scratch.add(32 * w + b);
    for (let k = 0; k < changed; k++) {
      const w = Math.floor((k * WORDS) / changed);
      for (let b = 0; b < 32; b++) {
        if (!(base[w]! & (1 << b))) scratch.add(32 * w + b);
        expected[w] |= 1 << b;
      }
    }
    const stored = scratch.store();
    // the scratch reused for another mask leaves the stored one as it was
    scratch.start(new Int32Array(WORDS));
    for (let t = 0; t < 32 * WORDS; t += 3) scratch.add(t);
    const out = new Int32Array(WORDS + 10).fill(7);
    stored.writeTo(out, 5);
    assert.deepEqual(out.subarray(5, 5 + WORDS), expected, `${changed} words changed`);
    assert.ok(out.subarray(0, 5).every((w) => w === 7) && out.subarray(5 + WORDS).every((w) => w === 7), 'nothing written outside the row');
    // a diff of (index, word) pairs up to a third of the words changed; whole beyond that
    assert.equal(stored.ownWords, 3 * changed > WORDS ? WORDS : 2 * changed, `${changed} words changed`);
  }
});

test('a whole stored mask is a copy; widths must match; scratch buffers are per width', () => {
  const src = Int32Array.from({ length: WORDS }, (_, k) => k * 3 - 1);
  const stored = wholeMask(src);
  src[0] = 99;
  const out = new Int32Array(WORDS);
  stored.writeTo(out, 0);
  assert.equal(out[0], -1);
  assert.throws(() => new MaskScratch(5).start(new Int32Array(6)), /5 words from a base of 6/);
  assert.equal(maskScratch(WORDS), maskScratch(WORDS));
  assert.notEqual(maskScratch(WORDS), maskScratch(WORDS + 1));
  assert.equal(maskScratch(WORDS + 1).width, WORDS + 1);
});

test('a mask computed elsewhere (adopted) is kept as its diff against the walk mask, exactly', () => {
  const next = rng(29);
  const base = Int32Array.from({ length: WORDS }, () => (next() * 0x100000000) | 0);
  for (const changed of [0, 1, 2, 60, 100, 101, WORDS]) {
    const mask = Int32Array.from(base);
    for (let k = 0; k < changed; k++) mask[Math.floor((k * WORDS) / changed)] ^= 1 << (k % 32);
    const expected = Int32Array.from(mask);
    const stored = diffMask(mask, base);
    mask.fill(0); // the adopted row is the step's bitmask: it is rewritten later
    const out = new Int32Array(WORDS + 4).fill(5);
    stored.writeTo(out, 2);
    assert.deepEqual(out.subarray(2, 2 + WORDS), expected, `${changed} words changed`);
    assert.ok(out[0] === 5 && out[1] === 5 && out[WORDS + 2] === 5 && out[WORDS + 3] === 5, 'nothing written outside the row');
    assert.equal(stored.ownWords, 3 * changed > WORDS ? WORDS : 2 * changed, `${changed} words changed`);
  }
  assert.throws(() => diffMask(new Int32Array(3), new Int32Array(4)), /3-word mask against a 4-word base/);
});

test('a nearly empty base is written from its nonzero words: the same row as a copy, with its diff on top', () => {
  const next = rng(23);
  for (const nonzero of [0, 1, 40, 64, 65, 200]) {
    const base = new Int32Array(WORDS);
    for (let k = 0; k < nonzero; k++) base[Math.floor((k * WORDS) / nonzero)] = ((next() * 0x100000000) | 0) || 1;
    const scratch = new MaskScratch(WORDS);
    scratch.start(base);
    const expected = Int32Array.from(base);
    for (const t of [32 * 100 + 7, 32 * 150 + 3]) {
      scratch.add(t);
      expected[t >>> 5] |= 1 << (t & 31);
    }
    const stored = scratch.store();
    // a row full of another mask's words: the packed write must clear every word it does not set
    const out = new Int32Array(WORDS + 10).fill(-1);
    stored.writeTo(out, 5);
    assert.deepEqual(out.subarray(5, 5 + WORDS), expected, `${nonzero} nonzero words`);
    assert.ok(out.subarray(0, 5).every((w) => w === -1) && out.subarray(5 + WORDS).every((w) => w === -1), 'nothing written outside the row');
  }
});

test('packing reads words four at a time and the last ones one by one, whatever the width', () => {
  for (const width of [300, 301, 302, 303]) {
    const base = new Int32Array(width);
    // nonzero words at quad boundaries, inside quads, and in the tail a width not divisible by 4 leaves
    for (const w of [0, 3, 4, 7, 150, width - 3, width - 2, width - 1]) base[w] = w + 1;
    const scratch = new MaskScratch(width);
    scratch.start(base);
    const stored = scratch.store();
    const out = new Int32Array(width + 2).fill(-1);
    stored.writeTo(out, 1);
    assert.deepEqual(out.subarray(1, 1 + width), base, `width ${width}`);
    assert.ok(out[0] === -1 && out[width + 1] === -1, 'nothing written outside the row');
    assert.notEqual(packedOf(base), null, `width ${width}: written from its packed words (8 nonzero)`);
  }
});

