import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatThroughput, runThroughputBenchmark } from '../../src/benchmarks/throughput-benchmark.js';
import { CPE_SCHEMA } from '../../src/benchmarks/datasets/cpe-dataset.js';
import { FakeServerEngine } from '../batch/fake-server-engine.js';

test('throughput: all requests at once, tokens counted from engine outputs, vLLM sampling settings', async () => {
  const engine = new FakeServerEngine();
  const params: unknown[] = [];
  const generate = engine.generate.bind(engine);
  engine.generate = (prompt, p, id) => {
    params.push(p);
    return generate(prompt, p, id);
  };
  const samples = [
    { prompt: 'a b c', promptLen: 3, expectedOutputLen: 4 },
    { prompt: 'd e', promptLen: 2, expectedOutputLen: 2 },
    { prompt: 'f', promptLen: 1, expectedOutputLen: 6 },
  ];
  let finished = 0;
  const r = await runThroughputBenchmark(engine, samples, { schema: CPE_SCHEMA, ignoreEos: true, seed: 0 }, () => finished++);
  assert.equal(finished, 3);
  assert.equal(r.num_requests, 3);
  assert.equal(r.total_prompt_tokens, 6);
  assert.equal(r.total_output_tokens, 12);
  assert.equal(r.total_num_tokens, 18);
  assert.ok(r.elapsed_time > 0);
  assert.ok(Math.abs(r.requests_per_second - 3 / r.elapsed_time) < 1e-9);
  assert.ok(Math.abs(r.output_tokens_per_second - 12 / r.elapsed_time) < 1e-9);
  assert.equal(engine.seen.length, 3);
  for (const p of params) assert.deepEqual({ ...(p as object), seed: 0, maxTokens: 0 }, { n: 1, temperature: 1, topP: 1, ignoreEos: true, maxTokens: 0, seed: 0, structured: { kind: 'json', schema: CPE_SCHEMA } });
  assert.match(formatThroughput(r), /^Throughput: [\d.]+ requests\/s, [\d.]+ total tokens\/s, [\d.]+ output tokens\/s\nTotal num prompt tokens:  6\nTotal num output tokens:  12$/);
});
