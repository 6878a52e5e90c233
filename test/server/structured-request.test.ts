import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStructuredOutput } from '../../src/server/structured-request.js';
import { fakeServer } from './helpers.js';

const schema = { type: 'object', properties: { cpe: { type: 'array', items: { type: 'string' } } }, required: ['cpe'] };

test('each request surface maps to one StructuredConstraint', () => {
  assert.equal(parseStructuredOutput({}, {}), undefined);
  assert.deepEqual(parseStructuredOutput({ guided_json: schema }, {}), { kind: 'json', schema });
  assert.deepEqual(parseStructuredOutput({ guided_json: JSON.stringify(schema), guided_whitespace_pattern: '[ ]?' }, {}), { kind: 'json', schema, whitespacePattern: '[ ]?' });
  assert.deepEqual(parseStructuredOutput({ guided_regex: '\\d+' }, {}), { kind: 'regex', pattern: '\\d+' });
  assert.deepEqual(parseStructuredOutput({ guided_choice: ['a', 'b'] }, {}), { kind: 'choice', choices: ['a', 'b'] });
  assert.deepEqual(parseStructuredOutput({ guided_grammar: 'root ::= "x"' }, {}), { kind: 'grammar', grammar: 'root ::= "x"' });
  assert.deepEqual(parseStructuredOutput({ structured_outputs: { json: schema, disable_any_whitespace: true, disable_additional_properties: true } }, {}), {
    kind: 'json',
    schema,
    disableAnyWhitespace: true,
    disableAdditionalProperties: true,
  });
  assert.deepEqual(parseStructuredOutput({ structured_outputs: { json_object: true } }, {}), { kind: 'json_object' });
  assert.deepEqual(parseStructuredOutput({ structured_outputs: { choice: ['y'] } }, {}), { kind: 'choice', choices: ['y'] });
  assert.deepEqual(parseStructuredOutput({ response_format: { type: 'json_object' } }, { disableAnyWhitespace: true }), { kind: 'json_object', disableAnyWhitespace: true });
  assert.deepEqual(parseStructuredOutput({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema, strict: true } } }, {}), { kind: 'json', schema });
  assert.equal(parseStructuredOutput({ response_format: { type: 'text' } }, {}), undefined);
  // server-wide defaults (--structured-outputs-config) apply, request fields win
  assert.deepEqual(parseStructuredOutput({ guided_json: schema, structured_outputs: { disable_any_whitespace: false } }, { disableAnyWhitespace: true }), {
    kind: 'json',
    schema,
    disableAnyWhitespace: false,
  });
  assert.deepEqual(parseStructuredOutput({ guided_json: schema, guided_decoding_backend: 'lm-format-enforcer' }, {}), { kind: 'json', schema });
  // vLLM's backend options after a colon; the request's own structured_outputs setting wins, then the option, then the server's
  assert.deepEqual(parseStructuredOutput({ guided_json: schema, guided_decoding_backend: 'xgrammar:disable-any-whitespace' }, {}), { kind: 'json', schema, disableAnyWhitespace: true });
  assert.deepEqual(parseStructuredOutput({ guided_json: schema, guided_decoding_backend: 'guidance:no-additional-properties,no-fallback' }, { disableAnyWhitespace: false }), {
    kind: 'json',
    schema,
    disableAnyWhitespace: false,
    disableAdditionalProperties: true,
  });
  assert.deepEqual(parseStructuredOutput({ guided_json: schema, guided_decoding_backend: 'xgrammar:disable-any-whitespace', structured_outputs: { disable_any_whitespace: false } }, {}), {
    kind: 'json',
    schema,
    disableAnyWhitespace: false,
  });
  assert.deepEqual(parseStructuredOutput({ response_format: { type: 'json_object' }, guided_decoding_backend: 'xgrammar:disable-any-whitespace' }, {}), { kind: 'json_object', disableAnyWhitespace: true });
});

