// The recorded reference inputs are what the real Qwen3 tokenizer produces for the stored prompt texts (Chinese,
// code, emoji), and every architecture's fixture was recorded from exactly those inputs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import { qwenTokenizerDir } from '../../src/models/make-test-model.js';
import { readReference } from './reference-replay.js';

interface Inputs {
  steps: number;
  models: Array<{ arch: string }>;
  prompts: Array<{ name: string; text: string; tokenIds: number[] }>;
}

const inputs = JSON.parse(readFileSync('test/fixtures/reference/inputs.json', 'utf8')) as Inputs;

test('prompt token ids are the Qwen3 tokenizer output for the prompt texts', () => {
  const dir = qwenTokenizerDir();
  const tokenizer = new Tokenizer(
    JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
    JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')),
  );
  assert.deepEqual(inputs.prompts.map((p) => p.name), ['chinese', 'code', 'emoji']);
  for (const p of inputs.prompts) {
    assert.deepEqual(tokenizer.encode(p.text, { add_special_tokens: false }).ids, p.tokenIds, p.name);
  }
});

test('each architecture fixture was recorded on a named card from these inputs, 24 greedy steps of top-5', () => {
  assert.deepEqual(inputs.models.map((m) => m.arch), ['qwen2', 'qwen3', 'llama', 'mistral']);
  for (const { arch } of inputs.models) {
    const ref = readReference(arch);
    assert.match(ref.card, /H100|H200/, arch);
    assert.equal(ref.steps, 24);
    assert.equal(ref.topK, 5);
    assert.deepEqual(ref.model, inputs.models.find((m) => m.arch === arch));
    assert.deepEqual(ref.prompts.map((p) => p.tokenIds), inputs.prompts.map((p) => p.tokenIds), arch);
    for (const p of ref.prompts) {
      assert.equal(p.generated.length, 24);
      assert.ok(p.topLogprobs.every((row) => row.length === 5));
    }
  }
});
