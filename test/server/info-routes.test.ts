import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeServer } from './helpers.js';
import { SERVAL_VERSION } from '../../src/version.js';

test('/v1/models lists every served name with max_model_len; /version; /health', async () => {
  const { app } = await fakeServer();
  const m = (await app.inject({ method: 'GET', url: '/v1/models' })).json();
  assert.equal(m.object, 'list');
  assert.deepEqual(m.data.map((d: any) => d.id), ['fake-model', 'alias']);
  assert.equal(m.data[0].object, 'model');
  assert.equal(m.data[0].max_model_len, 256);
  assert.equal(m.data[0].root, '/models/fake');
  assert.equal(m.data[0].owned_by, 'serval');
  assert.deepEqual((await app.inject({ method: 'GET', url: '/version' })).json(), { version: SERVAL_VERSION });
  assert.equal((await app.inject({ method: 'GET', url: '/v1/models/alias' })).json().id, 'alias');
  const missing = await app.inject({ method: 'GET', url: '/v1/models/Qwen/Other' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.message, 'The model `Qwen/Other` does not exist.');
  const h = await app.inject({ method: 'GET', url: '/health' });
  assert.equal(h.statusCode, 200);
  assert.equal(h.body, '');
  await app.close();
});

test('/tokenize (prompt and messages) and /detokenize', async () => {
  const { app } = await fakeServer();
  let r = await app.inject({ method: 'POST', url: '/tokenize', payload: { prompt: 'hi' } });
  assert.deepEqual(r.json(), { count: 2, max_model_len: 256, tokens: [104, 105], token_strs: null });
  r = await app.inject({ method: 'POST', url: '/tokenize', payload: { messages: [{ role: 'user', content: 'A' }], return_token_strs: true } });
  const t = r.json();
  assert.equal(t.count, '[user]A\n[assistant]'.length);
  assert.equal(t.token_strs.join(''), '[user]A\n[assistant]');
  r = await app.inject({ method: 'POST', url: '/tokenize', payload: { messages: [{ role: 'user', content: 'A' }], add_generation_prompt: false } });
  assert.equal(r.json().count, '[user]A'.length);
  r = await app.inject({ method: 'POST', url: '/detokenize', payload: { tokens: [104, 105] } });
  assert.deepEqual(r.json(), { prompt: 'hi' });
  r = await app.inject({ method: 'POST', url: '/detokenize', payload: { tokens: [100000] } });
  assert.equal(r.statusCode, 400);
  assert.equal(r.json().error.param, 'tokens');
  r = await app.inject({ method: 'POST', url: '/tokenize', payload: { model: 'other', prompt: 'x' } });
  assert.equal(r.statusCode, 404);
  await app.close();
});

test('/openapi.json is generated from the route schemas; /docs serves Swagger UI', async () => {
  const { app } = await fakeServer(undefined, { rootPath: '/llm' });
  const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
  assert.match(spec.openapi, /^3\./);
  assert.deepEqual(spec.servers, [{ url: '/llm' }]);
  for (const p of ['/v1/chat/completions', '/v1/completions', '/v1/models', '/tokenize', '/detokenize', '/health', '/version', '/metrics']) {
    assert.ok(spec.paths[p], `openapi lacks ${p}`);
  }
  const chatBody = spec.paths['/v1/chat/completions'].post.requestBody.content['application/json'].schema;
  assert.ok(chatBody.properties.messages);
  assert.ok(chatBody.properties.guided_json);
  assert.ok(chatBody.properties.max_completion_tokens);
  const docs = await app.inject({ method: 'GET', url: '/docs/' });
  assert.equal(docs.statusCode, 200);
  assert.match(docs.body, /swagger-ui/i);
  await app.close();
});

test('/health is 503 with an OpenAI-style error while the engine reports itself unhealthy, 200 again after', async () => {
  const { app, engine } = await fakeServer();
  let health: { healthy: boolean; error: string | null } = { healthy: false, error: 'the last 3 engine steps failed; the last error: CUDA error: an illegal memory access' };
  Object.assign(engine, { health: () => health });
  const bad = await app.inject({ method: 'GET', url: '/health' });
  assert.equal(bad.statusCode, 503);
  assert.equal(bad.json().error.code, 503);
  assert.match(bad.json().error.message, /engine is unhealthy: the last 3 engine steps failed; the last error: CUDA error/);
  health = { healthy: true, error: null };
  assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
  await app.close();
});
