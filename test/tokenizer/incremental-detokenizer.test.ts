// Property tests: streamed text == full decode, no broken characters in chunks, O(new tokens) work per push.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { IncrementalDetokenizer } from '../../src/tokenizer/incremental-detokenizer.js';
import type { DecodeOptions, TextTokenizer } from '../../src/tokenizer/types.js';
import { qwen3Tokenizer } from './qwen3-tokenizer.js';
import { checkProperty, rng, stream } from './stream-helpers.js';

const expected = JSON.parse(readFileSync('test/fixtures/tokenizer/expected.json', 'utf8')) as {
  encodings: { text: string; ids: number[] }[];
  decodes: { ids: number[] }[];
};

test('pushes + flush equal decode(all ids) for recorded and random sequences; no U+FFFD in chunks', async () => {
  const tok = await qwen3Tokenizer();
  const rand = rng(7);
  const allIds = expected.encodings.flatMap((e) => e.ids);
  const sequences = expected.decodes.map((d) => d.ids);
  for (let k = 0; k < 300; k++) {
    const start = Math.floor(rand() * allIds.length);
    sequences.push(allIds.slice(start, start + 1 + Math.floor(rand() * 60)));
  }
  for (let k = 0; k < 100; k++) {
    sequences.push(Array.from({ length: 1 + Math.floor(rand() * 20) }, () => Math.floor(rand() * tok.size)));
  }
  let withSplitChars = 0;
  for (const ids of sequences) {
    for (const skipSpecialTokens of [true, false]) {
      const opts = { skipSpecialTokens };
      const full = tok.decode(ids, opts);
      checkProperty(full, stream(tok, [], ids, opts, rand), `ids ${JSON.stringify(ids)} skip=${skipSpecialTokens}`);
    }
    if (ids.some((_, i) => tok.decode(ids.slice(0, i + 1)).endsWith('\uFFFD'))) withSplitChars++;
  }
  assert.ok(withSplitChars > 50, `only ${withSplitChars} sequences split a character across tokens`);
});

test('after a prompt, the stream is the text the generated ids add', async () => {
  const tok = await qwen3Tokenizer();
  const rand = rng(11);
  for (let k = 0; k < 100; k++) {
    const prompt = expected.encodings[Math.floor(rand() * expected.encodings.length)]!.ids;
    const gen = expected.encodings[Math.floor(rand() * expected.encodings.length)]!.ids;
    const promptText = tok.decode(prompt, { skipSpecialTokens: true });
    const full = tok.decode([...prompt, ...gen], { skipSpecialTokens: true });
    assert.ok(full.startsWith(promptText));
    checkProperty(full.slice(promptText.length), stream(tok, prompt, gen, {}, rand), `prompt ${k}`);
  }
});

test('a character split between the prompt and the first generated token comes out whole', async () => {
  const tok = await qwen3Tokenizer();
  const emoji = tok.encode('hi 👨‍👩‍👧 ok', { addSpecialTokens: false });
  // find a cut inside a character
  const cut = emoji.findIndex((_, i) => i > 0 && tok.decode(emoji.slice(0, i)).endsWith('\uFFFD'));
  assert.ok(cut > 0, 'the emoji is split across byte tokens');
  const detok = new IncrementalDetokenizer(tok, emoji.slice(0, cut), {});
  const out = emoji.slice(cut).map((id) => detok.push([id])).join('') + detok.flush();
  // the prompt's last token " \xF0\x9F\x91" is re-read whole once the emoji completes, space included
  assert.equal(tok.decode(emoji.slice(0, cut)), 'hi \uFFFD');
  assert.equal(out, ' 👨‍👩‍👧 ok');
  assert.ok(!out.includes('\uFFFD'));
});

test('special tokens are dropped or kept per skipSpecialTokens', async () => {
  const tok = await qwen3Tokenizer();
  const ids = [tok.tokenToId('<|im_start|>')!, ...tok.encode('assistant\n你好', { addSpecialTokens: false }),
    tok.tokenToId('<|im_end|>')!];
  const run = (skipSpecialTokens: boolean) => {
    const d = new IncrementalDetokenizer(tok, [], { skipSpecialTokens });
    return ids.map((id) => d.push([id])).join('') + d.flush();
  };
  assert.equal(run(true), 'assistant\n你好');
  assert.equal(run(false), '<|im_start|>assistant\n你好<|im_end|>');
});

test('each push decodes a window bounded by the new tokens, not the whole output', async () => {
  const tok = await qwen3Tokenizer();
  let maxWindow = 0;
  let decodedIds = 0;
  const counting: TextTokenizer = Object.create(tok, {
    decode: {
      value: (ids: ArrayLike<number>, opts?: DecodeOptions) => {
        maxWindow = Math.max(maxWindow, ids.length);
        decodedIds += ids.length;
        return tok.decode(ids, opts);
      },
    },
  });
  const ids = Array.from({ length: 20 }, () => expected.encodings.flatMap((e) => e.ids)).flat();
  assert.ok(ids.length > 10000);
  const detok = new IncrementalDetokenizer(counting, [], {});
  let text = '';
  for (const id of ids) text += detok.push([id]);
  text += detok.flush();
  assert.equal(text, tok.decode(ids, { skipSpecialTokens: true }));
  assert.ok(maxWindow <= 16, `window grew to ${maxWindow} ids`);
  assert.ok(decodedIds < ids.length * 8, `decoded ${decodedIds} ids in total for ${ids.length}`);
});
