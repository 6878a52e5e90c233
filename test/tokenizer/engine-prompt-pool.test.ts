// AsyncEngine with a tokenizer pool: text prompts are encoded on worker threads, yet requests enter the scheduler in
// submission order, with the ids the main-thread tokenizer gives; failures, aborts and shutdown stay per request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_ENGINE_ARGS } from '../../src/config/engine-args.js';
import { AsyncEngine } from '../../src/engine/async-engine.js';
import type { ModelConfig } from '../../src/loader/model-config-types.js';
import type { RequestOutput } from '../../src/engine/types.js';
import type { PromptInput } from '../../src/engine/serving-engine.js';
import { TokenizerPool } from '../../src/tokenizer/encode-pool.js';
import { MainThreadEncoder } from '../../src/tokenizer/prompt-encoder.js';
import { fakeBackend, makeCore } from '../engine/fakes.js';
import { qwen3Tokenizer } from './qwen3-tokenizer.js';
import { lastOutput } from '../helpers/last-output.js';

const VOCAB = 151936; // Qwen3's embedding rows

async function engineWithPool(poolSize: number): Promise<{ engine: AsyncEngine; added: string[] }> {
  const tokenizer = await qwen3Tokenizer();
  // the fake model's vocabulary covers Qwen3's ids
  const { backend } = fakeBackend(4096, 4, VOCAB);
  const { core } = makeCore({ backend, tokenizer, detokenizer: null, eosTokenIds: [tokenizer.eosTokenId!], maxModelLen: 8192, maxNumBatchedTokens: 8192 });
  const added: string[] = [];
  const addRequest = core.addRequest.bind(core);
  core.addRequest = (id, ...rest) => {
    added.push(id);
    return addRequest(id, ...rest);
  };
  const engine = new AsyncEngine({
    args: { ...DEFAULT_ENGINE_ARGS, tokenizerPoolSize: poolSize },
    modelConfig: { vocabSize: VOCAB } as ModelConfig,
    maxModelLen: 8192,
    core,
    tokenizer,
    chatTemplate: null,
  });
  return { engine, added };
}


const text = (i: number, words: number): string => `Request ${i}: ` + Array.from({ length: words }, (_, k) => `mot${(k * 7 + i) % 97} 字${k % 13}`).join(' ');

test('prompts encoded on two workers enter the scheduler in submission order, with the main thread\'s ids', async () => {
  const tok = await qwen3Tokenizer();
  const { engine, added } = await engineWithPool(2);
  try {
    assert.ok(engine.promptEncoder instanceof TokenizerPool);
    assert.equal(engine.promptEncoder.threads, 2);
    // long and short texts, and token ids, mixed: the short ones are encoded first, yet must wait their turn
    const prompts: PromptInput[] = [text(0, 600), 'Hi', { promptTokenIds: [9707, 1879] }, text(3, 50), text(4, 900), 'Short one', text(6, 300)];
    const params = { maxTokens: 2, temperature: 0, ignoreEos: true };
    const iters = prompts.map((p, i) => engine.generate(p, params, `r${i}`));
    // a tick later, while the long ones are still being encoded: a short text (encoded on this thread at once) and
    // token ids (nothing to encode) still enter after them
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(added, [], 'nothing has been admitted yet');
    const late: PromptInput[] = ['Late', { promptTokenIds: [40] }];
    iters.push(...late.map((p, i) => engine.generate(p, params, `r${prompts.length + i}`)));
    prompts.push(...late);
    const outs = await Promise.all(iters.map(lastOutput));
    assert.deepEqual(added, prompts.map((_, i) => `r${i}`));
    prompts.forEach((p, i) => {
      const want = typeof p === 'string' ? tok.encode(p, { addSpecialTokens: true }) : p.promptTokenIds;
      assert.deepEqual(outs[i]!.promptTokenIds, want, `request ${i}`);
      assert.equal(outs[i]!.outputs[0]!.tokenIds.length, 2);
    });
  } finally {
    await engine.shutdown();
  }
});

test('with a pool, a request that fails, one aborted while encoding and a duplicate id each fail alone', async () => {
  const { engine, added } = await engineWithPool(1);
  try {
    const params = { maxTokens: 1, temperature: 0, ignoreEos: true };
    const tooLong = engine.generate(text(0, 2000), params, 'too-long'); // about 10,000 tokens: over maxModelLen 8192
    const aborted = engine.generate(text(1, 400), params, 'aborted');
    const duplicate = engine.generate('again', params, 'aborted');
    engine.abort('aborted');
    const fine = engine.generate(text(2, 400), params, 'fine');
    await assert.rejects(lastOutput(tooLong), /maximum context length is 8192 tokens/);
    await assert.rejects(lastOutput(duplicate), /Request id aborted already running/);
    assert.equal((await lastOutput(aborted)).outputs[0]!.finishReason, 'abort');
    assert.equal((await lastOutput(fine)).outputs[0]!.finishReason, 'length');
    assert.deepEqual(added.filter((id) => id !== 'too-long'), ['aborted', 'fine']);
  } finally {
    await engine.shutdown();
  }
});

test('shutdown fails the prompts still being encoded and closes the pool', async () => {
  const { engine } = await engineWithPool(1);
  const pending = engine.generate(text(0, 800), { maxTokens: 1 }, 'late');
  await engine.shutdown();
  await assert.rejects(lastOutput(pending), /the engine has been shut down/);
  await assert.rejects(engine.promptEncoder!.encode('x'), /the tokenizer pool was closed/);
});

test('tokenizerPoolSize 0 keeps encoding on the engine thread; a bad size is a clear error', async () => {
  const tok = await qwen3Tokenizer();
  const { engine, added } = await engineWithPool(0);
  try {
    assert.ok(engine.promptEncoder instanceof MainThreadEncoder);
    const it = engine.generate('Hello there', { maxTokens: 1, ignoreEos: true }, 'sync');
    assert.deepEqual(added, ['sync'], 'entered the scheduler synchronously');
    assert.deepEqual((await lastOutput(it)).promptTokenIds, tok.encode('Hello there'));
  } finally {
    await engine.shutdown();
  }
  await assert.rejects(engineWithPool(-2), /tokenizerPoolSize must be a non-negative integer \(0 = off\), got -2/);
});
