// Tool calls (tool_choice auto, Hermes <tool_call> output) through the real clients, over HTTP, against the
// scripted engine — a random-weight model never writes a tool call by itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { generateText, jsonSchema, tool } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { fakeServer } from './helpers.js';
import { FakeEngine } from './fake-engine.js';
import type { BuiltServer } from '../../src/server/app.js';

const CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';
const weatherParams = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } as const;
let built: BuiltServer;
let base: string;

before(async () => {
  // answers with a tool call unless the conversation already holds a tool result
  built = await fakeServer(new FakeEngine((prompt) => (prompt.includes('[tool]') ? 'It is sunny.' : CALL)));
  await built.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}/v1`;
});
after(async () => {
  await built.app.close();
});

test('openai client: tool_calls parsed, streamed deltas accumulate, tool results round-trip', async () => {
  const client = new OpenAI({ baseURL: base, apiKey: 'none', maxRetries: 0 });
  const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', parameters: weatherParams } }];
  const r = await client.chat.completions.create({ model: 'fake-model', messages: [{ role: 'user', content: 'weather?' }], tools });
  assert.equal(r.choices[0].finish_reason, 'tool_calls');
  const call = r.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
  assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });

  const stream = client.chat.completions.stream({ model: 'fake-model', messages: [{ role: 'user', content: 'weather?' }], tools });
  const final = await stream.finalChatCompletion();
  const sc = final.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
  assert.equal(sc.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(sc.function.arguments), { city: 'Paris' });
  assert.equal(final.choices[0].finish_reason, 'tool_calls');

  const second = await client.chat.completions.create({
    model: 'fake-model',
    tools,
    messages: [{ role: 'user', content: 'weather?' }, r.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"sky":"clear"}' }],
  });
  assert.equal(second.choices[0].message.content, 'It is sunny.');
  assert.equal(second.choices[0].finish_reason, 'stop');
});

test('Vercel AI SDK and LangChain see the tool call', async () => {
  const provider = createOpenAICompatible({ name: 'serval', baseURL: base });
  const r = await generateText({
    model: provider.chatModel('fake-model'),
    prompt: 'weather?',
    tools: { get_weather: tool({ description: 'weather', inputSchema: jsonSchema<{ city: string }>(weatherParams) }) },
    maxRetries: 0,
  });
  assert.equal(r.finishReason, 'tool-calls');
  assert.equal(r.toolCalls[0].toolName, 'get_weather');
  assert.deepEqual(r.toolCalls[0].input, { city: 'Paris' });

  const llm = new ChatOpenAI({ model: 'fake-model', apiKey: 'none', configuration: { baseURL: base }, maxRetries: 0 }).bindTools([
    { type: 'function', function: { name: 'get_weather', description: 'weather', parameters: weatherParams } },
  ]);
  const msg = await llm.invoke([['human', 'weather?']]);
  assert.equal(msg.tool_calls?.[0]?.name, 'get_weather');
  assert.deepEqual(msg.tool_calls?.[0]?.args, { city: 'Paris' });
});
