// `serval bench serve` through the command line (flags, table on stdout, --save-result) against the fake server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeOpenAIServer } from './fake-openai-server.js';
import { runCli } from '../helpers/run-cli.js';

test('bench serve CLI: jsonl dataset, guided json, percentiles, saved result', async () => {
  const server = await startFakeOpenAIServer();
  const dir = mkdtempSync(join(tmpdir(), 'serval-bench-cli-'));
  writeFileSync(join(dir, 'p.jsonl'), ['{"prompt":"one","output_tokens":3}', '{"prompt":"two","output_tokens":4}', '{"prompt":"three"}'].join('\n'));
  writeFileSync(join(dir, 'schema.json'), JSON.stringify({ type: 'object', properties: { a: { type: 'string' } } }));
  const save = join(dir, 'result.json');
  try {
    const r = await runCli([
      'bench', 'serve', '--base-url', server.baseUrl, '--model', 'fake-model', '--dataset', join(dir, 'p.jsonl'), '--num-prompts', '3',
      '--output-len', '2', '--request-rate', '100', '--burstiness', '2', '--max-concurrency', '2', '--guided-json', join(dir, 'schema.json'),
      '--structured-output-field', 'guided_json', '--percentile-metrics', 'ttft,e2el', '--metric-percentiles', '50,99.9', '--goodput', 'ttft:60000', 'e2el:60000', '--save-result', save, '--disable-tqdm',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /============ Serving Benchmark Result ============/);
    assert.match(r.stdout, /Successful requests: +3/);
    assert.match(r.stdout, /Total generated tokens: +9/);
    assert.match(r.stdout, /Request rate configured \(RPS\): +100\.00/);
    assert.match(r.stdout, /P99\.9 E2EL \(ms\):/);
    assert.doesNotMatch(r.stdout, /TPOT/);
    const saved = JSON.parse(readFileSync(save, 'utf8')) as Record<string, unknown>;
    assert.equal(saved.completed, 3);
    assert.deepEqual(saved.output_lens, [3, 4, 2]);
    assert.equal(typeof saved['p99.9_e2el_ms'], 'number');
    assert.equal(saved.burstiness, 2);
    assert.ok(Math.abs((saved.request_goodput as number) - (saved.request_throughput as number)) < 1e-9, 'every request met the generous SLOs');
    for (const b of server.bodies) assert.deepEqual(b.guided_json, { type: 'object', properties: { a: { type: 'string' } } });
  } finally {
    await server.close();
  }
});

test('bench serve CLI: bad flag values are refused with a hint', async () => {
  const r = await runCli(['bench', 'serve', '--request-rate', 'fast']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Expected "inf" or a number > 0/);
  const r2 = await runCli(['bench', 'serve', '--percentile-metrics', 'ttft,foo']);
  assert.match(r2.stderr, /Unknown metric 'foo'/);
  const r3 = await runCli(['bench', 'serve', '--goodput', 'latency:5']);
  assert.match(r3.stderr, /KEY:VALUE/);
});
