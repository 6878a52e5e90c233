// End to end with the Vercel AI SDK (OpenAI-compatible provider), LangChain's ChatOpenAI and curl (raw JSON
// bodies) against a real serval server (tiny random model).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { generateText, streamText } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { E2E_KEY, E2E_MODEL, startE2EServer, type E2EServer } from './e2e-helpers.js';

let server: E2EServer;
before(async () => {
  server = await startE2EServer();
});
after(async () => {
  await server.close();
});

test('Vercel AI SDK: generateText and streamText agree (greedy) and report usage', async () => {
  const provider = createOpenAICompatible({ name: 'serval', baseURL: `${server.baseUrl}/v1`, apiKey: E2E_KEY, includeUsage: true });
  const model = provider.chatModel(E2E_MODEL);
  const r = await generateText({ model, prompt: 'Say hello', maxOutputTokens: 5, temperature: 0, maxRetries: 0 });
  assert.equal(typeof r.text, 'string');
  assert.ok(r.text.length > 0);
  assert.ok(['length', 'stop'].includes(r.finishReason));
  assert.ok((r.usage.inputTokens ?? 0) > 0);
  assert.ok((r.usage.outputTokens ?? 0) > 0 && (r.usage.outputTokens ?? 0) <= 5);
  const s = streamText({ model, prompt: 'Say hello', maxOutputTokens: 5, temperature: 0, maxRetries: 0 });
  let streamed = '';
  for await (const part of s.textStream) streamed += part;
  assert.equal(streamed, r.text);
  assert.deepEqual((await s.usage).outputTokens, r.usage.outputTokens);
});

test('LangChain ChatOpenAI: invoke and stream', async () => {
  const llm = new ChatOpenAI({ model: E2E_MODEL, apiKey: E2E_KEY, configuration: { baseURL: `${server.baseUrl}/v1` }, maxTokens: 5, temperature: 0, maxRetries: 0 });
  const msg = await llm.invoke([['human', 'Say hello']]);
  assert.equal(typeof msg.content, 'string');
  assert.ok((msg.content as string).length > 0);
  assert.ok((msg.usage_metadata?.output_tokens ?? 0) > 0);
  let streamed = '';
  for await (const chunk of await llm.stream([['human', 'Say hello']])) streamed += chunk.content as string;
  assert.equal(streamed, msg.content);
});

// asynchronous: the server runs in this process, so a blocking spawn would starve it
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const r = await promisify(execFile)('curl', ['-s', '-w', '\n%{http_code}', ...args], { encoding: 'utf8', timeout: 60_000 });
  const i = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i) };
}

test('curl with raw JSON: chat, streamed completion, errors', async () => {
  const auth = ['-H', `Authorization: Bearer ${E2E_KEY}`, '-H', 'Content-Type: application/json'];
  let r = await curl([...auth, '-X', 'POST', `${server.baseUrl}/v1/chat/completions`, '-d', `{"model":"${E2E_MODEL}","messages":[{"role":"user","content":"Hi"}],"max_tokens":3}`]);
  assert.equal(r.status, 200, r.body);
  const chat = JSON.parse(r.body);
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.usage.completion_tokens <= 3, true);

  r = await curl([...auth, '-N', '-X', 'POST', `${server.baseUrl}/v1/completions`, '-d', `{"model":"${E2E_MODEL}","prompt":"Hi","max_tokens":3,"stream":true}`]);
  assert.equal(r.status, 200);
  const events = r.body.split('\n\n').filter((e) => e !== '');
  assert.equal(events[events.length - 1], 'data: [DONE]');
  for (const e of events.slice(0, -1)) assert.equal(JSON.parse(e.slice('data: '.length)).object, 'text_completion');

  r = await curl(['-H', 'Content-Type: application/json', '-X', 'POST', `${server.baseUrl}/v1/completions`, '-d', '{"prompt":"Hi"}']);
  assert.equal(r.status, 401);
  assert.equal(JSON.parse(r.body).error.code, 401);
  r = await curl([...auth, '-X', 'POST', `${server.baseUrl}/v1/completions`, '-d', '{"prompt":"Hi","max_tokens":"three"}']);
  assert.equal(r.status, 400);
  assert.equal(JSON.parse(r.body).error.param, 'max_tokens');
  r = await curl([...auth, '-X', 'POST', `${server.baseUrl}/v1/completions`, '-d', `{"prompt":"${'word '.repeat(600)}"}`]);
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.body).error.message, /^This model's maximum context length is 512 tokens\. However, your request has \d+ input tokens\./);
  r = await curl([`${server.baseUrl}/health`]);
  assert.equal(r.status, 200);
  r = await curl([`${server.baseUrl}/docs/`]);
  assert.equal(r.status, 200);
  assert.match(r.body, /swagger/i);
});
