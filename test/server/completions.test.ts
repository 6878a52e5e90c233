import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeServer, sseJson } from './helpers.js';
import { FakeEngine } from './fake-engine.js';

test('completions: text prompt, OpenAI shape and usage', async () => {
  const { app, engine } = await fakeServer(new FakeEngine((p) => ` after ${p}`));
  const r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { model: 'fake-model', prompt: 'abc', max_tokens: 50 } });
  assert.equal(r.statusCode, 200, r.body);
  const b = r.json();
  assert.match(b.id, /^cmpl-[0-9a-f]{32}$/);
  assert.equal(b.object, 'text_completion');
  assert.equal(b.model, 'fake-model');
  assert.deepEqual(b.choices, [{ index: 0, text: ' after abc', logprobs: null, finish_reason: 'stop', stop_reason: null, prompt_logprobs: null }]);
  assert.deepEqual(b.usage, { prompt_tokens: 3, completion_tokens: 10, total_tokens: 13, prompt_tokens_details: null });
  assert.equal(engine.calls[0].params.maxTokens, 50);
  await app.close();
});

test('completions: list of texts, token ids and lists of token ids; choice index = prompt * n + i', async () => {
  const { app, engine } = await fakeServer(new FakeEngine((p, _s, i) => `${p}${i}`));
  let r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: ['a', 'b'], n: 2 } });
  assert.deepEqual(
    r.json().choices.map((c: any) => [c.index, c.text]),
    [
      [0, 'a0'],
      [1, 'a1'],
      [2, 'b0'],
      [3, 'b1'],
    ],
  );
  assert.equal(r.json().usage.prompt_tokens, 2);
  r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: [104, 105] } });
  assert.equal(r.json().choices[0].text, 'hi0');
  assert.deepEqual(engine.calls[engine.calls.length - 1].promptTokenIds, [104, 105]);
  r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: [[120], [121, 122]] } });
  assert.deepEqual(r.json().choices.map((c: any) => c.text), ['x0', 'yz0']);
  await app.close();
});

test('completions: echo prepends the prompt; logprobs in OpenAI completions shape', async () => {
  const { app } = await fakeServer(new FakeEngine(() => 'de'));
  let r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'abc', echo: true } });
  assert.equal(r.json().choices[0].text, 'abcde');
  r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'abc', logprobs: 1 } });
  assert.deepEqual(r.json().choices[0].logprobs, {
    tokens: ['d', 'e'],
    token_logprobs: [-0.5, -0.5],
    top_logprobs: [{ d: -0.5 }, { e: -0.5 }],
    text_offset: [0, 1],
  });
  r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'abc', logprobs: 2, echo: true } });
  const lp = r.json().choices[0].logprobs;
  assert.deepEqual(lp.tokens, ['a', 'b', 'c', 'd', 'e']);
  assert.deepEqual(lp.token_logprobs, [null, -0.5, -0.5, -0.5, -0.5]);
  assert.equal(lp.top_logprobs[0], null);
  assert.deepEqual(lp.top_logprobs[3], { d: -0.5, e: -2 });
  assert.deepEqual(lp.text_offset, [0, 1, 2, 3, 4]);
  await app.close();
});

test('completions: streaming chunks, include_usage and [DONE]', async () => {
  const { app } = await fakeServer(new FakeEngine(() => 'xyz'));
  const r = await app.inject({
    method: 'POST',
    url: '/v1/completions',
    payload: { prompt: ['p', 'q'], stream: true, stream_options: { include_usage: true }, logprobs: 0 },
  });
  assert.equal(r.statusCode, 200);
  const { chunks, done } = sseJson(r.body);
  assert.ok(done);
  for (const c of chunks) {
    assert.equal(c.object, 'text_completion');
    assert.match(c.id, /^cmpl-/);
  }
  const texts = new Map<number, string>();
  for (const c of chunks.slice(0, -1)) {
    assert.equal(c.choices.length, 1);
    const ch = c.choices[0];
    texts.set(ch.index, (texts.get(ch.index) ?? '') + ch.text);
    assert.ok('stop_reason' in ch);
    if (ch.text !== '') assert.deepEqual(ch.logprobs.tokens.join(''), ch.text);
  }
  assert.deepEqual([...texts.entries()].sort(), [
    [0, 'xyz'],
    [1, 'xyz'],
  ]);
  const last = chunks[chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, { prompt_tokens: 2, completion_tokens: 6, total_tokens: 8, prompt_tokens_details: null });
  await app.close();
});

test('completions: streaming echo sends the prompt first', async () => {
  const { app } = await fakeServer(new FakeEngine(() => '!'));
  const r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'hey', stream: true, echo: true } });
  const { chunks } = sseJson(r.body);
  assert.equal(chunks.map((c) => c.choices[0].text).join(''), 'hey!');
  assert.ok(chunks[0].choices[0].text.startsWith('hey'));
  await app.close();
});

test('prompt_logprobs in vLLM\'s shape (completions per choice, chat at top level)', async () => {
  const { app, engine } = await fakeServer(new FakeEngine(() => 'z'));
  let r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'ab', prompt_logprobs: 1 } });
  assert.equal(engine.calls[0].params.promptLogprobs, 1);
  assert.deepEqual(r.json().choices[0].prompt_logprobs, [null, { '98': { logprob: -0.5, rank: 1, decoded_token: 'b' } }]);
  r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: [{ role: 'user', content: 'q' }], prompt_logprobs: 0 } });
  const pl = r.json().prompt_logprobs;
  assert.equal(pl.length, engine.calls[1].promptTokenIds.length);
  assert.equal(pl[0], null);
  assert.deepEqual(Object.keys(pl[1]), [String(engine.calls[1].promptTokenIds[1])]);
  await app.close();
});

test('streaming: continuous_usage_stats puts usage on every chunk; an engine error mid-stream becomes an error event', async () => {
  const { app, engine } = await fakeServer(new FakeEngine(() => 'abc'));
  let r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'p', stream: true, stream_options: { continuous_usage_stats: true } } });
  const { chunks } = sseJson(r.body);
  assert.ok(chunks.every((c) => c.usage && c.usage.prompt_tokens === 1));
  assert.deepEqual(chunks.map((c) => c.usage.completion_tokens), [1, 2, 3, 3]);

  const original = engine.generate.bind(engine);
  engine.generate = (prompt, params, id, options) => {
    const inner = original(prompt, params, id, options);
    return (async function* () {
      let i = 0;
      for await (const o of inner) {
        if (i++ === 1) throw new Error('device lost');
        yield o;
      }
    })();
  };
  r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'p', stream: true } });
  assert.equal(r.statusCode, 200);
  const data = r.body.trim().split('\n\n');
  assert.equal(data[data.length - 1], 'data: [DONE]');
  assert.deepEqual(JSON.parse(data[data.length - 2].slice(6)), { error: { message: 'device lost', type: 'InternalServerError', param: null, code: 500 } });
  await app.close();
});

test('truncate_prompt_tokens keeps the last k prompt tokens', async () => {
  const { app, engine } = await fakeServer();
  const r = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'abcdef', truncate_prompt_tokens: 2 } });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(engine.calls[0].promptTokenIds, [101, 102]);
  assert.equal(r.json().usage.prompt_tokens, 2);
  const bad = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', truncate_prompt_tokens: 1000 } });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.param, 'truncate_prompt_tokens');
  await app.close();
});
