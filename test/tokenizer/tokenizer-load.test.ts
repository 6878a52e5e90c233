import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';
import { QWEN3_TOKENIZER_DIR } from './qwen3-tokenizer.js';

test('a folder without tokenizer.json is a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serval-tok-'));
  await assert.rejects(loadTokenizer(dir), /no tokenizer\.json in/);
});

test('a broken tokenizer.json names the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serval-tok-'));
  writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
  await assert.rejects(loadTokenizer(dir), /cannot parse .*tokenizer\.json/);
});

test('an eos_token missing from the vocabulary is a clear error; AddedToken objects are read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serval-tok-'));
  copyFileSync(join(QWEN3_TOKENIZER_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|no_such_token|>' }));
  await assert.rejects(loadTokenizer(dir), /eos_token "<\|no_such_token\|>" is not in the vocabulary/);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({
    eos_token: { content: '<|endoftext|>', special: true }, bos_token: '<|im_start|>',
  }));
  const tok = await loadTokenizer(dir);
  assert.equal(tok.eosTokenId, 151643);
  assert.equal(tok.bosTokenId, 151644);
  assert.equal(tok.padTokenId, null);
});
