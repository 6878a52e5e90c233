// Replays HF tokenizers' DecodeStream (vLLM v1's fast detokenizer), recorded by scripts/reference/tokenizer_stream.py
// on the GPU machine: pushing one id at a time, serval's IncrementalDetokenizer must emit the same text per step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { IncrementalDetokenizer } from '../../src/tokenizer/incremental-detokenizer.js';
import { qwen3Tokenizer } from './qwen3-tokenizer.js';

const recorded = JSON.parse(readFileSync('test/fixtures/tokenizer/stream.json', 'utf8')) as {
  cases: { prompt: number[]; ids: number[]; skip_special_tokens: boolean; chunks: string[] }[];
};

test('per-token chunks equal HF tokenizers DecodeStream, with and without a prompt and special tokens', async () => {
  const tok = await qwen3Tokenizer();
  assert.ok(recorded.cases.length > 300);
  assert.ok(recorded.cases.some((c) => c.chunks.some((s, i) => s === '' && i < c.chunks.length - 1)), 'some steps hold text back');
  for (const [k, c] of recorded.cases.entries()) {
    const detok = new IncrementalDetokenizer(tok, c.prompt, { skipSpecialTokens: c.skip_special_tokens });
    const chunks = c.ids.map((id) => detok.push([id]));
    assert.deepEqual(chunks, c.chunks, `case ${k}: ids ${JSON.stringify(c.ids)} skip=${c.skip_special_tokens}`);
  }
});
