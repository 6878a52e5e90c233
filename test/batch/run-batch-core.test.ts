// run-batch's file handling with an endpoint that answers out of order: every line accounted for, in input order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBatch, type BatchEndpoint } from '../../src/batch/run-batch.js';
import { readBatchInput } from '../../src/batch/read-input.js';
import type { BatchOutputLine } from '../../src/batch/batch-format.js';

const good = (id: string, url = '/v1/completions', body: object = { model: 'm', prompt: `p-${id}` }): string => JSON.stringify({ custom_id: id, method: 'POST', url, body });

const INPUT = [
  good('a'),
  '{"custom_id": "broken", "method": "POST", ', // unparseable
  good('b', '/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  good('c', '/v1/embeddings'), // unknown url
  '',
  JSON.stringify({ method: 'POST', url: '/v1/completions', body: {} }), // no custom_id
  good('d', '/v1/completions', { model: 'm', prompt: 'fail-me' }), // the endpoint refuses the body
  good('a'), // duplicate
  good('e'),
  JSON.stringify({ custom_id: 'f', method: 'GET', url: '/v1/completions', body: {} }),
  JSON.stringify({ custom_id: 'g', method: 'POST', url: '/v1/completions', body: 'x' }),
  good('h', '/v1/completions', { model: 'm', prompt: 'throw' }),
].join('\n');

/** answers after a delay that makes later lines finish first */
const fakeEndpoint = (calls: string[]): BatchEndpoint => ({
  async call(url, body, requestId) {
    calls.push(requestId);
    const prompt = String(body.prompt ?? '');
    await new Promise((r) => setTimeout(r, prompt === 'p-a' ? 30 : 1));
    if (prompt === 'throw') throw new Error('engine exploded');
    if (prompt === 'fail-me') return { statusCode: 400, body: { error: { message: 'bad max_tokens', type: 'BadRequestError', param: 'max_tokens', code: 400 } } };
    return { statusCode: 200, body: { object: url === '/v1/completions' ? 'text_completion' : 'chat.completion', usage: { completion_tokens: 3 } } };
  },
});

test('every line gets one output line, in input order, with errors for bad lines', async () => {
  const calls: string[] = [];
  const written: string[] = [];
  const summary = await runBatch(INPUT, fakeEndpoint(calls), (l) => void written.push(l), { concurrency: 4 });
  const out = written.map((l) => JSON.parse(l) as BatchOutputLine);
  assert.equal(out.length, 11, 'one per non-blank line');
  assert.deepEqual(out.map((o) => o.custom_id), ['a', null, 'b', 'c', null, 'd', 'a', 'e', 'f', 'g', 'h']);
  assert.deepEqual(summary, { total: 11, succeeded: 3, failed: 8 });
  const byIndex = (i: number): BatchOutputLine => out[i]!;
  assert.equal(byIndex(0).response?.status_code, 200);
  assert.equal(byIndex(0).error, null);
  assert.equal(byIndex(1).error?.line, 2);
  assert.match(byIndex(1).error!.message, /line 2: not valid JSON/);
  assert.equal(byIndex(1).response?.status_code, 400);
  assert.match(byIndex(3).error!.message, /"url" must be one of/);
  assert.match(byIndex(4).error!.message, /custom_id/);
  assert.equal(byIndex(4).error?.line, 6);
  assert.equal(byIndex(5).response?.status_code, 400);
  assert.equal(byIndex(5).error?.message, 'bad max_tokens');
  assert.match(byIndex(6).error!.message, /duplicate custom_id "a"/);
  assert.match(byIndex(8).error!.message, /"method" must be "POST"/);
  assert.match(byIndex(9).error!.message, /"body" must be a JSON object/);
  assert.equal(byIndex(10).response?.status_code, 500);
  assert.match(byIndex(10).error!.message, /engine exploded/);
  for (const o of out) {
    assert.match(o.id, /^batch_req_[0-9a-f]{32}$/);
    assert.equal(typeof o.response?.request_id, 'string');
  }
  assert.equal(calls.length, 5, 'only valid lines reach the endpoint');
  assert.equal(new Set(out.map((o) => o.id)).size, out.length);
});

test('concurrency 1 runs one at a time; input can come from a file or an http URL', async () => {
  let active = 0;
  let peak = 0;
  const endpoint: BatchEndpoint = {
    async call() {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 2));
      active--;
      return { statusCode: 200, body: {} };
    },
  };
  const text = [good('x'), good('y'), good('z')].join('\n') + '\n';
  const written: string[] = [];
  await runBatch(text, endpoint, (l) => void written.push(l), { concurrency: 1 });
  assert.equal(peak, 1);
  assert.equal(written.length, 3);

  const dir = mkdtempSync(join(tmpdir(), 'serval-batch-'));
  writeFileSync(join(dir, 'in.jsonl'), text);
  assert.equal(await readBatchInput(join(dir, 'in.jsonl')), text);
  await assert.rejects(readBatchInput(join(dir, 'missing.jsonl')), /could not read the batch input/);
  const server = createServer((req, res) => {
    if (req.url === '/in.jsonl') res.end(text);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.equal(await readBatchInput(`${base}/in.jsonl`), text);
    await assert.rejects(readBatchInput(`${base}/nope`), /HTTP 404/);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
