// Writes test/fixtures/reference/inputs.json: the test models to compare (make-test-model options) and the prompts,
// tokenized here with the real Qwen3 tokenizer so the Python side needs no tokenizer.
// Run: node --import tsx scripts/reference/make-inputs.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { qwenTokenizerDir } from '../../src/models/make-test-model.js';

const dir = qwenTokenizerDir();
const tokenizer = new Tokenizer(
  JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
  JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')),
);

const prompts = [
  { name: 'chinese', text: '请用一句话介绍长城的历史，以及它为什么重要。' },
  { name: 'code', text: 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n' },
  { name: 'emoji', text: 'Weekend plans 🎉🏖️: beach, pizza 🍕 and 日本語 with friends 👨‍👩‍👧!' },
];

// Small models with the real 151,936-entry vocabulary; both rope styles appear (transformers reads both).
const models = [
  { arch: 'qwen2', seed: 11, hidden: 64, layers: 2, ropeStyle: 'old' },
  { arch: 'qwen3', seed: 12, hidden: 64, layers: 2, ropeStyle: 'new' },
  { arch: 'llama', seed: 13, hidden: 64, layers: 2, ropeStyle: 'old' },
  { arch: 'mistral', seed: 14, hidden: 64, layers: 2, ropeStyle: 'new' },
];

const inputs = {
  steps: 24,
  topK: 5,
  models,
  prompts: prompts.map((p) => ({ ...p, tokenIds: tokenizer.encode(p.text, { add_special_tokens: false }).ids })),
};
writeFileSync('test/fixtures/reference/inputs.json', JSON.stringify(inputs, null, 1) + '\n');
console.log(inputs.prompts.map((p) => `${p.name}: ${p.tokenIds.length} tokens`).join('\n'));
