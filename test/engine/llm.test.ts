import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { LLM, AsyncEngine } from '../../src/index.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'serval-llm-'));
  makeTestModel({ arch: 'qwen2', out: join(dir, 'm'), vocabSize: 151936, hidden: 16, heads: 2, kvHeads: 1, layers: 1, seed: 9 });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('LLM.generate returns outputs in input order, equal to single-prompt runs', async () => {
  const llm = new LLM({ model: join(dir, 'm'), device: 'ts', numKvBlocks: 256, maxModelLen: 256 });
  const prompts = ['Hello', 'The capital of France is', 'a b c', { promptTokenIds: [1, 2, 3] }];
  const params = { temperature: 0, maxTokens: 4, ignoreEos: true };
  const outs = await llm.generate(prompts, params);
  assert.equal(outs.length, 4);
  assert.equal(outs[0].prompt, 'Hello');
  assert.equal(outs[1].prompt, 'The capital of France is');
  assert.deepEqual(outs[3].promptTokenIds, [1, 2, 3]);
  for (let i = 0; i < prompts.length; i++) {
    const [alone] = await llm.generate(prompts[i], params);
    assert.deepEqual(alone.outputs[0].tokenIds, outs[i].outputs[0].tokenIds);
    assert.equal(outs[i].outputs[0].tokenIds.length, 4);
    assert.equal(typeof outs[i].outputs[0].text, 'string');
  }
  await assert.rejects(llm.generate(['x', 'y'], [params]), /one per prompt/);
  await llm.shutdown();
});

test('LLM.chat renders the template (one conversation or several) without adding special tokens', async () => {
  const tpl = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
  const llm = await LLM.create({ model: join(dir, 'm'), device: 'ts', numKvBlocks: 256, maxModelLen: 256, chatTemplate: tpl });
  const engine = await llm.engine;
  const [one] = await llm.chat([{ role: 'user', content: 'Hi' }], { temperature: 0, maxTokens: 2 });
  assert.equal(one.prompt, '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
  assert.deepEqual(one.promptTokenIds, engine.tokenizer!.encode(one.prompt!, { addSpecialTokens: false }));
  const two = await llm.chat([[{ role: 'user', content: 'A' }], [{ role: 'user', content: 'B' }]], { temperature: 0, maxTokens: 2 });
  assert.equal(two.length, 2);
  assert.match(two[1].prompt!, /user\nB/);
  await llm.shutdown();
});

test('load errors surface from ready and from every call', async () => {
  const llm = new LLM({ model: join(dir, 'does-not-exist') });
  await assert.rejects(llm.ready);
  await assert.rejects(llm.generate('x'));
  assert.equal(typeof AsyncEngine.create, 'function');
});