test('a null field counts as left out, as vLLM takes its Optional fields (OpenAI clients send None as null)', () => {
  const allNull = { guided_json: null, guided_regex: null, guided_choice: null, guided_grammar: null, guided_whitespace_pattern: null, guided_decoding_backend: null, structured_outputs: null, response_format: null };
  assert.equal(parseStructuredOutput(allNull, {}), undefined);
  assert.deepEqual(parseStructuredOutput({ ...allNull, guided_regex: 'a+' }, {}), { kind: 'regex', pattern: 'a+' }, 'one kind given, the others null');
  assert.deepEqual(parseStructuredOutput({ structured_outputs: { json: null, regex: 'x', choice: null, grammar: null, json_object: null, whitespace_pattern: null } }, {}), { kind: 'regex', pattern: 'x' });
  assert.deepEqual(parseStructuredOutput({ guided_json: schema, structured_outputs: { disable_any_whitespace: null } }, { disableAnyWhitespace: true }), { kind: 'json', schema, disableAnyWhitespace: true }, 'a null option leaves the server default');
  assert.throws(() => parseStructuredOutput({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: null } } }, {}), (e: any) => e.status === 400 && e.param === 'response_format.json_schema.schema');
});

test('more than one kind, bad JSON, missing schema and unknown backend are 400s naming the field', () => {
  assert.throws(() => parseStructuredOutput({ guided_json: schema, guided_regex: 'x' }, {}), (e: any) => e.status === 400 && /guided_json, guided_regex/.test(e.message));
  assert.throws(() => parseStructuredOutput({ guided_choice: ['a'], response_format: { type: 'json_object' } }, {}), (e: any) => e.status === 400 && e.param === 'response_format');
  assert.throws(() => parseStructuredOutput({ guided_json: '{nope' }, {}), (e: any) => e.status === 400 && e.param === 'guided_json' && /not valid JSON/.test(e.message));
  assert.throws(() => parseStructuredOutput({ response_format: { type: 'json_schema' } }, {}), (e: any) => e.status === 400 && e.param === 'response_format.json_schema.schema');
  assert.throws(() => parseStructuredOutput({ guided_json: schema, guided_decoding_backend: 'magic' }, {}), (e: any) => e.status === 400 && e.param === 'guided_decoding_backend');
  assert.throws(
    () => parseStructuredOutput({ guided_json: schema, guided_decoding_backend: 'xgrammar:turbo' }, {}),
    (e: any) => e.status === 400 && e.param === 'guided_decoding_backend' && /option 'turbo' is unknown/.test(e.message),
  );
});

test('the issue\'s request: guided_json and extra_body fields at top level reach the engine', async () => {
  const { app, engine } = await fakeServer();
  const r = await app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    payload: { model: 'fake-model', messages: [{ role: 'user', content: 'list CPEs' }], guided_json: schema, guided_decoding_backend: 'outlines', top_k: 5 },
  });
  assert.equal(r.statusCode, 200, r.body);
  assert.deepEqual(engine.calls[0].params.structured, { kind: 'json', schema });
  assert.equal(engine.calls[0].params.topK, 5);
  const c = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', guided_choice: ['yes', 'no'] } });
  assert.equal(c.statusCode, 200);
  assert.deepEqual(engine.calls[1].params.structured, { kind: 'choice', choices: ['yes', 'no'] });
  await app.close();
});

test('a literal extra_body object: its fields count as top-level fields; conflicts and non-objects are 400s', async () => {
  const { app, engine } = await fakeServer();
  const r = await app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    payload: { model: 'fake-model', messages: [{ role: 'user', content: 'list CPEs' }], extra_body: { guided_json: schema, top_k: 7 } },
  });
  assert.equal(r.statusCode, 200, r.body);
  assert.deepEqual(engine.calls[0].params.structured, { kind: 'json', schema });
  assert.equal(engine.calls[0].params.topK, 7);
  // the same value both ways is fine; completions take it too
  const c = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', top_k: 3, extra_body: { top_k: 3, guided_choice: ['yes', 'no'] } } });
  assert.equal(c.statusCode, 200, c.body);
  assert.deepEqual(engine.calls[1].params.structured, { kind: 'choice', choices: ['yes', 'no'] });
  const conflict = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', top_k: 3, extra_body: { top_k: 4 } } });
  assert.equal(conflict.statusCode, 400);
  assert.equal(conflict.json().error.param, 'extra_body.top_k');
  assert.match(conflict.json().error.message, /top_k is given both at top level and in extra_body/);
  const notObject = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: 'fake-model', messages: [{ role: 'user', content: 'x' }], extra_body: 'guided_json' } });
  assert.equal(notObject.statusCode, 400);
  assert.equal(notObject.json().error.param, 'extra_body');
  // its fields are checked as top-level ones
  const bad = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', extra_body: { max_tokens: -1 } } });
  assert.equal(bad.statusCode, 400);
  assert.equal(engine.calls.length, 2, 'refused requests never reach the engine');
  // a null counts as left out: no conflict, and the value given the other way stands
  const nullTop = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', guided_regex: null, extra_body: { guided_regex: 'y+' } } });
  assert.equal(nullTop.statusCode, 200, nullTop.body);
  assert.deepEqual(engine.calls[2].params.structured, { kind: 'regex', pattern: 'y+' });
  const nullExtra = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', guided_regex: 'z+', extra_body: { guided_regex: null } } });
  assert.equal(nullExtra.statusCode, 200, nullExtra.body);
  assert.deepEqual(engine.calls[3].params.structured, { kind: 'regex', pattern: 'z+' });
  await app.close();
});

