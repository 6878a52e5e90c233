// `serval bench throughput` end to end with a tiny make-test-model model on the ts backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel } from '../../src/models/make-test-model.js';

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('bench throughput: every request at once, exact token counts, JSON saved', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serval-bench-tp-'));
  const model = makeTestModel({ arch: 'qwen3', out: join(dir, 'model'), hidden: 32, layers: 1, seed: 9 });
  const outJson = join(dir, 'tp.json');
  const r = await runCli(['bench', 'throughput', '--model', model, '--device', 'ts', '--num-prompts', '5', '--random-input-len', '20',
    '--random-output-len', '3', '--random-prefix-len', '4', '--output-json', outJson, '--disable-progress']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Throughput: [\d.]+ requests\/s, [\d.]+ total tokens\/s, [\d.]+ output tokens\/s$/m);
  assert.match(r.stdout, /Total num prompt tokens: +120/);
  assert.match(r.stdout, /Total num output tokens: +15/);
  const saved = JSON.parse(readFileSync(outJson, 'utf8')) as Record<string, number | string>;
  assert.equal(saved.num_requests, 5);
  assert.equal(saved.total_num_tokens, 135);
  assert.ok((saved.requests_per_second as number) > 0);
  assert.ok(Math.abs((saved.output_tokens_per_second as number) - 15 / (saved.elapsed_time as number)) < 1e-9);
  assert.equal(saved.model, model);
});

test('bench throughput with a schema: the grammar masks\' counters are in the saved JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serval-bench-tp-guided-'));
  const model = makeTestModel({ arch: 'qwen3', out: join(dir, 'model'), hidden: 32, layers: 1, seed: 9 });
  const schema = join(dir, 'schema.json');
  writeFileSync(schema, JSON.stringify({ type: 'object', properties: { cpe: { type: 'array', items: { type: 'string' } } }, required: ['cpe'] }));
  const outJson = join(dir, 'tp.json');
  const r = await runCli(['bench', 'throughput', '--model', model, '--device', 'ts', '--num-prompts', '3', '--random-input-len', '8',
    '--random-output-len', '3', '--guided-json', schema, '--output-json', outJson, '--disable-progress', '--structured-output-workers', '0']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /structured output by serval's engine: vocabulary and token trie built in/);
  const saved = JSON.parse(readFileSync(outJson, 'utf8')) as { structured_output: boolean; mask_stats: { steps: number; rowsDeferred: number } };
  assert.equal(saved.structured_output, true);
  assert.ok(saved.mask_stats.steps >= 3, JSON.stringify(saved.mask_stats));
  assert.equal(saved.mask_stats.rowsDeferred, 0, 'no mask workers: nothing is deferred');
});

test('bench throughput with a model that cannot load: one clear line, exit code 1, no stack trace', async () => {
  const r = await runCli(['bench', 'throughput', '--model', '/nonexistent/serval-model', '--device', 'ts', '--num-prompts', '1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot start: model folder \/nonexistent\/serval-model does not exist/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});
