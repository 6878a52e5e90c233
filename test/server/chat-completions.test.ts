import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeServer, sseJson } from './helpers.js';
import { FakeEngine } from './fake-engine.js';

const messages = [{ role: 'user', content: 'Hi' }];

test('chat: non-streamed response has OpenAI shape, usage and the first served name', async () => {
  const { app, engine } = await fakeServer();
  const r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: 'alias', messages } });
  assert.equal(r.statusCode, 200);
  const b = r.json();
  assert.match(b.id, /^chatcmpl-[0-9a-f]{32}$/);
  assert.equal(b.object, 'chat.completion');
  assert.equal(typeof b.created, 'number');
  assert.equal(b.model, 'fake-model');
  assert.deepEqual(b.choices, [{ index: 0, message: { role: 'assistant', content: 'Hello world', tool_calls: [] }, logprobs: null, finish_reason: 'stop', stop_reason: null }]);
  const promptTokens = engine.calls[0].promptTokenIds.length;
  assert.equal(engine.tokenizer.decode(engine.calls[0].promptTokenIds), '[user]Hi\n[assistant]');
  assert.deepEqual(b.usage, { prompt_tokens: promptTokens, completion_tokens: 11, total_tokens: promptTokens + 11, prompt_tokens_details: null });
  await app.close();
});

test('chat: sampling fields map onto SamplingParams (OpenAI and vLLM names, extra_body at top level)', async () => {
  const { app, engine } = await fakeServer();
  const r = await app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    payload: {
      messages,
      temperature: 0.7,
      top_p: 0.9,
      top_k: 40,
      min_p: 0.05,
      repetition_penalty: 1.1,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      seed: 7,
      stop: ['\n'],
      stop_token_ids: [3],
      max_completion_tokens: 20,
      min_tokens: 2,
      ignore_eos: true,
      logit_bias: { '65': 5 },
      skip_special_tokens: false,
      include_stop_str_in_output: true,
      bad_words: ['bad'],
      allowed_token_ids: [65, 66],
      priority: 3,
      cache_salt: 'salt',
    },
  });
  assert.equal(r.statusCode, 200, r.body);
  const c = engine.calls[0];
  assert.deepEqual(c.params, {
    temperature: 0.7,
    topP: 0.9,
    topK: 40,
    minP: 0.05,
    repetitionPenalty: 1.1,
    presencePenalty: 0.5,
    frequencyPenalty: -0.5,
    seed: 7,
    stop: ['\n'],
    stopTokenIds: [3],
    maxTokens: 20,
    minTokens: 2,
    ignoreEos: true,
    logitBias: { '65': 5 },
    skipSpecialTokens: false,
    includeStopStrInOutput: true,
    badWords: ['bad'],
    allowedTokenIds: [65, 66],
  });
  assert.deepEqual(c.options, { priority: 3, cacheSalt: 'salt', finalOnly: true });
  // a whole response takes only the engine's final output
  assert.equal(engine.emitted.length, 1);
  await app.close();
});

test('chat: default max_tokens is what the context leaves; max_tokens cuts with finish_reason length', async () => {
  const { app, engine } = await fakeServer(new FakeEngine(() => 'Hello world', 100));
  await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages } });
  assert.equal(engine.calls[0].params.maxTokens, 100 - engine.calls[0].promptTokenIds.length);
  const r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, max_tokens: 5 } });
  const b = r.json();
  assert.equal(b.choices[0].message.content, 'Hello');
  assert.equal(b.choices[0].finish_reason, 'length');
  assert.equal(b.usage.completion_tokens, 5);
  await app.close();
});

test('chat: n>1 returns n choices', async () => {
  const { app } = await fakeServer(new FakeEngine((_p, _s, i) => `answer ${i}`));
  const r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, n: 3 } });
  const b = r.json();
  assert.deepEqual(
    b.choices.map((c: any) => [c.index, c.message.content]),
    [
      [0, 'answer 0'],
      [1, 'answer 1'],
      [2, 'answer 2'],
    ],
  );
  assert.equal(b.usage.completion_tokens, 24);
  await app.close();
});

