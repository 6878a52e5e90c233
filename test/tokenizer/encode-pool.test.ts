// TokenizerPool: worker threads give the same ids as the main-thread tokenizer, in order; failures reject clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { TokenizerPool } from '../../src/tokenizer/encode-pool.js';
import type { EncodeWorkerInit } from '../../src/tokenizer/encode-protocol.js';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/tokenizer.js';
import { qwen3Tokenizer, QWEN3_TOKENIZER_DIR } from './qwen3-tokenizer.js';

interface Expected {
  encodings: { text: string; ids: number[]; ids_add_special: number[] }[];
}
const expected = JSON.parse(readFileSync('test/fixtures/tokenizer/expected.json', 'utf8')) as Expected;

function scripted(tok: Tokenizer, extra: { silent?: boolean } = {}): (init: EncodeWorkerInit) => Worker {
  const fingerprint = { size: tok.size, eosTokenId: tok.eosTokenId, bosTokenId: tok.bosTokenId, padTokenId: tok.padTokenId };
  return (init) => new Worker(new URL('./workers/scripted-encode-worker.mjs', import.meta.url), { workerData: { ...init, fingerprint, ...extra } });
}
const codes = (s: string): number[] => [...s].map((c) => c.codePointAt(0)!);

function tokenizerCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'serval-pool-'));
  copyFileSync(join(QWEN3_TOKENIZER_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  copyFileSync(join(QWEN3_TOKENIZER_DIR, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  return dir;
}

test('two workers encode the multilingual corpus exactly as HF tokenizers and the main thread, in input order', async () => {
  const tok = await qwen3Tokenizer();
  const pool = new TokenizerPool(tok, { size: 2, mainThreadMaxChars: 0 });
  try {
    await pool.whenReady();
    const texts = expected.encodings.map((e) => e.text);
    assert.deepEqual(await pool.encodeMany(texts, { addSpecialTokens: false }), expected.encodings.map((e) => e.ids));
    assert.deepEqual(await pool.encodeMany(texts), expected.encodings.map((e) => e.ids_add_special));
    // long prompts (corpus texts in rotating order) fill several chunks, spread over both workers
    const long = Array.from({ length: 40 }, (_, i) => [...texts.slice(i % texts.length), ...texts.slice(0, i % texts.length)].join(i % 2 ? '\n' : ' '));
    const mixed = [...long, ...texts];
    const viaPool = await pool.encodeMany(mixed, { addSpecialTokens: false });
    assert.deepEqual(viaPool, mixed.map((t) => tok.encode(t, { addSpecialTokens: false })));
    // single calls made in one tick are batched the same way and each gets its own result
    const singles = await Promise.all(mixed.map((t) => pool.encode(t)));
    assert.deepEqual(singles, mixed.map((t) => tok.encode(t)));
    assert.deepEqual(await pool.encodeMany([]), []);
  } finally {
    await pool.close();
  }
});

test('a batch at or below mainThreadMaxChars is encoded on the calling thread, a bigger one waits for a worker', async () => {
  const tok = await qwen3Tokenizer();
  // the worker never gets ready: only what stays on the main thread can finish
  const pool = new TokenizerPool(tok, { size: 1, mainThreadMaxChars: 10, startWorker: scripted(tok, { silent: true }) });
  try {
    assert.deepEqual(await pool.encodeMany(['Hello', 'world']), [tok.encode('Hello'), tok.encode('world')]);
    let settled = false;
    const big = pool.encode('Hello world!').finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, false, 'a batch over the threshold is queued for the worker');
    const rejected = assert.rejects(big, /the tokenizer pool was closed/);
    await pool.close();
    await rejected;
  } finally {
    await pool.close();
  }
});

test('a worker crash rejects only the prompts it held; a fresh worker takes over', async () => {
  const tok = await qwen3Tokenizer();
  const pool = new TokenizerPool(tok, { size: 1, mainThreadMaxChars: 0, startWorker: scripted(tok) });
  try {
    await pool.whenReady();
    assert.deepEqual(await pool.encode('abc'), codes('abc'));
    await assert.rejects(pool.encode('CRASH'), /tokenizer worker 0 crashed while encoding 1 prompt\(s\): scripted crash/);
    assert.deepEqual(await pool.encode('after'), codes('after'), 'the replacement worker answers');
    await assert.rejects(pool.encode('EXIT'), /tokenizer worker 1 crashed while encoding 1 prompt\(s\): exit code 7/);
    assert.deepEqual(await pool.encode('again'), codes('again'));
  } finally {
    await pool.close();
  }
});

test('a text the worker cannot encode fails alone; bad input is a clear error', async () => {
  const tok = await qwen3Tokenizer();
  const pool = new TokenizerPool(tok, { size: 1, mainThreadMaxChars: 0, startWorker: scripted(tok) });
  try {
    const [a, b, c] = await Promise.allSettled([pool.encode('one'), pool.encode('FAIL'), pool.encode('two')]);
    assert.deepEqual(a, { status: 'fulfilled', value: codes('one') });
    assert.equal(b.status, 'rejected');
    assert.match((b as PromiseRejectedResult).reason.message, /cannot encode the prompt: scripted failure/);
    assert.deepEqual(c, { status: 'fulfilled', value: codes('two') });
    await assert.rejects(pool.encode(42 as unknown as string), /the prompt must be a string, got number/);
    await assert.rejects(pool.encodeMany('abc' as unknown as string[]), /texts must be an array/);
  } finally {
    await pool.close();
  }
  assert.throws(() => new TokenizerPool(tok, { size: 0 }), /pool size must be a positive integer, got 0/);
});

test('a tokenizer the workers cannot load rejects every call, now and later, naming the folder and the cause', async () => {
  const dir = tokenizerCopy();
  const tok = await loadTokenizer(dir);
  writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
  const pool = new TokenizerPool(tok, { size: 2, mainThreadMaxChars: 0 });
  try {
    const message = /the tokenizer worker pool cannot load the tokenizer from .*serval-pool-.*: cannot parse .*tokenizer\.json/;
    await assert.rejects(pool.encode('some prompt'), message);
    await assert.rejects(pool.whenReady(), message);
    await assert.rejects(pool.encodeMany(['later']), message);
  } finally {
    await pool.close();
  }
});

test('workers that load a different tokenizer than the engine has (files changed) fail the pool', async () => {
  const dir = tokenizerCopy();
  const tok = await loadTokenizer(dir);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|endoftext|>' }));
  const pool = new TokenizerPool(tok, { size: 1, mainThreadMaxChars: 0 });
  try {
    await assert.rejects(pool.encode('x'), /loaded a different tokenizer from .* \(eosTokenId 151643, the engine's has 151645\): did the files change/);
  } finally {
    await pool.close();
  }
});

test('close() rejects waiting calls, and later ones', async () => {
  const tok = await qwen3Tokenizer();
  const pool = new TokenizerPool(tok, { size: 1, mainThreadMaxChars: 0, startWorker: scripted(tok, { silent: true }) });
  const waiting = assert.rejects(pool.encode('queued'), /the tokenizer pool was closed/);
  await pool.close();
  await waiting;
  await assert.rejects(pool.encode('late'), /the tokenizer pool was closed/);
  await assert.rejects(pool.whenReady(), /closed before its workers were ready/);
});
