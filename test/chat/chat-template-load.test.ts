import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadChatTemplate } from '../../src/chat/chat-template.js';

function modelDir(files: Record<string, string | object>): string {
  const dir = mkdtempSync(join(tmpdir(), 'serval-chat-'));
  for (const [name, body] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof body === 'string' ? body : JSON.stringify(body));
  }
  return dir;
}
const hello = [{ role: 'user', content: 'hello' }];

test('sources in order: --chat-template file, inline text, chat_template.jinja, tokenizer_config.json', () => {
  const dir = modelDir({
    'tokenizer_config.json': { bos_token: '<s>', eos_token: { content: '</s>' }, chat_template: 'CONFIG {{ bos_token }}' },
  });
  assert.equal(loadChatTemplate(dir).render(hello), 'CONFIG <s>');
  writeFileSync(join(dir, 'chat_template.jinja'), 'JINJA {{ eos_token }}{{ messages[0].content }}');
  assert.equal(loadChatTemplate(dir).render(hello), 'JINJA </s>hello');
  const file = join(dir, 'override.jinja');
  writeFileSync(file, 'FILE {% if add_generation_prompt %}GEN{% endif %}');
  assert.equal(loadChatTemplate(dir, file).render(hello, { addGenerationPrompt: true }), 'FILE GEN');
  assert.equal(loadChatTemplate(dir, 'INLINE {{ messages | length }}').render(hello), 'INLINE 1');
});

test('a --chat-template that is neither a file nor template text is a clear error', () => {
  const dir = modelDir({ 'tokenizer_config.json': {} });
  assert.throws(() => loadChatTemplate(dir, './missing.jinja'), /--chat-template "\.\/missing\.jinja": no such file/);
});

test('a model without a chat template is a clear error', () => {
  const dir = modelDir({ 'tokenizer_config.json': { eos_token: '</s>' } });
  assert.throws(() => loadChatTemplate(dir), /has no chat template .*--chat-template/);
});

test('named templates: "tool_use" when tools are given, else "default"', () => {
  const dir = modelDir({
    'tokenizer_config.json': { chat_template: [{ name: 'default', template: 'D' }, { name: 'tool_use', template: 'T{{ tools | length }}' }] },
  });
  const t = loadChatTemplate(dir);
  assert.equal(t.render(hello), 'D');
  assert.equal(t.render(hello, { tools: [{ type: 'function', function: { name: 'f' } }] }), 'T1');
  const noDefault = modelDir({ 'tokenizer_config.json': { chat_template: [{ name: 'rag', template: 'R' }] } });
  assert.throws(() => loadChatTemplate(noDefault).render(hello), /no "default" chat template \(it has: rag\)/);
});

test('message normalization: text parts joined, other parts rejected, tool-call arguments parsed', () => {
  const dir = modelDir({ 'chat_template.jinja':
    '{% for m in messages %}[{{ m.content }}]{% for c in m.tool_calls or [] %}{{ c.function.arguments.city }}{% endfor %}{% endfor %}' });
  const t = loadChatTemplate(dir);
  assert.equal(t.render([{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }]), '[a\nb]');
  assert.throws(() => t.render([{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }]),
    /content part type "image_url" is not supported/);
  const call = (args: string) => [{ role: 'assistant', content: null,
    tool_calls: [{ id: '1', type: 'function' as const, function: { name: 'w', arguments: args } }] }];
  assert.equal(t.render(call('{"city": "Paris"}')), '[]Paris');
  assert.throws(() => t.render(call('{oops')), /messages\[0\]\.tool_calls\[0\]\.function\.arguments is not valid JSON/);
});

test('continue_final_message cuts after the final message; with add_generation_prompt it is an error', () => {
  const dir = modelDir({ 'chat_template.jinja': '{% for m in messages %}<{{ m.role }}>{{ m.content }}</end>{% endfor %}' });
  const t = loadChatTemplate(dir);
  const msgs = [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Hel' }];
  assert.equal(t.render(msgs, { continueFinalMessage: true }), '<user>hi</end><assistant>Hel');
  assert.throws(() => t.render(msgs, { continueFinalMessage: true, addGenerationPrompt: true }), /not compatible/);
  const rewriting = loadChatTemplate(modelDir({ 'chat_template.jinja': '{{ messages[-1].content | upper }}' }));
  assert.throws(() => rewriting.render(msgs, { continueFinalMessage: true }), /final message does not appear/);
});

test('template errors and reserved kwargs are reported', () => {
  const t = loadChatTemplate(modelDir({ 'chat_template.jinja': '{{ raise_exception("no system role") }}' }));
  assert.throws(() => t.render(hello), /chat template .* failed: .*no system role/);
  assert.throws(() => t.render(hello, { chatTemplateKwargs: { messages: [] } }), /may not set "messages"/);
  assert.throws(() => loadChatTemplate(modelDir({ 'chat_template.jinja': '{% if %}' })), /does not parse/);
  assert.throws(() => t.render([]), /messages must be a non-empty list/);
});

test('content format: "string" for templates that print content, "openai" parts for templates that loop over it', () => {
  const loops = "{% for m in messages %}{% for part in m['content'] %}<{{ part.type }}:{{ part.text }}>{% endfor %}{% endfor %}";
  const t = loadChatTemplate(modelDir({ 'chat_template.jinja': loops }));
  assert.equal(t.contentFormat(), 'openai');
  assert.equal(t.render([{ role: 'user', content: 'hi' }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }]),
    '<text:hi><text:a><text:b>');
  const aliased = '{% set rest = messages[1:] %}{% for m in rest %}{% for p in m.content | list %}{{ p.text }}{% endfor %}{% endfor %}';
  assert.equal(loadChatTemplate(modelDir({ 'chat_template.jinja': aliased })).contentFormat(), 'openai');
  const plain = loadChatTemplate(modelDir({ 'chat_template.jinja': '{% for m in messages %}{{ m.content }}{% endfor %}' }));
  assert.equal(plain.contentFormat(), 'string');
  const forced = loadChatTemplate(modelDir({ 'chat_template.jinja': loops }), undefined, { contentFormat: 'string' });
  assert.equal(forced.contentFormat(), 'string');
  // continue_final_message continues the last text part
  assert.equal(t.render([{ role: 'assistant', content: 'Hel' }], { continueFinalMessage: true }), '<text:Hel');
});
