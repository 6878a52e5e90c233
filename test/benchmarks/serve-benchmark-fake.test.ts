// bench serve against a fake OpenAI-compatible server: request format, counting and metrics wiring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runServeBenchmark, type ServeBenchmarkOptions } from '../../src/benchmarks/serve-benchmark.js';
import { CPE_SCHEMA } from '../../src/benchmarks/datasets/cpe-dataset.js';
import { startFakeOpenAIServer } from './fake-openai-server.js';

const defaults = (baseUrl: string): ServeBenchmarkOptions => ({
  baseUrl, endpoint: '/v1/completions', dataset: 'random', numPrompts: 8, randomInputLen: 16, randomOutputLen: 5, randomPrefixLen: 0,
  randomRangeRatio: 0, outputLen: 6, requestRate: Infinity, burstiness: 1, maxConcurrency: null, ignoreEos: false,
  structuredOutputField: 'response_format', seed: 0, percentileMetrics: ['ttft', 'tpot', 'itl'], metricPercentiles: [99], progress: false,
});

test('completions: counts, metrics and request bodies; --max-concurrency is respected; result saved', async () => {
  const server = await startFakeOpenAIServer();
  try {
    const save = join(mkdtempSync(join(tmpdir(), 'serval-bench-')), 'r.json');
    const lines: string[] = [];
    const r = await runServeBenchmark({ ...defaults(server.baseUrl), maxConcurrency: 3, ignoreEos: true, saveResult: save }, (l) => lines.push(l));
    assert.equal(r.completed, 8);
    assert.equal(r.failed, 0);
    assert.equal(r.model_id, 'fake-model', 'model taken from /v1/models');
    assert.equal(r.total_output_tokens, 40);
    assert.deepEqual(r.output_lens, new Array(8).fill(5));
    assert.equal(r.total_input_tokens, 88, 'prompt tokens come from the usage chunk');
    for (const itl of r.itls as number[][]) assert.equal(itl.length, 4);
    for (const t of r.ttfts as number[]) assert.ok(t > 0);
    for (const k of ['mean_ttft_ms', 'median_ttft_ms', 'p99_ttft_ms', 'mean_tpot_ms', 'p99_itl_ms', 'request_throughput', 'output_throughput', 'total_token_throughput']) {
      assert.equal(typeof r[k], 'number', k);
      assert.ok((r[k] as number) > 0, k);
    }
    assert.equal(r.mean_e2el_ms, undefined, 'e2el not selected');
    assert.equal(server.bodies.length, 9, 'one test request + 8');
    for (const b of server.bodies) {
      assert.equal(b.stream, true);
      assert.deepEqual(b.stream_options, { include_usage: true });
      assert.equal(b.ignore_eos, true);
      assert.equal(b.max_tokens, 5);
      assert.equal(b.model, 'fake-model');
      assert.equal(typeof b.prompt, 'string');
    }
    assert.ok(server.maxInFlight <= 3, `in flight ${server.maxInFlight}`);
    assert.deepEqual(JSON.parse(readFileSync(save, 'utf8')), JSON.parse(JSON.stringify(r)));
    const table = lines.join('\n');
    assert.match(table, /Successful requests: +8/);
    assert.match(table, /Maximum request concurrency: +3/);
    assert.match(table, /Total generated tokens: +40/);
  } finally {
    await server.close();
  }
});

test('chat + cpe at a finite rate: messages, max_completion_tokens, json_schema response_format; no usage -> tokenizer counts', async () => {
  const server = await startFakeOpenAIServer({ noUsage: true });
  try {
    const r = await runServeBenchmark(
      { ...defaults(server.baseUrl), endpoint: '/v1/chat/completions', dataset: 'cpe', numPrompts: 6, requestRate: 40, model: 'm1', percentileMetrics: ['ttft', 'e2el'], metricPercentiles: [50, 90] },
      () => {},
    );
    assert.equal(r.completed, 6);
    assert.equal(r.request_rate, 40);
    assert.equal(typeof r.p90_e2el_ms, 'number');
    assert.equal(typeof r.p50_ttft_ms, 'number');
    for (const len of r.output_lens as number[]) assert.ok(len >= 6, `tokenizer count ${len}`);
    for (const b of server.bodies) {
      assert.equal(b.model, 'm1');
      assert.equal(b.max_completion_tokens, 6);
      const msgs = b.messages as Array<{ role: string; content: string }>;
      assert.equal(msgs[0]!.role, 'user');
      assert.match(msgs[0]!.content, /CPE 2\.3/);
      assert.deepEqual(b.response_format, { type: 'json_schema', json_schema: { name: 'benchmark_schema', schema: CPE_SCHEMA } });
    }
  } finally {
    await server.close();
  }
});

test('a server that fails the test request stops the benchmark with its error', async () => {
  const server = await startFakeOpenAIServer({ failStatus: 500 });
  try {
    await assert.rejects(runServeBenchmark(defaults(server.baseUrl), () => {}), /Initial test run failed.*HTTP 500/s);
  } finally {
    await server.close();
  }
});