test('structural tags and unknown structured_outputs members are refused by name, never dropped unseen', async () => {
  assert.throws(() => parseStructuredOutput({ structural_tag: '{}' }, {}), (e: any) => e.status === 400 && e.param === 'structural_tag' && /not supported/.test(e.message));
  assert.throws(
    () => parseStructuredOutput({ structured_outputs: { structural_tag: '{}' } }, {}),
    (e: any) => e.status === 400 && e.param === 'structured_outputs.structural_tag' && /not supported/.test(e.message),
  );
  const { app, engine } = await fakeServer();
  const unknown = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', structured_outputs: { json: schema, bogus: 1 } } });
  assert.equal(unknown.statusCode, 400);
  assert.equal(unknown.json().error.param, 'structured_outputs.bogus');
  assert.match(unknown.json().error.message, /^structured_outputs\.bogus: is not a field structured_outputs takes$/);
  const tag = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', structural_tag: '{"type": "structural_tag"}' } });
  assert.equal(tag.statusCode, 400);
  assert.equal(tag.json().error.param, 'structural_tag');
  // vLLM's disable_fallback is taken (serval's engine never falls back to another)
  const fallback = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', structured_outputs: { regex: 'a+', disable_fallback: true } } });
  assert.equal(fallback.statusCode, 200, fallback.body);
  assert.deepEqual(engine.calls[0].params.structured, { kind: 'regex', pattern: 'a+' });
  assert.equal(engine.calls.length, 1, 'refused requests never reach the engine');
  await app.close();
});

test('null for the fields vLLM declares Optional (n, response_format, guided_*, structured_outputs) is accepted as left out', async () => {
  const { app, engine } = await fakeServer();
  const nulls = { n: null, response_format: null, guided_json: null, guided_regex: null, guided_choice: null, guided_grammar: null, guided_whitespace_pattern: null, guided_decoding_backend: null, structured_outputs: null };
  const chat = await app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: 'fake-model', messages: [{ role: 'user', content: 'x' }], ...nulls } });
  assert.equal(chat.statusCode, 200, chat.body);
  assert.equal(engine.calls[0].params.structured, undefined);
  assert.equal(engine.calls[0].params.n, undefined, 'as if n were left out (the default: one choice)');
  assert.equal(chat.json().choices.length, 1);
  const completion = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', ...nulls } });
  assert.equal(completion.statusCode, 200, completion.body);
  assert.equal(engine.calls[1].params.structured, undefined);
  // nulls inside: structured_outputs' unused kinds, json_schema's description and strict
  const inner = await app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    payload: { model: 'fake-model', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'cpe', description: null, schema, strict: null } } },
  });
  assert.equal(inner.statusCode, 200, inner.body);
  assert.deepEqual(engine.calls[2].params.structured, { kind: 'json', schema });
  const so = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', structured_outputs: { json: null, choice: ['a', 'b'], regex: null } } });
  assert.equal(so.statusCode, 200, so.body);
  assert.deepEqual(engine.calls[3].params.structured, { kind: 'choice', choices: ['a', 'b'] });
  // a wrong type is still a 400
  const wrong = await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'x', n: 'two' } });
  assert.equal(wrong.statusCode, 400);
  await app.close();
});
