import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeServer, sseJson } from './helpers.js';
import { FakeEngine } from './fake-engine.js';
import { HermesToolCallStreamParser, parseHermesToolCalls } from '../../src/server/tool-calls.js';

const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
];
const messages = [{ role: 'user', content: 'weather in Paris?' }];
const CALL = 'Let me check.<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>';

test('hermes parser: content and calls, invalid blocks stay content, streaming split anywhere', () => {
  assert.deepEqual(parseHermesToolCalls(CALL), { content: 'Let me check.', calls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] });
  assert.deepEqual(parseHermesToolCalls('<tool_call>{oops}</tool_call>'), { content: '<tool_call>{oops}</tool_call>', calls: [] });
  assert.deepEqual(parseHermesToolCalls('plain'), { content: 'plain', calls: [] });
  for (let split = 1; split < CALL.length; split++) {
    const p = new HermesToolCallStreamParser();
    const a = p.feed(CALL.slice(0, split));
    const b = p.feed(CALL.slice(split));
    const f = p.finish();
    assert.equal(a.content + b.content + f.content, 'Let me check.', `split at ${split}`);
    assert.deepEqual([...a.calls, ...b.calls, ...f.calls], [{ name: 'get_weather', arguments: '{"city":"Paris"}' }]);
  }
  const p = new HermesToolCallStreamParser();
  assert.equal(p.feed('a <tool').content, 'a ');
  assert.equal(p.feed('box>').content, '<toolbox>');
});

test('tools auto: Hermes output becomes tool_calls with finish_reason tool_calls; tools reach the template', async () => {
  const engine = new FakeEngine(() => CALL);
  const { app } = await fakeServer(engine);
  const r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, tools } });
  assert.equal(r.statusCode, 200, r.body);
  const ch = r.json().choices[0];
  assert.equal(ch.finish_reason, 'tool_calls');
  assert.equal(ch.message.content, 'Let me check.');
  assert.equal(ch.message.tool_calls.length, 1);
  assert.match(ch.message.tool_calls[0].id, /^chatcmpl-tool-/);
  assert.deepEqual({ ...ch.message.tool_calls[0], id: 'x' }, { id: 'x', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
  assert.equal(engine.chatTemplate.lastTools?.length, 2);
  assert.equal(engine.calls[0].params.structured, undefined);
  await app.close();
});

test('tools auto streaming: content deltas then one tool_calls delta, finish tool_calls', async () => {
  const { app } = await fakeServer(new FakeEngine(() => CALL));
  const r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, tools, stream: true } });
  const { chunks } = sseJson(r.body);
  const deltas = chunks.flatMap((c) => c.choices);
  assert.equal(deltas.map((d: any) => d.delta.content ?? '').join(''), 'Let me check.');
  const calls = deltas.flatMap((d: any) => d.delta.tool_calls ?? []);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].index, 0);
  assert.deepEqual(calls[0].function, { name: 'get_weather', arguments: '{"city":"Paris"}' });
  assert.equal(deltas[deltas.length - 1].finish_reason, 'tool_calls');
  await app.close();
});

test('tool_choice none: no parsing; named and required: a json constraint from the tools', async () => {
  const engine = new FakeEngine((_p, params) => (params.structured?.kind === 'json' && (params.structured.schema as any).type === 'array' ? '[{"name":"get_time","parameters":{}}]' : params.structured ? '{"city":"Oslo"}' : CALL));
  const { app } = await fakeServer(engine);
  let r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, tools, tool_choice: 'none' } });
  assert.equal(r.json().choices[0].message.content, CALL);
  assert.deepEqual(r.json().choices[0].message.tool_calls, []);

  r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, tools, tool_choice: { type: 'function', function: { name: 'get_weather' } } } });
  assert.equal(r.statusCode, 200, r.body);
  assert.deepEqual(engine.calls[1].params.structured, { kind: 'json', schema: tools[0].function.parameters });
  let ch = r.json().choices[0];
  assert.equal(ch.message.content, null);
  assert.deepEqual(ch.message.tool_calls[0].function, { name: 'get_weather', arguments: '{"city":"Oslo"}' });

  r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, tools, tool_choice: 'required' } });
  const schema = (engine.calls[2].params.structured as any).schema;
  assert.equal(schema.type, 'array');
  assert.equal(schema.minItems, 1);
  assert.deepEqual(schema.items.anyOf[1].properties.name, { type: 'string', enum: ['get_time'] });
  ch = r.json().choices[0];
  assert.equal(ch.finish_reason, 'tool_calls');
  assert.deepEqual(ch.message.tool_calls[0].function, { name: 'get_time', arguments: '{}' });

  r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, tools, tool_choice: { type: 'function', function: { name: 'get_weather' } }, stream: true } });
  const calls = sseJson(r.body).chunks.flatMap((c) => c.choices).flatMap((d: any) => d.delta.tool_calls ?? []);
  assert.equal(calls[0].function.name, 'get_weather');
  assert.equal(calls.map((c: any) => c.function.arguments).join(''), '{"city":"Oslo"}');
  await app.close();
});

test('tool_choice errors: unknown function, no tools, tool_choice plus guided_json', async () => {
  const { app } = await fakeServer();
  let r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, tools, tool_choice: { type: 'function', function: { name: 'nope' } } } });
  assert.equal(r.statusCode, 400);
  assert.equal(r.json().error.param, 'tool_choice');
  assert.match(r.json().error.message, /'nope'/);
  r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, tool_choice: 'required' } });
  assert.equal(r.statusCode, 400);
  assert.match(r.json().error.message, /needs a non-empty "tools"/);
  r = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages, tools, tool_choice: 'required', guided_json: { type: 'object' } } });
  assert.equal(r.statusCode, 400);
  assert.match(r.json().error.message, /one kind of structured outputs/);
  await app.close();
});
