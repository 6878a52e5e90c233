// The engine with the real structured-output provider: masks reach the sampler, accepted tokens reach the
// matcher, and the output obeys the constraint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { AsyncEngine } from '../../src/engine/async-engine.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { loadTokenVocab } from '../../src/structured/token-vocab.js';
import type { RequestOutput } from '../../src/engine/types.js';
import { lastOutput } from '../helpers/last-output.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'serval-structured-'));
  makeTestModel({ arch: 'qwen2', out: join(dir, 'm'), hidden: 16, heads: 2, kvHeads: 1, layers: 1, seed: 4 });
});
after(() => rmSync(dir, { recursive: true, force: true }));


test('choice and regex constraints hold on a random-weight model; unconstrained neighbours are unaffected', async () => {
  const e = await AsyncEngine.create({
    model: join(dir, 'm'),
    device: 'ts',
    numKvBlocks: 64,
    maxModelLen: 256,
    grammar: (ctx) => createGrammarProvider(loadTokenVocab(ctx.tokenizerDir, { size: ctx.vocabSize })),
  });
  const params = { temperature: 0, maxTokens: 20 };
  const [choice, regex, free] = await Promise.all([
    lastOutput(e.generate('Pick one:', { ...params, structured: { kind: 'choice', choices: ['alpha', 'beta', 'gamma'] } }, 'c')),
    lastOutput(e.generate('Digits:', { ...params, structured: { kind: 'regex', pattern: '[0-9]{3}' } }, 'r')),
    lastOutput(e.generate('Hello', { ...params, ignoreEos: true, maxTokens: 5 }, 'f')),
  ]);
  assert.ok(['alpha', 'beta', 'gamma'].includes(choice.outputs[0].text), `choice gave ${JSON.stringify(choice.outputs[0].text)}`);
  assert.equal(choice.outputs[0].finishReason, 'stop');
  assert.match(regex.outputs[0].text, /^[0-9]{3}$/);
  assert.equal(free.outputs[0].tokenIds.length, 5);
  await e.shutdown();
});

test('with ignore_eos a completed structure lets the sequence go on unconstrained (default provider, as vLLM)', async () => {
  // no `grammar` given: the engine brings serval's structured-output engine by default
  const e = await AsyncEngine.create({ model: join(dir, 'm'), device: 'ts', numKvBlocks: 64, maxModelLen: 256 });
  const out = await lastOutput(
    e.generate('Pick one:', { temperature: 0, maxTokens: 12, ignoreEos: true, structured: { kind: 'choice', choices: ['alpha', 'beta'] } }, 'ie'),
  );
  const o = out.outputs[0];
  assert.equal(o.finishReason, 'length', 'the request runs to max_tokens instead of failing once the grammar has ended');
  assert.equal(o.tokenIds.length, 12);
  assert.ok(o.text.startsWith('alpha') || o.text.startsWith('beta'), `the constrained part comes first: ${JSON.stringify(o.text)}`);
  await e.shutdown();
});