test('chat: logprobs in OpenAI shape', async () => {
  const { app, engine } = await fakeServer(new FakeEngine(() => 'Hé'));
  const r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, logprobs: true, top_logprobs: 2 } });
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(engine.calls[0].params.logprobs, 2);
  const lp = r.json().choices[0].logprobs;
  assert.deepEqual(lp.content[0], {
    token: 'H',
    logprob: -0.5,
    bytes: [72],
    top_logprobs: [
      { token: 'H', logprob: -0.5, bytes: [72] },
      { token: 'I', logprob: -2, bytes: [73] },
    ],
  });
  assert.deepEqual(lp.content[1].bytes, [0xc3, 0xa9]);
  await app.close();
});

test('chat: streaming sends role chunk, content deltas, finish chunk, usage chunk and [DONE]', async () => {
  const { app, engine } = await fakeServer(new FakeEngine(() => 'abc'));
  const r = await app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    payload: { messages, stream: true, stream_options: { include_usage: true } },
  });
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/event-stream/);
  const { chunks, done } = sseJson(r.body);
  assert.ok(done);
  const id = chunks[0].id;
  assert.match(id, /^chatcmpl-/);
  for (const c of chunks) {
    assert.equal(c.id, id);
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.model, 'fake-model');
  }
  assert.deepEqual(chunks[0].choices, [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
  const content = chunks
    .slice(1)
    .flatMap((c) => c.choices)
    .map((ch: any) => ch.delta.content ?? '')
    .join('');
  assert.equal(content, 'abc');
  const finish = chunks[chunks.length - 2].choices[0];
  assert.equal(finish.finish_reason, 'stop');
  const usage = chunks[chunks.length - 1];
  assert.deepEqual(usage.choices, []);
  assert.equal(usage.usage.completion_tokens, 3);
  assert.equal(usage.usage.total_tokens, usage.usage.prompt_tokens + 3);
  // no chunk but the last carries usage
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === undefined));
  // streams take the engine's delta outputs
  assert.equal(engine.calls[0].options?.delta, true);
  assert.deepEqual(engine.emitted.map((o) => o.outputs.map((x) => x.text).join('')), ['a', 'b', 'c', '']);
  await app.close();
});

test('chat: streaming n=2 with logprobs keeps choices apart', async () => {
  const { app } = await fakeServer(new FakeEngine((_p, _s, i) => (i === 0 ? 'xy' : 'pqr')));
  const r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, stream: true, n: 2, logprobs: true } });
  const { chunks } = sseJson(r.body);
  const byIndex = new Map<number, string>();
  const lpTokens = new Map<number, string>();
  for (const c of chunks) {
    for (const ch of c.choices) {
      byIndex.set(ch.index, (byIndex.get(ch.index) ?? '') + (ch.delta.content ?? ''));
      for (const t of ch.logprobs?.content ?? []) lpTokens.set(ch.index, (lpTokens.get(ch.index) ?? '') + t.token);
    }
  }
  assert.equal(byIndex.get(0), 'xy');
  assert.equal(byIndex.get(1), 'pqr');
  assert.equal(lpTokens.get(0), 'xy');
  assert.equal(lpTokens.get(1), 'pqr');
  const finishes = chunks.flatMap((c) => c.choices).filter((ch: any) => ch.finish_reason !== null);
  assert.deepEqual(finishes.map((f: any) => f.index).sort(), [0, 1]);
  await app.close();
});

test('chat: continue_final_message and content parts reach the template', async () => {
  const { app, engine } = await fakeServer();
  const r = await app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    payload: {
      messages: [
        { role: 'developer', content: [{ type: 'text', text: 'be brief' }] },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hel' },
      ],
      continue_final_message: true,
      add_generation_prompt: false,
    },
  });
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(engine.tokenizer.decode(engine.calls[0].promptTokenIds), '[system]be brief\n[user]Hi\n[assistant]Hel');
  await app.close();
});

test('X-Request-Id (or body request_id) names the request, as in vLLM, and comes back as a header', async () => {
  const { app, engine } = await fakeServer();
  let r = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { 'x-request-id': 'abc-1' }, payload: { messages } });
  assert.equal(r.json().id, 'chatcmpl-abc-1');
  assert.equal(r.headers['x-request-id'], 'chatcmpl-abc-1');
  assert.equal(engine.calls[0].requestId, 'chatcmpl-abc-1');
  r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: ['a', 'b'], request_id: 'mine' } });
  assert.equal(r.json().id, 'cmpl-mine');
  assert.deepEqual(engine.calls.slice(1).map((c) => c.requestId), ['cmpl-mine-0', 'cmpl-mine-1']);
  await app.close();
});
