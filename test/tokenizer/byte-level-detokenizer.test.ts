// The byte-level fast path (ByteLevelDetokenizer) against the general decode-and-compare IncrementalDetokenizer and
// against HF tokenizers' recorded DecodeStream: same chunks for the same pushes, on recorded text and on random and
// adversarial id sequences (characters split across tokens, lone/invalid bytes, special and added tokens, prompts
// ending inside a character).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ByteLevelDetokenizer } from '../../src/tokenizer/byte-level-detokenizer.js';
import { IncrementalDetokenizer } from '../../src/tokenizer/incremental-detokenizer.js';
import { createDetokenizer } from '../../src/tokenizer/create-detokenizer.js';
import { byteLevelCharToByte } from '../../src/tokenizer/byte-level-alphabet.js';
import type { Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { qwen3Tokenizer } from './qwen3-tokenizer.js';
import { rng } from './stream-helpers.js';

const recorded = JSON.parse(readFileSync('test/fixtures/tokenizer/stream.json', 'utf8')) as {
  cases: { prompt: number[]; ids: number[]; skip_special_tokens: boolean; chunks: string[] }[];
};
const expected = JSON.parse(readFileSync('test/fixtures/tokenizer/expected.json', 'utf8')) as {
  encodings: { text: string; ids: number[] }[];
};

/** the byte-level alphabet's single-character token for each byte */
function byteTokenIds(tok: Tokenizer): number[] {
  const lookup = byteLevelCharToByte();
  const ids: number[] = [];
  lookup.forEach((b, code) => {
    if (b >= 0) ids[b] = tok.tokenToId(String.fromCharCode(code))!;
  });
  return ids;
}

function fast(tok: Tokenizer, prompt: number[], skipSpecialTokens: boolean): ByteLevelDetokenizer {
  assert.ok(tok.byteLevelTable, 'the Qwen3 tokenizer takes the byte-level path');
  return new ByteLevelDetokenizer(tok.byteLevelTable, prompt, { skipSpecialTokens });
}

test('the Qwen3 tokenizer qualifies for the byte-level path and createDetokenizer picks it', async () => {
  const tok = await qwen3Tokenizer();
  assert.ok(tok.byteLevelTable);
  assert.equal(tok.byteLevelTable.size, tok.size);
  assert.ok(createDetokenizer(tok, [], {}) instanceof ByteLevelDetokenizer);
});

test('per-token chunks equal HF tokenizers DecodeStream (recorded streams)', async () => {
  const tok = await qwen3Tokenizer();
  assert.ok(recorded.cases.length > 300);
  for (const [k, c] of recorded.cases.entries()) {
    const detok = fast(tok, c.prompt, c.skip_special_tokens);
    const chunks = c.ids.map((id) => detok.push([id]));
    assert.deepEqual(chunks, c.chunks, `case ${k}: ids ${JSON.stringify(c.ids)} skip=${c.skip_special_tokens}`);
  }
});

/** streams ids through both detokenizers with the same pushes; asserts equal chunks and equal flush */
const seen = { heldBack: 0, replacement: 0 };
function agree(tok: Tokenizer, prompt: number[], ids: number[], skipSpecialTokens: boolean, rand: () => number, label: string) {
  const general = new IncrementalDetokenizer(tok, prompt, { skipSpecialTokens });
  const byteLevel = fast(tok, prompt, skipSpecialTokens);
  for (let i = 0; i < ids.length; ) {
    const n = 1 + Math.floor(rand() * 3);
    const push = ids.slice(i, i + n);
    const chunk = byteLevel.push(push);
    assert.equal(chunk, general.push(push), `${label}: push at ${i} of ${JSON.stringify(ids)} (prompt ${JSON.stringify(prompt)})`);
    if (chunk === '') seen.heldBack++;
    if (chunk.includes('\uFFFD')) seen.replacement++;
    i += n;
  }
  assert.equal(byteLevel.flush(), general.flush(), `${label}: flush of ${JSON.stringify(ids)} (prompt ${JSON.stringify(prompt)})`);
}

test('agrees with the general detokenizer on random and adversarial sequences', async () => {
  const tok = await qwen3Tokenizer();
  const rand = rng(2026);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  // one id per byte: the byte-level alphabet's single-character tokens
  const byteIds = byteTokenIds(tok);
  assert.equal(byteIds.length, 256);
  assert.ok(byteIds.every((id) => Number.isInteger(id)));
  const added = [...Array(tok.size).keys()].filter((id) => tok.isAdded(id));
  assert.ok(added.some((id) => tok.isSpecial(id)) && added.some((id) => !tok.isSpecial(id)));
  const texts = ['你好，世界', '👨‍👩‍👧 family', 'naïve café 日本語のテキスト', '🙂🙃 \uFFFD ok', 'Ελληνικά и русский', '한국어 😀😀'];
  const pieces = [...texts.map((t) => tok.encode(t, { addSpecialTokens: false })), ...expected.encodings.map((e) => e.ids)];
  const utf8Bytes = texts.flatMap((t) => [...new TextEncoder().encode(t)]);

  const generators: Array<[string, () => number[]]> = [
    ['recorded text', () => pick(pieces).slice(0, 1 + Math.floor(rand() * 40))],
    ['random ids', () => Array.from({ length: 1 + Math.floor(rand() * 20) }, () => Math.floor(rand() * tok.size))],
    ['random bytes', () => Array.from({ length: 1 + Math.floor(rand() * 16) }, () => byteIds[Math.floor(rand() * 256)]!)],
    ['high bytes', () => Array.from({ length: 1 + Math.floor(rand() * 16) }, () => byteIds[0x80 + Math.floor(rand() * 128)]!)],
    // valid UTF-8 text one byte per token, with some bytes dropped or duplicated
    ['split characters', () => {
      const start = Math.floor(rand() * utf8Bytes.length);
      const out: number[] = [];
      for (const b of utf8Bytes.slice(start, start + 1 + Math.floor(rand() * 24))) {
        const r = rand();
        if (r < 0.05) continue;
        out.push(byteIds[b]!);
        if (r > 0.95) out.push(byteIds[b]!);
      }
      return out;
    }],
    // any of the above with added/special tokens and out-of-range ids dropped in
    ['mixed with added tokens', () => {
      const out = [...pick(pieces).slice(0, 10), ...Array.from({ length: 6 }, () => byteIds[0x80 + Math.floor(rand() * 128)]!)];
      for (let k = 0; k < 3; k++) out.splice(Math.floor(rand() * (out.length + 1)), 0, rand() < 0.8 ? pick(added) : tok.size + 5);
      return out;
    }],
  ];
  let cases = 0;
  for (let k = 0; k < 4000; k++) {
    const [name, gen] = pick(generators);
    const prompt = rand() < 0.5 ? [] : gen();
    const ids = gen();
    for (const skip of [true, false]) agree(tok, prompt, ids, skip, rand, `${name} #${k} skip=${skip}`);
    cases++;
  }
  assert.equal(cases, 4000);
  // the adversarial generators did reach the interesting states
  assert.ok(seen.heldBack > 1000, `only ${seen.heldBack} pushes were held back`);
  assert.ok(seen.replacement > 1000, `only ${seen.replacement} chunks carried U+FFFD`);
});

test('a character split between the prompt and the first generated token comes out whole', async () => {
  const tok = await qwen3Tokenizer();
  const emoji = tok.encode('hi 👨‍👩‍👧 ok', { addSpecialTokens: false });
  const cut = emoji.findIndex((_, i) => i > 0 && tok.decode(emoji.slice(0, i)).endsWith('\uFFFD'));
  assert.ok(cut > 0);
  const detok = fast(tok, emoji.slice(0, cut), true);
  assert.equal(emoji.slice(cut).map((id) => detok.push([id])).join('') + detok.flush(), ' 👨‍👩‍👧 ok');
});

test('flush ends the stream: an unfinished character comes out as U+FFFD, and push afterwards is refused', async () => {
  const tok = await qwen3Tokenizer();
  const ids = tok.encode('你', { addSpecialTokens: false });
  const bytes = [...new TextEncoder().encode('你')];
  const byteIds = byteTokenIds(tok);
  const byteId = (b: number) => byteIds[b]!;
  assert.ok(ids.length >= 1);
  const detok = fast(tok, [], true);
  assert.equal(detok.push([byteId(bytes[0]!), byteId(bytes[1]!)]), '');
  assert.equal(detok.flush(), '\uFFFD');
  assert.throws(() => detok.push([ids[0]!]), /push\(\) after flush\(\)/);
});

test('every id of the Qwen3 tokenizer streams to exactly its decode, alone and after a split character', async () => {
  const tok = await qwen3Tokenizer();
  const lead = byteTokenIds(tok)[0xe4]!; // first byte of a 3-byte character, left unfinished
  for (let id = 0; id < tok.size + 2; id++) {
    for (const skipSpecialTokens of [true, false]) {
      const alone = fast(tok, [], skipSpecialTokens);
      assert.equal(alone.push([id]) + alone.flush(), tok.decode([id], { skipSpecialTokens }), `id ${id} skip=${skipSpecialTokens}`);
    }
    if (id % 7 === 0) {
      const after = fast(tok, [], false);
      assert.equal(after.push([lead, id]) + after.flush(), tok.decode([lead, id]), `id ${id} after 0xE4`);
    }
  }
});
