import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeServer } from './helpers.js';
import { ApiKeyChecker } from '../../src/server/auth.js';

test('API keys: 401 on every /v1 route without or with a wrong key; open /health, /metrics, /version', async () => {
  const { app } = await fakeServer(undefined, { apiKeys: ['sk-one', 'sk-two'] });
  const routes: Array<[string, string, object | undefined]> = [
    ['GET', '/v1/models', undefined],
    ['POST', '/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }] }],
    ['POST', '/v1/completions', { prompt: 'x' }],
    ['GET', '/v1/unknown', undefined],
  ];
  for (const [method, url, payload] of routes) {
    for (const authorization of [undefined, 'Bearer wrong', 'sk-one', 'Bearer sk-on', 'Basic sk-one']) {
      const r = await app.inject({ method: method as 'GET', url, payload, headers: authorization ? { authorization } : {} });
      assert.equal(r.statusCode, 401, `${method} ${url} with ${authorization}`);
      assert.deepEqual(r.json(), { error: { message: 'Missing or invalid API key: send it as "Authorization: Bearer <key>"', type: 'AuthenticationError', param: null, code: 401 } });
    }
  }
  for (const key of ['sk-one', 'sk-two']) {
    const r = await app.inject({ method: 'GET', url: '/v1/models', headers: { authorization: `Bearer ${key}` } });
    assert.equal(r.statusCode, 200);
  }
  for (const url of ['/health', '/metrics', '/version', '/ping']) {
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
  }
  await app.close();
});

test('ApiKeyChecker compares whole keys only', () => {
  const k = new ApiKeyChecker(['secret']);
  assert.equal(k.check('Bearer secret'), true);
  assert.equal(k.check('bearer secret'), true);
  assert.equal(k.check('Bearer secre'), false);
  assert.equal(k.check('Bearer secrets'), false);
  assert.equal(k.check('secret'), false);
  assert.equal(k.check(undefined), false);
  assert.equal(new ApiKeyChecker([]).enabled, false);
});

test('CORS: default allows any origin, preflight answered without a key; a list restricts origins', async () => {
  let s = await fakeServer(undefined, { apiKeys: ['k'] });
  let r = await s.app.inject({
    method: 'OPTIONS',
    url: '/v1/chat/completions',
    headers: { origin: 'http://app.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  });
  assert.equal(r.statusCode, 204);
  assert.equal(r.headers['access-control-allow-origin'], 'http://app.test');
  assert.match(String(r.headers['access-control-allow-methods']), /POST/);
  assert.match(String(r.headers['access-control-allow-headers']), /authorization/);
  r = await s.app.inject({ method: 'GET', url: '/health', headers: { origin: 'http://app.test' } });
  assert.equal(r.headers['access-control-allow-origin'], 'http://app.test');
  await s.app.close();

  s = await fakeServer(undefined, { cors: { origins: ['http://ok.test'], methods: ['GET', 'POST'], headers: ['content-type'], credentials: true } });
  r = await s.app.inject({ method: 'GET', url: '/v1/models', headers: { origin: 'http://ok.test' } });
  assert.equal(r.headers['access-control-allow-origin'], 'http://ok.test');
  assert.equal(r.headers['access-control-allow-credentials'], 'true');
  r = await s.app.inject({ method: 'GET', url: '/v1/models', headers: { origin: 'http://evil.test' } });
  assert.equal(r.headers['access-control-allow-origin'], undefined);
  // streamed responses carry the CORS headers too
  r = await s.app.inject({ method: 'POST', url: '/v1/completions', headers: { origin: 'http://ok.test' }, payload: { prompt: 'x', stream: true } });
  assert.equal(r.headers['access-control-allow-origin'], 'http://ok.test');
  await s.app.close();
});
