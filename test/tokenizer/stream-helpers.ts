// Shared by the detokenizer property tests: a seeded PRNG, a streaming driver and the stream == decode check.
import assert from 'node:assert/strict';
import { IncrementalDetokenizer } from '../../src/tokenizer/incremental-detokenizer.js';
import type { DecodeOptions, TextTokenizer } from '../../src/tokenizer/types.js';

/** small seeded PRNG (the test models' mulberry32) so failures reproduce */
export { mulberry32 as rng } from '../../src/models/seeded-random.js';

export function stream(tok: TextTokenizer, prompt: number[], ids: number[], opts: DecodeOptions, rand: () => number) {
  const detok = new IncrementalDetokenizer(tok, prompt, opts);
  const chunks: string[] = [];
  for (let i = 0; i < ids.length; ) {
    const n = 1 + Math.floor(rand() * 3); // pushes of 1..3 ids, as with speculative decoding
    chunks.push(detok.push(ids.slice(i, i + n)));
    i += n;
  }
  chunks.push(detok.flush());
  return chunks;
}

export function checkProperty(full: string, chunks: string[], label: string) {
  assert.equal(chunks.join(''), full, label);
  if (!full.includes('\uFFFD')) {
    for (const c of chunks) assert.ok(!c.includes('\uFFFD'), `${label}: chunk ${JSON.stringify(c)} has U+FFFD`);
  }
}
