// The detokenizer on a Llama-2/Mistral-style tokenizer (Metaspace "▁", byte-fallback <0xNN> tokens, a decoder that
// strips the text's first space): the prompt/prefix context must keep word spaces right, and characters built
// from byte-fallback tokens must come out whole. The tokenizer is a tiny hand-made one in test/fixtures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IncrementalDetokenizer } from '../../src/tokenizer/incremental-detokenizer.js';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';
import { checkProperty, rng, stream } from './stream-helpers.js';

const tok = await loadTokenizer('test/fixtures/tokenizer/metaspace');
const id = (token: string) => {
  const v = tok.tokenToId(token);
  assert.ok(v !== undefined, token);
  return v;
};

test('the hand-made tokenizer decodes as a Llama-2 style one', () => {
  assert.equal(tok.decode([id('▁hello'), id('▁world')]), 'hello world', 'first space stripped');
  assert.equal(tok.decode([id('<0xE4>'), id('<0xBD>'), id('<0xA0>'), id('好')]), '你好', 'byte fallback');
  assert.equal(tok.decode([id('<s>'), id('▁hello'), id('</s>')], { skipSpecialTokens: true }), 'hello');
});

test('word spaces survive streaming: each token is decoded with the previous chunk as context', () => {
  const d = new IncrementalDetokenizer(tok, [id('<s>'), id('▁say')], { skipSpecialTokens: true });
  const chunks = [id('▁hello'), id('▁'), id('▁world'), id(',')].map((t) => d.push([t]));
  assert.deepEqual(chunks, [' hello', ' ', ' world', ',']);
  assert.equal(d.flush(), '');
});

test('pushes + flush equal decode(all ids) for random sequences, with and without prompts', () => {
  const rand = rng(3);
  for (let k = 0; k < 400; k++) {
    const ids = Array.from({ length: 1 + Math.floor(rand() * 25) }, () => Math.floor(rand() * tok.size));
    const prompt = k % 2 === 0 ? [] : [id('<s>'), id('▁the'), id('▁world')];
    for (const skipSpecialTokens of [true, false]) {
      const opts = { skipSpecialTokens };
      const promptText = tok.decode(prompt, opts);
      const full = tok.decode([...prompt, ...ids], opts);
      assert.ok(full.startsWith(promptText));
      checkProperty(full.slice(promptText.length), stream(tok, prompt, ids, opts, rand), `ids ${JSON.stringify(ids)} prompt ${prompt.length}`);
    }
  }
});
