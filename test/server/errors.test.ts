// Every error case answers with the OpenAI envelope {"error": {message, type, param, code}} and the right status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeServer } from './helpers.js';
import { FakeEngine } from './fake-engine.js';

const messages = [{ role: 'user', content: 'Hi' }];

function assertError(r: { statusCode: number; json(): any }, status: number, type: string, param: string | null, message: RegExp): void {
  assert.equal(r.statusCode, status);
  const e = r.json().error;
  assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(e.code, status);
  assert.equal(e.type, type);
  assert.equal(e.param, param);
  assert.match(e.message, message);
}

test('400 validation names the field', async () => {
  const { app } = await fakeServer();
  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });
  assertError(await post('/v1/chat/completions', { messages, temperature: 'hot' }), 400, 'BadRequestError', 'temperature', /^temperature: /);
  assertError(await post('/v1/chat/completions', { messages, max_tokens: 0 }), 400, 'BadRequestError', 'max_tokens', /max_tokens: must be >= 1/);
  assertError(await post('/v1/chat/completions', {}), 400, 'BadRequestError', 'messages', /messages/);
  assertError(await post('/v1/chat/completions', { messages: [{ role: 'wizard', content: 'x' }] }), 400, 'BadRequestError', 'messages.0.role', /messages\.0\.role/);
  assertError(await post('/v1/completions', { prompt: 'x', n: 0 }), 400, 'BadRequestError', 'n', /n: must be >= 1/);
  assertError(await post('/v1/completions', { max_tokens: 3 }), 400, 'BadRequestError', 'prompt', /prompt/);
  assertError(await post('/v1/chat/completions', { messages, top_logprobs: 3 }), 400, 'BadRequestError', 'top_logprobs', /`logprobs` must be set to true/);
  assertError(await post('/v1/chat/completions', { messages, logprobs: true, top_logprobs: 6 }), 400, 'BadRequestError', 'top_logprobs', /greater than max allowed: 5/);
  assertError(await post('/v1/chat/completions', { messages, stream_options: { include_usage: true } }), 400, 'BadRequestError', 'stream_options', /only be given when stream is true/);
  assertError(await post('/v1/chat/completions', { messages, logit_bias: { abc: 1 } }), 400, 'BadRequestError', 'logit_bias', /token ids/);
  assertError(await post('/v1/completions', { prompt: [99999] }), 400, 'BadRequestError', 'prompt', /outside the vocabulary/);
  assertError(
    await post('/v1/chat/completions', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }),
    400,
    'BadRequestError',
    'messages[0].content',
    /type 'image_url' are not supported/,
  );
  // a field of several types or values names them all, not only its first branch's
  assertError(await post('/v1/completions', { prompt: 'x', guided_json: 5 }), 400, 'BadRequestError', 'guided_json', /^guided_json: must be string, object, boolean or null$/);
  assertError(await post('/v1/completions', { prompt: 'x', stop: 5 }), 400, 'BadRequestError', 'stop', /^stop: must be string, array or null$/);
  assertError(await post('/v1/chat/completions', { messages, response_format: { type: 'xml' } }), 400, 'BadRequestError', 'response_format.type', /^response_format\.type: must be one of "text", "json_object" or "json_schema"$/);
  const bad = await app.inject({ method: 'POST', url: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, payload: '{"messages": [' });
  assertError(bad, 400, 'BadRequestError', null, /JSON/);
  await app.close();
});

test('400 prompt longer than --max-model-len with vLLM\'s wording; max_tokens too large', async () => {
  const { app } = await fakeServer(new FakeEngine(() => 'x', 20));
  assertError(
    await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'a'.repeat(25) } }),
    400,
    'BadRequestError',
    'prompt',
    /^This model's maximum context length is 20 tokens\. However, your request has 25 input tokens\. Please reduce the length of the input prompt\.$/,
  );
  assertError(
    await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: [{ role: 'user', content: 'a'.repeat(30) }] } }),
    400,
    'BadRequestError',
    'messages',
    /maximum context length is 20 tokens\. However, your request has \d+ input tokens\. Please reduce the length of the input messages\./,
  );
  assertError(
    await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'abcde', max_tokens: 16 } }),
    400,
    'BadRequestError',
    'max_tokens',
    /^'max_tokens' or 'max_completion_tokens' is too large: 16\. This model's maximum context length is 20 tokens and your request has 5 input tokens \(16 > 20 - 5\)\.$/,
  );
  await app.close();
});

test('404 unknown model and unknown route; suffix rejected; best_of', async () => {
  const { app } = await fakeServer();
  assertError(await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: 'gpt-4', messages } }), 404, 'NotFoundError', 'model', /The model `gpt-4` does not exist\./);
  assertError(await app.inject({ method: 'POST', url: '/v1/completions', payload: { model: 'nope', prompt: 'x' } }), 404, 'NotFoundError', 'model', /does not exist/);
  assertError(await app.inject({ method: 'GET', url: '/v1/nothing' }), 404, 'NotFoundError', null, /Route GET:\/v1\/nothing not found/);
  assertError(await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', suffix: 'end' } }), 400, 'BadRequestError', 'suffix', /suffix is not supported/);
  assertError(await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', best_of: 3 } }), 400, 'BadRequestError', 'best_of', /best_of/);
  await app.close();
});

test('415 for a body that is not JSON (curl -d without a Content-Type header)', async () => {
  const { app } = await fakeServer();
  assertError(
    await app.inject({ method: 'POST', url: '/v1/completions', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '{"prompt":"x"}' }),
    415,
    'UnsupportedMediaTypeError',
    null,
    /send application\/json/,
  );
  await app.close();
});

test('413 body too large', async () => {
  const { app } = await fakeServer(undefined, { bodyLimit: 1000 });
  assertError(
    await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x'.repeat(2000) } }),
    413,
    'RequestTooLargeError',
    null,
    /larger than the limit of 1000 bytes/,
  );
  await app.close();
});

test('engine rejections become 400 (by class) and other engine failures 500, streamed or not', async () => {
  const engine = new FakeEngine();
  const { app } = await fakeServer(engine);
  class UnsupportedSchemaError extends Error {}
  engine.failWith = new UnsupportedSchemaError("JSON Schema keyword 'if' is not supported");
  assertError(await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, guided_json: { if: {} } } }), 400, 'BadRequestError', null, /keyword 'if'/);
  assertError(await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, stream: true, guided_json: { if: {} } } }), 400, 'BadRequestError', null, /keyword 'if'/);
  engine.failWith = new Error('backend exploded');
  assertError(await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x' } }), 500, 'InternalServerError', null, /backend exploded/);
  await app.close();
});
