// The server's prompt paths encode through the engine's PromptEncoder (AsyncEngine's pool); an engine without one
// (the server tests' fake) encodes on the calling thread, with the same result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeChatPrompt, renderChatPrompt } from '../../src/server/chat-prompt.js';
import type { ChatMessageIn } from '../../src/server/schemas/chat-schema.js';
import { MainThreadEncoder, promptEncoderOf } from '../../src/tokenizer/prompt-encoder.js';
import type { EncodeOptions, PromptEncoder } from '../../src/tokenizer/types.js';
import { FakeEngine } from '../server/fake-engine.js';
import { fakeServer } from '../server/helpers.js';
import { awaitPromptWorkers } from '../../src/server/load-engine.js';

/** a PromptEncoder that records what it was asked, encoding with the fake engine's tokenizer */
class RecordingEncoder implements PromptEncoder {
  readonly threads = 1;
  readonly calls: Array<{ text: string; opts: EncodeOptions }> = [];
  constructor(private readonly inner: PromptEncoder) {}
  encode(text: string, opts: EncodeOptions = {}): Promise<number[]> {
    this.calls.push({ text, opts });
    return this.inner.encode(text, opts);
  }
  encodeMany(texts: readonly string[], opts: EncodeOptions = {}): Promise<number[][]> {
    return Promise.all(texts.map((t) => this.encode(t, opts)));
  }
  whenReady(): Promise<void> {
    return this.inner.whenReady();
  }
  async close(): Promise<void> {}
}

const messages: ChatMessageIn[] = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }];

test('encodeChatPrompt gives renderChatPrompt\'s text and ids, through the engine\'s encoder when it has one', async () => {
  const plain = new FakeEngine();
  assert.ok(promptEncoderOf(plain) instanceof MainThreadEncoder);
  const sync = renderChatPrompt(plain, messages, {});
  assert.deepEqual(await encodeChatPrompt(plain, messages, {}), sync);

  const recorder = new RecordingEncoder(new MainThreadEncoder(plain.tokenizer));
  const pooled = Object.assign(new FakeEngine(), { promptEncoder: recorder });
  assert.equal(promptEncoderOf(pooled), recorder);
  assert.deepEqual(await encodeChatPrompt(pooled, messages, {}, true), renderChatPrompt(plain, messages, {}, true));
  assert.deepEqual(recorder.calls, [{ text: sync.text, opts: { addSpecialTokens: true } }]);
  await assert.rejects(
    encodeChatPrompt(pooled, messages, { continueFinalMessage: true, addGenerationPrompt: true }),
    /continue_final_message and add_generation_prompt cannot both be true/,
  );
  assert.equal(recorder.calls.length, 1, 'a bad request is refused before encoding');
});

test('/v1/completions encodes its text prompts through the engine\'s encoder, together, and keeps token-id prompts as given', async () => {
  const engine = new FakeEngine((p) => ` after ${p}`);
  const recorder = new RecordingEncoder(new MainThreadEncoder(engine.tokenizer));
  Object.assign(engine, { promptEncoder: recorder });
  const { app } = await fakeServer(engine);
  try {
    const r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: ['abc', 'de'], max_tokens: 5, add_special_tokens: false } });
    assert.equal(r.statusCode, 200, r.body);
    assert.deepEqual(recorder.calls, [{ text: 'abc', opts: { addSpecialTokens: false } }, { text: 'de', opts: { addSpecialTokens: false } }]);
    assert.deepEqual(engine.calls.map((c) => c.promptTokenIds), [engine.tokenizer.encode('abc'), engine.tokenizer.encode('de')]);
    const ids = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: [104, 105], max_tokens: 5 } });
    assert.equal(ids.statusCode, 200, ids.body);
    assert.equal(recorder.calls.length, 2, 'token ids are not encoded again');
  } finally {
    await app.close();
  }
});

test('server start-up waits for the tokenizer workers; a pool that cannot start stops it with a clear error', async () => {
  const order: string[] = [];
  const ready = { promptEncoder: { whenReady: async () => void order.push('ready') } as unknown as PromptEncoder, shutdown: async () => void order.push('shutdown') };
  await awaitPromptWorkers(ready);
  assert.deepEqual(order, ['ready']);
  const broken = { promptEncoder: { whenReady: () => Promise.reject(new Error('tokenizer.json is not valid JSON')) } as unknown as PromptEncoder, shutdown: async () => void order.push('shutdown') };
  await assert.rejects(awaitPromptWorkers(broken), /prompt tokenizer workers could not start \(--tokenizer-pool-size 0 .*\): tokenizer\.json is not valid JSON/);
  assert.deepEqual(order, ['ready', 'shutdown']);
  await awaitPromptWorkers({ promptEncoder: null, shutdown: async () => {} });
});
