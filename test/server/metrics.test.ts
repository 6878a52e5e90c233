import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeServer } from './helpers.js';
import { statsLine } from '../../src/metrics/stats-logger.js';

test('/metrics exposes vLLM\'s names and labels, fed by engine stats and finished requests', async () => {
  const { app } = await fakeServer();
  await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'abc' } });
  await app.inject({ method: 'POST', url: '/v1/completions', payload: { prompt: 'abcdef', max_tokens: 2 } });
  const r = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(r.statusCode, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain/);
  const text = r.body;
  const labels = 'model_name="fake-model",engine="0"';
  for (const line of [
    `vllm:num_requests_running{${labels}} 0`,
    `vllm:num_requests_waiting{${labels}} 0`,
    `vllm:kv_cache_usage_perc{${labels}} 0`,
    `vllm:prompt_tokens_total{${labels}} 9`,
    `vllm:generation_tokens_total{${labels}} 13`,
    `vllm:prefix_cache_queries_total{${labels}} 9`,
    `vllm:prefix_cache_hits_total{${labels}} 0`,
    `vllm:num_preemptions_total{${labels}} 0`,
    `vllm:request_success_total{${labels},finished_reason="stop"} 1`,
    `vllm:request_success_total{${labels},finished_reason="length"} 1`,
    `vllm:time_to_first_token_seconds_count{${labels}} 2`,
    `vllm:inter_token_latency_seconds_count{${labels}} 2`,
    `vllm:e2e_request_latency_seconds_count{${labels}} 2`,
    `vllm:request_queue_time_seconds_count{${labels}} 2`,
    `vllm:request_prompt_tokens_sum{${labels}} 9`,
    `vllm:gpu_cache_usage_perc{${labels}} 0`,
    `vllm:gpu_prefix_cache_queries_total{${labels}} 9`,
  ]) {
    assert.ok(text.includes(`${line}\n`), `missing: ${line}`);
  }
  assert.match(text, /# TYPE vllm:time_to_first_token_seconds histogram/);
  assert.match(text, /# TYPE vllm:prompt_tokens_total counter/);
  await app.close();
});

test('stats line: throughput, running/waiting, KV usage, prefix hit rate', () => {
  const zero = { numRunning: 0, numWaiting: 0, kvCacheUsage: 0, prefixCacheQueries: 0, prefixCacheHits: 0, numPreemptions: 0, promptTokensTotal: 0, generationTokensTotal: 0 };
  const cur = { ...zero, numRunning: 2, numWaiting: 1, kvCacheUsage: 0.375, prefixCacheQueries: 100, prefixCacheHits: 25, promptTokensTotal: 500, generationTokensTotal: 120 };
  const l = statsLine(zero, cur, 10);
  assert.equal(
    l.message,
    'Avg prompt throughput: 50.0 tokens/s, Avg generation throughput: 12.0 tokens/s, Running: 2 reqs, Waiting: 1 reqs, KV cache usage: 37.5%, Prefix cache hit rate: 25.0%',
  );
  assert.equal(l.idle, false);
  assert.equal(statsLine(cur, { ...cur, numRunning: 0, numWaiting: 0 }, 10).idle, true);
});
