import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { TokenizerPool } from '../../src/tokenizer/encode-pool.js';
import { createPromptEncoder, defaultTokenizerPoolSize, MainThreadEncoder } from '../../src/tokenizer/prompt-encoder.js';
import type { TextTokenizer } from '../../src/tokenizer/types.js';
import { qwen3Tokenizer } from './qwen3-tokenizer.js';

test('default pool size: one worker per core but one, at most 8, none on one core', () => {
  assert.equal(defaultTokenizerPoolSize(1), 0);
  assert.equal(defaultTokenizerPoolSize(2), 1);
  assert.equal(defaultTokenizerPoolSize(5), 4);
  assert.equal(defaultTokenizerPoolSize(64), 8);
});

test('size 0, or a tokenizer workers cannot rebuild, encodes on the calling thread; a bad size is a clear error', async () => {
  const tok = await qwen3Tokenizer();
  const off = createPromptEncoder(tok, 0);
  assert.ok(off instanceof MainThreadEncoder);
  assert.equal(off.threads, 0);
  const noSpecial = { addSpecialTokens: false };
  assert.deepEqual(await off.encodeMany(['Hello', '世界'], noSpecial), [tok.encode('Hello', noSpecial), tok.encode('世界', noSpecial)]);
  await assert.rejects(off.encode(null as unknown as string), /the prompt must be a string, got object/);
  // not a Tokenizer loaded from a folder
  const fake: TextTokenizer = { size: 3, eosTokenId: null, bosTokenId: null, padTokenId: null, encode: (t) => [...t].map(() => 1),
    decode: () => '', idToToken: () => undefined, tokenToId: () => undefined, isSpecial: () => false };
  const fakeEncoder = createPromptEncoder(fake, 4);
  assert.ok(fakeEncoder instanceof MainThreadEncoder);
  assert.deepEqual(await fakeEncoder.encode('abc'), [1, 1, 1]);
  assert.throws(() => createPromptEncoder(tok, -1), /tokenizerPoolSize must be a non-negative integer \(0 = off\), got -1/);
  assert.throws(() => createPromptEncoder(tok, 1.5), /got 1\.5/);
  const pool = createPromptEncoder(tok, 1);
  assert.ok(pool instanceof TokenizerPool);
  assert.equal(pool.threads, 1);
  await pool.close();
});

test('a process that leaves its pool open still exits once its prompts are encoded (idle workers are unref\'d)', () => {
  const script = `
    import { loadTokenizer } from './src/tokenizer/tokenizer.js';
    import { createPromptEncoder } from './src/tokenizer/prompt-encoder.js';
    import { QWEN3_TOKENIZER_DIR } from './test/tokenizer/qwen3-tokenizer.js';
    const tok = await loadTokenizer(QWEN3_TOKENIZER_DIR);
    const pool = createPromptEncoder(tok, 2);
    const ids = await pool.encodeMany(['The capital of France is'.repeat(40), 'x'.repeat(3000)]);
    console.log(JSON.stringify(ids.map((l) => l.length)));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, 'the process had to be killed: the pool kept it alive');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\[\d+,\d+\]$/m);
});
