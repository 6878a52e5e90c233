// run-batch through the server's own routes (in-process inject) with a fake engine: real OpenAI response bodies,
// body validation errors from the server, every custom_id exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBatch } from '../../src/batch/run-batch.js';
import { createServerBatchEndpoint } from '../../src/batch/server-endpoint.js';
import type { BatchOutputLine } from '../../src/batch/batch-format.js';
import { FakeServerEngine } from './fake-server-engine.js';

const line = (id: string, url: string, body: object): string => JSON.stringify({ custom_id: id, method: 'POST', url, body });

test('completions and chat lines get server response bodies; bad bodies get the server\'s 4xx', async () => {
  const engine = new FakeServerEngine();
  const endpoint = await createServerBatchEndpoint(engine, { servedModelNames: ['tiny'], modelRoot: '/models/tiny' });
  try {
    const input = [
      line('cmpl', '/v1/completions', { model: 'tiny', prompt: 'hello there', max_tokens: 3 }),
      line('chat', '/v1/chat/completions', { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 2 }),
      line('neg', '/v1/completions', { model: 'tiny', prompt: 'x', max_tokens: 'many' }),
      line('nomsg', '/v1/chat/completions', { model: 'tiny' }),
      line('wrongmodel', '/v1/completions', { model: 'other', prompt: 'x', max_tokens: 1 }),
      line('stream', '/v1/completions', { model: 'tiny', prompt: 'x', max_tokens: 1, stream: true }),
      'not json',
    ].join('\n');
    const written: string[] = [];
    const summary = await runBatch(input, endpoint, (l) => void written.push(l), { concurrency: 8 });
    const out = written.map((l) => JSON.parse(l) as BatchOutputLine);
    assert.deepEqual(out.map((o) => o.custom_id), ['cmpl', 'chat', 'neg', 'nomsg', 'wrongmodel', 'stream', null]);
    assert.deepEqual(summary, { total: 7, succeeded: 2, failed: 5 });

    const cmpl = out[0]!.response!.body as { object: string; model: string; choices: Array<{ text: string; finish_reason: string }>; usage: { prompt_tokens: number; completion_tokens: number } };
    assert.equal(out[0]!.response!.status_code, 200);
    assert.equal(cmpl.object, 'text_completion');
    assert.equal(cmpl.model, 'tiny');
    assert.equal(cmpl.choices[0]!.text, 'w0 w1 w2');
    assert.equal(cmpl.choices[0]!.finish_reason, 'length');
    assert.deepEqual([cmpl.usage.prompt_tokens, cmpl.usage.completion_tokens], [2, 3]);

    const chat = out[1]!.response!.body as { object: string; choices: Array<{ message: { role: string; content: string } }>; usage: { completion_tokens: number } };
    assert.equal(chat.object, 'chat.completion');
    assert.equal(chat.choices[0]!.message.role, 'assistant');
    assert.equal(chat.choices[0]!.message.content, 'w0 w1');
    assert.equal(chat.usage.completion_tokens, 2);

    assert.equal(out[2]!.response!.status_code, 400);
    assert.match(out[2]!.error!.message, /max_tokens/);
    assert.equal(out[3]!.response!.status_code, 400);
    assert.match(out[3]!.error!.message, /messages/);
    assert.equal(out[4]!.response!.status_code, 404);
    assert.match(out[4]!.error!.message, /other/);
    assert.equal(out[5]!.response!.status_code, 400);
    assert.match(out[5]!.error!.message, /stream/);
    assert.equal(out[6]!.error!.line, 7);
    assert.equal(engine.seen.length, 2, 'only the two good requests reached the engine');
  } finally {
    await endpoint.close();
  }
});
