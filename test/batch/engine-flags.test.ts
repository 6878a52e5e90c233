// run-batch and bench throughput offer serve's engine flags (same names, parsers, defaults) and no server flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { engineFlagOptions, resolveEngineFlags } from '../../src/batch/engine-flags.js';
import { registerRunBatch } from '../../src/cli/commands/run-batch.js';
import { registerBench } from '../../src/cli/commands/bench.js';

test('engine flags come from serve; server-only flags stay out', () => {
  const longs = engineFlagOptions().map((o) => o.long);
  for (const f of ['--model', '--max-num-seqs', '--max-model-len', '--device', '--num-kv-blocks', '--seed', '--structured-outputs-config', '--structured-output-mask-grace-ms']) assert.ok(longs.includes(f), f);
  for (const f of ['--port', '--host', '--api-key', '--allowed-origins']) assert.ok(!longs.includes(f), f);
  const program = new Command();
  registerRunBatch(program);
  registerBench(program);
  const runBatch = program.commands.find((c) => c.name() === 'run-batch')!;
  const throughput = program.commands.find((c) => c.name() === 'bench')!.commands.find((c) => c.name() === 'throughput')!;
  for (const cmd of [runBatch, throughput]) {
    const names = cmd.options.map((o) => o.long);
    assert.ok(names.includes('--max-num-batched-tokens'));
    assert.equal(names.filter((n) => n === '--seed').length, 1, 'one --seed (the engine\'s, also seeding the dataset)');
  }
});

test('parsed engine flags become serve\'s engine args; bad combinations are refused like serve does', () => {
  const c = resolveEngineFlags('/models/m', { maxNumSeqs: 8, maxModelLen: 4096, numKvBlocks: 64, structuredOutputsConfig: { disable_any_whitespace: true } });
  assert.equal(c.engineArgs.model, '/models/m');
  assert.equal(c.engineArgs.maxNumSeqs, 8);
  assert.equal(c.engineArgs.maxModelLen, 4096);
  assert.equal(c.engineArgs.numKvBlocks, 64);
  assert.equal(c.engineArgs.blockSize, 16, 'serve\'s default');
  assert.deepEqual(c.server.structuredDefaults, { disableAnyWhitespace: true });
  assert.deepEqual(c.server.servedModelNames, ['/models/m']);
  assert.throws(() => resolveEngineFlags('/m', { pipelineParallelSize: 2 }), /pipeline-parallel-size/);
});
