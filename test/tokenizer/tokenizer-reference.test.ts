// Replays token ids and decodes recorded from Python HF `tokenizers` 0.23 / transformers 5.17
// (scripts/reference/tokenizer_ids.py on the GPU machine) against serval's tokenizer, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { qwen3Tokenizer } from './qwen3-tokenizer.js';

interface Expected {
  encodings: { text: string; ids: number[]; ids_add_special: number[]; transformers_ids: number[] }[];
  decodes: { ids: number[]; text: string; text_skip_special: string; transformers_text: string;
    transformers_text_skip_special: string }[];
}
const expected = JSON.parse(readFileSync('test/fixtures/tokenizer/expected.json', 'utf8')) as Expected;

test('encode matches HF tokenizers on the multilingual corpus (CJK, emoji, code, whitespace, special tokens)', async () => {
  const tok = await qwen3Tokenizer();
  assert.ok(expected.encodings.length >= 40);
  for (const e of expected.encodings) {
    assert.deepEqual(tok.encode(e.text, { addSpecialTokens: false }), e.ids, `encode ${JSON.stringify(e.text)}`);
    assert.deepEqual(tok.encode(e.text), e.ids_add_special, `encode+special ${JSON.stringify(e.text)}`);
  }
});

test('decode matches transformers, with and without skipSpecialTokens, including split characters', async () => {
  const tok = await qwen3Tokenizer();
  for (const d of expected.decodes) {
    assert.equal(tok.decode(d.ids), d.transformers_text, `decode ${JSON.stringify(d.ids)}`);
    assert.equal(tok.decode(d.ids, { skipSpecialTokens: true }), d.transformers_text_skip_special,
      `decode(skip) ${JSON.stringify(d.ids)}`);
  }
  assert.ok(expected.decodes.some((d) => d.text.includes('\uFFFD')), 'corpus exercises broken UTF-8');
});

test('round trip and special-token metadata from tokenizer_config.json', async () => {
  const tok = await qwen3Tokenizer();
  assert.equal(tok.size, 151669);
  assert.equal(tok.eosTokenId, tok.tokenToId('<|im_end|>'));
  assert.equal(tok.padTokenId, tok.tokenToId('<|endoftext|>'));
  assert.equal(tok.bosTokenId, null);
  assert.equal(tok.isSpecial(tok.tokenToId('<|im_start|>')!), true);
  assert.equal(tok.isSpecial(tok.tokenToId('<think>')!), false, '<think> is added but not special');
  assert.equal(tok.isAdded(tok.tokenToId('<think>')!), true);
  assert.equal(tok.idToToken(tok.tokenToId('hello')!), 'hello');
  assert.equal(tok.decode([]), '');
  // the model's embedding is padded past the vocabulary (151,936 rows): such ids decode to nothing, as in HF tokenizers
  const hello = tok.encode('Hello world', { addSpecialTokens: false });
  assert.equal(tok.decode([hello[0]!, 151900, ...hello.slice(1)]), 'Hello world');
  // Qwen's normalizer is NFC, so decoding gives the NFC form back
  for (const e of expected.encodings) assert.equal(tok.decode(e.ids), e.text.normalize('NFC'));
});
