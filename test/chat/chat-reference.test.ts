// Replays renders recorded from Python transformers 5.17 apply_chat_template (jinja2) by
// scripts/reference/chat_render.py on the GPU machine: serval's ChatTemplate must match byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadChatTemplate, type ChatTemplate } from '../../src/chat/chat-template.js';
import type { ChatMessage, ChatRenderOptions } from '../../src/chat/types.js';
import { QWEN3_TOKENIZER_DIR } from '../tokenizer/qwen3-tokenizer.js';

interface Case {
  name: string;
  messages: ChatMessage[];
  tools?: ChatRenderOptions['tools'];
  documents?: ChatRenderOptions['documents'];
  add_generation_prompt?: boolean;
  continue_final_message?: boolean;
  chat_template_kwargs?: Record<string, unknown>;
  templates?: string[];
}
const spec = JSON.parse(readFileSync('test/fixtures/chat/cases.json', 'utf8')) as {
  templates: Record<string, string>;
  cases: Case[];
};
const expected = JSON.parse(readFileSync('test/fixtures/chat/expected.json', 'utf8')) as {
  results: { case: string; template: string; text?: string; error?: string }[];
};

const templates = new Map<string, ChatTemplate>(
  Object.entries(spec.templates).map(([name, dir]) => [name, loadChatTemplate(name === 'qwen3' ? QWEN3_TOKENIZER_DIR : dir)]),
);

for (const family of Object.keys(spec.templates)) {
  test(`${family} template renders exactly as transformers`, () => {
    assert.equal(templates.get(family)!.contentFormat(), 'string', 'vLLM hands these templates string content');
    const results = expected.results.filter((r) => r.template === family);
    assert.ok(results.length >= 15);
    for (const r of results) {
      const c = spec.cases.find((x) => x.name === r.case)!;
      const render = () =>
        templates.get(family)!.render(c.messages, {
          tools: c.tools,
          documents: c.documents,
          addGenerationPrompt: c.add_generation_prompt,
          continueFinalMessage: c.continue_final_message,
          chatTemplateKwargs: c.chat_template_kwargs,
        });
      if (r.error !== undefined) {
        assert.throws(render, Error, `${r.case}: transformers raised ${r.error}`);
      } else {
        assert.equal(render(), r.text, `${family} / ${r.case}`);
      }
    }
  });
}

test('the recorded cases cover tools, tool calls, continue_final_message and multi-turn', () => {
  const names = new Set(expected.results.filter((r) => r.text !== undefined).map((r) => r.case));
  for (const n of ['tools_gen', 'tool_call_roundtrip', 'parallel_tool_calls', 'continue_final', 'multi_turn', 'system_user_gen']) {
    assert.ok(names.has(n), n);
  }
});
