// End to end with the official `openai` npm client against a real serval server (tiny random model).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { E2E_KEY, E2E_MODEL, startE2EServer, type E2EServer } from './e2e-helpers.js';

let server: E2EServer;
let client: OpenAI;
before(async () => {
  server = await startE2EServer();
  client = new OpenAI({ baseURL: `${server.baseUrl}/v1`, apiKey: E2E_KEY, maxRetries: 0 });
});
after(async () => {
  await server.close();
});

const messages = [{ role: 'user' as const, content: 'Say hello' }];

test('openai: models list and a wrong key is an AuthenticationError', async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [E2E_MODEL]);
  const bad = new OpenAI({ baseURL: `${server.baseUrl}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages }), (e: unknown) => e instanceof OpenAI.NotFoundError);
});

test('openai: chat non-streamed equals streamed (greedy), usage and finish reasons agree', async () => {
  const full = await client.chat.completions.create({ model: E2E_MODEL, messages, max_tokens: 6, temperature: 0 });
  assert.equal(full.object, 'chat.completion');
  assert.equal(full.model, E2E_MODEL);
  const choice = full.choices[0];
  assert.equal(choice.message.role, 'assistant');
  assert.equal(typeof choice.message.content, 'string');
  assert.ok(choice.finish_reason === 'length' || choice.finish_reason === 'stop');
  assert.ok(full.usage!.prompt_tokens > 0);
  assert.equal(full.usage!.total_tokens, full.usage!.prompt_tokens + full.usage!.completion_tokens);

  const stream = await client.chat.completions.create({ model: E2E_MODEL, messages, max_tokens: 6, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  let role: string | undefined;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      role ??= c.delta.role;
      text += c.delta.content ?? '';
      finish = c.finish_reason ?? finish;
    }
  }
  assert.equal(role, 'assistant');
  assert.equal(text, choice.message.content);
  assert.equal(finish, choice.finish_reason);
  assert.deepEqual(usage, full.usage);
});

test('openai: chat logprobs and n>1', async () => {
  const r = await client.chat.completions.create({ model: E2E_MODEL, messages, max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 3 });
  const lp = r.choices[0].logprobs!.content!;
  assert.equal(lp.length, r.usage!.completion_tokens);
  for (const t of lp) {
    assert.equal(t.top_logprobs.length, 3);
    assert.ok(t.logprob <= 0);
    // greedy: the chosen token is the most likely one
    assert.equal(t.token, t.top_logprobs[0].token);
    assert.ok(Math.abs(t.logprob - t.top_logprobs[0].logprob) < 1e-4);
  }
  assert.equal(lp.map((t) => t.token).join(''), r.choices[0].message.content);

  const n = await client.chat.completions.create({ model: E2E_MODEL, messages, max_tokens: 4, temperature: 1, n: 3, seed: 1 });
  assert.deepEqual(n.choices.map((c) => c.index), [0, 1, 2]);
  assert.ok(n.choices.every((c) => typeof c.message.content === 'string'));
  // each choice wrote 4 tokens unless it sampled EOS first (stop)
  if (n.choices.every((c) => c.finish_reason === 'length')) assert.equal(n.usage!.completion_tokens, 12);
  else assert.ok(n.usage!.completion_tokens < 12);
});

test('openai: completions with a list of prompts, echo and logprobs; streamed', async () => {
  const r = await client.completions.create({ model: E2E_MODEL, prompt: ['Once upon', 'The answer is'], max_tokens: 3, temperature: 0, logprobs: 2, echo: true });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.choices.length, 2);
  assert.ok(r.choices[0].text.startsWith('Once upon'));
  assert.ok(r.choices[1].text.startsWith('The answer is'));
  const lp = r.choices[0].logprobs!;
  assert.equal(lp.tokens!.length, lp.token_logprobs!.length);
  assert.equal(lp.token_logprobs![0], null, 'the first echoed prompt token has no logprob');
  assert.equal(lp.tokens!.join(''), r.choices[0].text);

  const s = await client.completions.create({ model: E2E_MODEL, prompt: 'Once upon', max_tokens: 3, temperature: 0, stream: true });
  let text = '';
  for await (const chunk of s) text += chunk.choices[0]?.text ?? '';
  const plain = await client.completions.create({ model: E2E_MODEL, prompt: 'Once upon', max_tokens: 3, temperature: 0 });
  assert.equal(text, plain.choices[0].text);
});

test('openai: structured output through extra_body (guided_choice, guided_json) and response_format', async () => {
  const choice = await client.chat.completions.create({ model: E2E_MODEL, messages, max_tokens: 10, guided_choice: ['yes', 'no'] } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  assert.ok(['yes', 'no'].includes(choice.choices[0].message.content!), choice.choices[0].message.content!);

  const schema = { type: 'object', properties: { answer: { type: 'string', enum: ['yes', 'no'] } }, required: ['answer'], additionalProperties: false };
  const json = await client.chat.completions.create({
    model: E2E_MODEL,
    messages,
    max_tokens: 30,
    guided_json: schema,
    guided_decoding_backend: 'outlines',
    structured_outputs: { disable_any_whitespace: true },
  } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  assert.ok(['{"answer":"yes"}', '{"answer":"no"}'].includes(json.choices[0].message.content!), json.choices[0].message.content!);
  const rf = await client.chat.completions.create({
    model: E2E_MODEL,
    messages,
    max_tokens: 30,
    response_format: { type: 'json_schema', json_schema: { name: 'a', schema, strict: true } },
    structured_outputs: { disable_any_whitespace: true },
  } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  assert.ok(['{"answer":"yes"}', '{"answer":"no"}'].includes(rf.choices[0].message.content!), rf.choices[0].message.content!);

  await assert.rejects(
    client.chat.completions.create({ model: E2E_MODEL, messages, guided_json: schema, guided_regex: 'a+' } as OpenAI.ChatCompletionCreateParamsNonStreaming),
    (e: unknown) => e instanceof OpenAI.BadRequestError && /one kind of structured outputs/.test(e.message),
  );
});

test('openai: tools with tool_choice naming a function yield a tool call that follows its schema', async () => {
  const tools: OpenAI.ChatCompletionTool[] = [
    {
      type: 'function',
      function: { name: 'set_flag', description: 'set a flag', parameters: { type: 'object', properties: { on: { type: 'boolean' } }, required: ['on'], additionalProperties: false } },
    },
  ];
  const r = await client.chat.completions.create({
    model: E2E_MODEL,
    messages,
    tools,
    tool_choice: { type: 'function', function: { name: 'set_flag' } },
    max_tokens: 30,
    structured_outputs: { disable_any_whitespace: true },
  } as OpenAI.ChatCompletionCreateParamsNonStreaming);
  const call = r.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'set_flag');
  assert.equal(typeof JSON.parse(call.function.arguments).on, 'boolean');
});

test('openai: the zod structured-output helper (chat.completions.parse) gets schema-valid JSON', async () => {
  const { z } = await import('zod');
  const { zodResponseFormat } = await import('openai/helpers/zod');
  const Answer = z.object({ verdict: z.enum(['yes', 'no']), sure: z.boolean() });
  const r = await client.chat.completions.parse({
    model: E2E_MODEL,
    messages,
    max_tokens: 40,
    response_format: zodResponseFormat(Answer, 'answer'),
    structured_outputs: { disable_any_whitespace: true },
  } as Parameters<typeof client.chat.completions.parse>[0]);
  const parsed = r.choices[0].message.parsed as { verdict: string; sure: boolean } | null;
  assert.ok(parsed, r.choices[0].message.content ?? '');
  assert.ok(['yes', 'no'].includes(parsed.verdict));
  assert.equal(typeof parsed.sure, 'boolean');
});

test('openai: constraints the structured-output engine refuses are a BadRequestError naming the problem', async () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ guided_json: { type: 'array', contains: { type: 'string' } } }, /keyword "contains" is not supported/],
    [{ guided_json: { type: 'number', minimum: 0.5 } }, /keyword "minimum" is not supported/],
    [{ guided_grammar: 'start ::= "x"' }, /no rule named "root"/],
  ];
  for (const [extra, message] of cases) {
    await assert.rejects(
      client.chat.completions.create({ model: E2E_MODEL, messages, max_tokens: 5, ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming),
      (e: unknown) => e instanceof OpenAI.BadRequestError && message.test(e.message),
      JSON.stringify(extra),
    );
  }
});
