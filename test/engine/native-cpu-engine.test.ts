// device 'cpu' (the native C++ backend, when its addon is built) behind the engine gives the ts backend's tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { AsyncEngine } from '../../src/engine/async-engine.js';
import { nativeAddonBuilt } from '../../src/native/addon.js';
import type { RequestOutput } from '../../src/engine/types.js';
import { lastOutput } from '../helpers/last-output.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'serval-cpu-engine-'));
  makeTestModel({ arch: 'llama', out: join(dir, 'm'), vocabSize: 1024, hidden: 32, heads: 2, kvHeads: 1, layers: 2, seed: 6 });
});
after(() => rmSync(dir, { recursive: true, force: true }));


test('device cpu: concurrent greedy requests match the ts backend', { skip: nativeAddonBuilt() ? false : 'native addon not built' }, async () => {
  const prompts = [[5, 6, 7, 8], [9, 10], [5, 6, 7, 8, 11, 12, 13, 14, 15]];
  const params = { temperature: 0, maxTokens: 8, ignoreEos: true };
  const tokens: Record<string, number[][]> = {};
  for (const device of ['cpu', 'ts'] as const) {
    const e = await AsyncEngine.create({ model: join(dir, 'm'), device, numKvBlocks: 64, blockSize: 4, maxModelLen: 128 });
    assert.equal(e.core.backend.info.kind, device === 'cpu' ? 'cpu' : 'ts');
    const outs = await Promise.all(prompts.map((p, i) => lastOutput(e.generate({ promptTokenIds: p }, params, `r${i}`))));
    tokens[device] = outs.map((o) => o.outputs[0].tokenIds);
    await e.shutdown();
  }
  assert.deepEqual(tokens.cpu, tokens.ts);
});

test('device cpu: structured requests (masks filled while the native forward runs) match the ts backend', { skip: nativeAddonBuilt() ? false : 'native addon not built' }, async () => {
  const { createGrammarProvider } = await import('../../src/structured/provider.js');
  const { loadTokenVocab } = await import('../../src/structured/token-vocab.js');
  const constraints = [
    { kind: 'regex' as const, pattern: '[a-z]{2,6}' },
    { kind: 'choice' as const, choices: ['first', 'second', 'third'] },
  ];
  // a full-vocabulary model: the grammars need its EOS to end
  makeTestModel({ arch: 'qwen2', out: join(dir, 'q'), hidden: 16, heads: 2, kvHeads: 1, layers: 1, seed: 4 });
  const texts: Record<string, string[]> = {};
  for (const device of ['cpu', 'ts'] as const) {
    const e = await AsyncEngine.create({
      model: join(dir, 'q'),
      device,
      numKvBlocks: 64,
      blockSize: 4,
      maxModelLen: 128,
      grammar: (ctx) => createGrammarProvider(loadTokenVocab(ctx.tokenizerDir, { size: ctx.vocabSize })),
    });
    const outs = await Promise.all(
      [0, 1, 2, 3].map((i) => lastOutput(e.generate({ promptTokenIds: [5 + i, 6, 7] }, { temperature: 0, maxTokens: 12, structured: constraints[i % 2] }, `s${i}`))),
    );
    texts[device] = outs.map((o) => o.outputs[0].text);
    await e.shutdown();
  }
  assert.deepEqual(texts.cpu, texts.ts);
  assert.match(texts.cpu[0]!, /^[a-z]{2,6}$/);
  assert.ok(['first', 'second', 'third'].includes(texts.cpu[1]!), texts.cpu[1]);
});
