// `serve` builds the structured-output engine at start-up (load-engine.ts): a first guided request must not stall
// the running batch while the vocabulary and token trie are built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { AsyncEngine } from '../../src/engine/async-engine.js';
import { loadServerEngine } from '../../src/server/load-engine.js';
import type { ServeConfig } from '../../src/config/serve-config.js';
import type { GrammarProvider } from '../../src/engine/grammar.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { loadTokenVocab } from '../../src/structured/token-vocab.js';

const model = () => makeTestModel({ arch: 'qwen2', out: join(mkdtempSync(join(tmpdir(), 'serval-prep-')), 'model'), hidden: 16, heads: 2, kvHeads: 1, layers: 1, seed: 5 });

function capturingLogger(): { log: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as { level: number; msg: string }) });
  return { log, lines };
}

test('AsyncEngine.prepareStructuredOutput prepares the grammar provider once, before any constraint', async () => {
  const dir = model();
  const real = createGrammarProvider(loadTokenVocab(dir, { size: 151936 }));
  const calls: string[] = [];
  const grammar: GrammarProvider = {
    create: (c) => (calls.push('create'), real.create(c)),
    prepare: () => void calls.push('prepare'),
  };
  const engine = await AsyncEngine.create({ model: dir, device: 'ts', grammar, maxModelLen: 256, numKvBlocks: 64 });
  try {
    engine.prepareStructuredOutput();
    let last;
    for await (const out of engine.generate('hi', { maxTokens: 3, structured: { kind: 'choice', choices: ['yes', 'no'] } }, 'r1')) last = out;
    assert.ok(['yes', 'no'].includes(last!.outputs[0]!.text), last!.outputs[0]!.text);
    assert.deepEqual(calls, ['prepare', 'create']);
  } finally {
    await engine.shutdown();
  }
});

test('loadServerEngine builds the default structured-output engine at start-up and says so', async () => {
  const { log, lines } = capturingLogger();
  const config = { engineArgs: { model: model(), device: 'ts', maxModelLen: 256, numKvBlocks: 64, structuredOutputWorkers: 0 }, notes: [] } as unknown as ServeConfig;
  const engine = await loadServerEngine(config, log);
  try {
    const ready = lines.findIndex((l) => /^structured output by serval's engine: vocabulary and token trie built in [\d.]+s$/.test(l.msg));
    assert.ok(ready >= 0, JSON.stringify(lines.map((l) => l.msg)));
    // the engine factory's start-up facts reach the server's log (on CUDA: the memory split and the KV cache)
    assert.ok(lines.some((l) => l.msg === 'device ts'), JSON.stringify(lines.map((l) => l.msg)));
    let last;
    for await (const out of engine.generate('hi', { maxTokens: 4, structured: { kind: 'choice', choices: ['yes', 'no'] } }, 'r1')) last = out;
    assert.ok(['yes', 'no'].includes(last!.outputs[0]!.text));
  } finally {
    await engine.shutdown();
  }
});
