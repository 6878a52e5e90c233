// `bench serve` against a running `serval serve` on 127.0.0.1 (tiny make-test-model model, ts backend): the
// metrics are present and the token counts match what was asked for (ignore_eos) and what the server reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { runServeBenchmark, type ServeBenchmarkOptions } from '../../src/benchmarks/serve-benchmark.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitReady(base: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`serval serve exited (${child.exitCode}):\n${log()}`);
    try {
      if ((await fetch(`${base}/v1/models`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`serval serve did not come up:\n${log()}`);
}

test('bench serve against serval serve: counts and metrics', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'serval-bench-serve-'));
  const model = makeTestModel({ arch: 'qwen3', out: join(dir, 'model'), hidden: 32, layers: 1, seed: 5 });
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', model, '--device', 'ts', '--host', '127.0.0.1', '--port', String(port), '--disable-log-stats', '--disable-uvicorn-access-log'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(base, child, () => log);
    const opts: ServeBenchmarkOptions = {
      baseUrl: base, endpoint: '/v1/completions', dataset: 'random', numPrompts: 6, randomInputLen: 24, randomOutputLen: 5, randomPrefixLen: 8,
      randomRangeRatio: 0, outputLen: 5, requestRate: Infinity, burstiness: 1, maxConcurrency: 3, ignoreEos: true,
      structuredOutputField: 'response_format', seed: 0, percentileMetrics: ['ttft', 'tpot', 'itl', 'e2el'], metricPercentiles: [50, 99], progress: false,
    };
    const lines: string[] = [];
    const r = await runServeBenchmark(opts, (l) => lines.push(l));
    assert.equal(r.completed, 6, String(r.errors));
    assert.equal(r.failed, 0);
    assert.equal(r.model_id, model, 'served model found through /v1/models');
    assert.equal(r.tokenizer_id, model, 'the local model folder provides the tokenizer');
    assert.deepEqual(r.output_lens, new Array(6).fill(5), 'ignore_eos: every request yields max_tokens');
    assert.equal(r.total_output_tokens, 30);
    assert.deepEqual(r.input_lens, new Array(6).fill(32), 'prefix + input tokens, as the server counted them');
    assert.equal(r.total_input_tokens, 192);
    // at most one ITL per token after the first (a server may put several tokens in one chunk)
    const itls = r.itls as number[][];
    for (const itl of itls) assert.ok(itl.length <= 4, `chunks after the first: ${itl.length}`);
    assert.ok(itls.some((itl) => itl.length > 0), 'tokens were streamed in several chunks');
    for (const k of ['mean_ttft_ms', 'p99_ttft_ms', 'median_tpot_ms', 'p50_itl_ms', 'mean_e2el_ms', 'p99_e2el_ms', 'request_throughput', 'output_throughput', 'total_token_throughput']) {
      assert.equal(typeof r[k], 'number', k);
      assert.ok((r[k] as number) > 0, `${k} = ${String(r[k])}`);
    }
    assert.ok((r.mean_e2el_ms as number) >= (r.mean_ttft_ms as number));
    assert.ok((r.max_concurrent_requests as number) <= 3);
    assert.match(lines.join('\n'), /Successful requests: +6/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});
