// `serval run-batch` end to end: a tiny make-test-model model, the real engine in-process, a batch file with good
// and bad lines served over http — every custom_id exactly once, in input order, with the right statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel } from '../../src/models/make-test-model.js';
import type { BatchOutputLine } from '../../src/batch/batch-format.js';
import { runCli } from '../helpers/run-cli.js';

test('run-batch: good and bad lines, input from a URL, output file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serval-run-batch-'));
  const model = makeTestModel({ arch: 'qwen3', out: join(dir, 'model'), hidden: 32, layers: 1, seed: 3 });
  const req = (id: string, url: string, body: object): string => JSON.stringify({ custom_id: id, method: 'POST', url, body });
  const good = [
    req('c1', '/v1/completions', { model, prompt: 'CVE-2024-1234 affects Apache', max_tokens: 4 }),
    req('m1', '/v1/chat/completions', { model, messages: [{ role: 'user', content: '列出受影响的产品' }], max_completion_tokens: 3 }),
    req('c2', '/v1/completions', { model, prompt: 'hello', max_tokens: 2, temperature: 0 }),
    req('m2', '/v1/chat/completions', { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], max_tokens: 5 }),
  ];
  const lines = [
    good[0],
    '{"custom_id": "torn", "url": ', // unparseable: no custom_id can be read
    good[1],
    req('emb', '/v1/embeddings', { model, input: 'x' }), // unknown url
    req('badbody', '/v1/completions', { model, prompt: 'x', max_tokens: 'lots' }), // server-side validation
    good[2],
    req('c1', '/v1/completions', { model, prompt: 'again', max_tokens: 1 }), // duplicate custom_id
    good[3],
  ];
  const server = createServer((_req, res) => res.end(lines.join('\n') + '\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/batch.jsonl`;
  const outFile = join(dir, 'out.jsonl');
  try {
    const r = await runCli(['run-batch', '-i', url, '-o', outFile, '--model', model, '--device', 'ts', '--max-num-seqs', '4', '--disable-progress']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /8 lines in [\d.]+s: 4 succeeded, 4 failed/);
    const out = readFileSync(outFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as BatchOutputLine);
    assert.equal(out.length, lines.length, 'one output line per input line');
    assert.deepEqual(out.map((o) => o.custom_id), ['c1', null, 'm1', 'emb', 'badbody', 'c2', 'c1', 'm2']);
    for (const id of ['m1', 'emb', 'badbody', 'c2', 'm2']) assert.equal(out.filter((o) => o.custom_id === id).length, 1, id);

    const ok = [out[0]!, out[2]!, out[5]!, out[7]!];
    for (const o of ok) {
      assert.equal(o.error, null);
      assert.equal(o.response?.status_code, 200);
    }
    const c1 = out[0]!.response!.body as { object: string; choices: Array<{ text: string }>; usage: { completion_tokens: number } };
    assert.equal(c1.object, 'text_completion');
    assert.equal(c1.usage.completion_tokens, 4);
    const m1 = out[2]!.response!.body as { object: string; choices: Array<{ message: { role: string; content: string } }>; usage: { completion_tokens: number } };
    assert.equal(m1.object, 'chat.completion');
    assert.equal(m1.choices[0]!.message.role, 'assistant');
    assert.equal(m1.usage.completion_tokens, 3);
    assert.equal((out[7]!.response!.body as { usage: { completion_tokens: number } }).usage.completion_tokens, 5);

    assert.equal(out[1]!.error?.line, 2);
    assert.match(out[1]!.error!.message, /not valid JSON/);
    assert.match(out[3]!.error!.message, /"url" must be one of/);
    assert.equal(out[4]!.response?.status_code, 400);
    assert.match(out[4]!.error!.message, /max_tokens/);
    assert.match(out[6]!.error!.message, /duplicate custom_id "c1"/);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
