import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { buildServer } from '../../src/server/app.js';
import { DEFAULT_SERVER_OPTIONS } from '../../src/server/server-options.js';
import { formatLogLine } from '../../src/server/logger.js';
import { FakeEngine } from './fake-engine.js';

function capture(): { lines: string[]; logger: pino.Logger } {
  const lines: string[] = [];
  // no redaction here: the server itself must never log keys
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
  return { lines, logger };
}

test('--enable-log-requests logs prompts cut to --max-log-len; API keys never appear in the log', async () => {
  const { lines, logger } = capture();
  const { app } = await buildServer(new FakeEngine(), { ...DEFAULT_SERVER_OPTIONS, servedModelNames: ['m'], apiKeys: ['sk-secret-key'], enableLogRequests: true, maxLogLen: 5 }, { logger });
  const r = await app.inject({ method: 'POST', url: '/v1/completions', headers: { authorization: 'Bearer sk-secret-key' }, payload: { prompt: 'a long prompt text', max_tokens: 3 } });
  assert.equal(r.statusCode, 200);
  await app.inject({ method: 'GET', url: '/v1/models', headers: { authorization: 'Bearer sk-wrong' } });
  await app.close();
  const all = lines.join('');
  const received = lines.map((l) => JSON.parse(l)).find((o) => /^Received request cmpl-/.test(o.msg));
  assert.ok(received, all);
  assert.equal(received.prompt, 'a lon');
  assert.deepEqual(received.promptTokenIds, [97, 32, 108, 111, 110]);
  assert.equal(received.params.maxTokens, 3);
  assert.ok(lines.some((l) => /GET \/v1\/models HTTP\/1\.1\\" 401/.test(l)), 'access log line');
  assert.doesNotMatch(all, /sk-secret-key|sk-wrong/);
});

test('log lines are human-readable, vLLM-like', () => {
  const line = formatLogLine(JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5), name: 'serve', msg: 'careful', requestId: 'x' }));
  assert.match(line, /^WARNING \d\d-\d\d \d\d:\d\d:05 \[serve\] careful requestId="x"\n$/);
});

test('fields a route does not know are ignored and named in a warning (as vLLM); known and extra_body fields are not', async () => {
  const { lines, logger } = capture();
  const { app } = await buildServer(new FakeEngine(), { ...DEFAULT_SERVER_OPTIONS, servedModelNames: ['m'] }, { logger });
  const chat = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, guided_jsn: { type: 'object' }, user: 'u1' } });
  assert.equal(chat.statusCode, 200, chat.body);
  const plain = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'hi', max_tokens: 3, extra_body: { top_k: 2 } } });
  assert.equal(plain.statusCode, 200, plain.body);
  await app.close();
  const warnings = lines.map((l) => JSON.parse(l)).filter((o) => o.level === 40 && /were present in the request but ignored/.test(o.msg));
  assert.equal(warnings.length, 1, lines.join(''));
  assert.match(warnings[0].msg, /ignored: guided_jsn$/);
});
