import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseDataSplitter } from '../../src/benchmarks/sse.js';
import { calculateMetrics } from '../../src/benchmarks/metrics.js';
import { centered, formatResultTable, metricFields } from '../../src/benchmarks/report.js';
import type { RequestFuncOutput } from '../../src/benchmarks/request-func.js';

test('SSE splitter reassembles messages split anywhere, skips comments, handles CRLF and a missing last blank line', () => {
  const enc = new TextEncoder();
  const s = new SseDataSplitter();
  const text = ': ping\n\ndata: {"a":1}\r\n\r\ndata: {"b":"你好"}\n\ndata: [DONE]';
  const bytes = enc.encode(text);
  const got: string[] = [];
  for (let i = 0; i < bytes.length; i += 3) got.push(...s.push(bytes.slice(i, i + 3)));
  got.push(...s.finish());
  assert.deepEqual(got, ['{"a":1}', '{"b":"你好"}', '[DONE]']);
});

const out = (o: Partial<RequestFuncOutput>): RequestFuncOutput => ({
  success: true, generatedText: '', ttft: 0, itl: [], latency: 0, outputTokens: 0, promptLen: 0, error: '', startTime: 0, ...o,
});

test('metrics use vLLM definitions: TPOT = (E2EL - TTFT)/(out - 1), failures count 0 tokens', () => {
  const outputs = [
    out({ ttft: 0.1, itl: [0.05, 0.05, 0.1], latency: 0.3, outputTokens: 4, promptLen: 10, startTime: 100 }),
    out({ ttft: 0.2, itl: [], latency: 0.2, outputTokens: 1, promptLen: 20, startTime: 100.2 }),
    out({ success: false, error: 'boom', promptLen: 30 }),
    // no usage: the generated text is counted with the tokenizer
    out({ ttft: 0.3, itl: [0.1], latency: 0.4, outputTokens: 0, generatedText: 'a b', promptLen: 5, startTime: 101 }),
  ];
  const m = calculateMetrics(outputs, 2, [50, 99], (t) => t.split(' ').length);
  assert.equal(m.completed, 3);
  assert.equal(m.failed, 1);
  assert.equal(m.totalInput, 35);
  assert.equal(m.totalOutput, 4 + 1 + 2);
  assert.deepEqual(m.actualOutputLens, [4, 1, 0, 2]);
  assert.equal(m.requestThroughput, 1.5);
  assert.equal(m.outputThroughput, 3.5);
  assert.equal(m.totalTokenThroughput, 21);
  // TPOT only for requests with more than one token: (0.3-0.1)/3 and (0.4-0.3)/1
  assert.ok(Math.abs(m.summaries.tpot.mean - ((0.2 / 3 + 0.1) / 2) * 1000) < 1e-9);
  assert.ok(Math.abs(m.summaries.ttft.mean - 200) < 1e-9);
  assert.ok(Math.abs(m.summaries.itl.median - 75) < 1e-9);
  assert.ok(Math.abs(m.summaries.e2el.mean - 300) < 1e-9);
  assert.equal(m.summaries.ttft.percentiles.length, 2);
  assert.equal(m.maxConcurrentRequests, 2);
  assert.ok(m.maxOutputTokensPerS >= 4);
  const f = metricFields(m, ['ttft', 'itl']);
  assert.deepEqual(Object.keys(f).sort(), ['mean_itl_ms', 'mean_ttft_ms', 'median_itl_ms', 'median_ttft_ms', 'p50_itl_ms', 'p50_ttft_ms', 'p99_itl_ms', 'p99_ttft_ms', 'std_itl_ms', 'std_ttft_ms']);
});

test('goodput counts requests meeting every SLO (single-token requests have TPOT 0)', () => {
  const outputs = [
    out({ ttft: 0.1, itl: [0.1], latency: 0.2, outputTokens: 2 }), // tpot 100 ms
    out({ ttft: 0.6, itl: [0.1], latency: 0.7, outputTokens: 2 }), // ttft too slow
    out({ ttft: 0.1, itl: [0.3], latency: 0.4, outputTokens: 2 }), // tpot 300 ms too slow
    out({ ttft: 0.2, latency: 0.2, outputTokens: 1 }),
    out({ success: false }),
  ];
  const m = calculateMetrics(outputs, 2, [99], null, { ttft: 500, tpot: 150 });
  assert.equal(m.requestGoodput, 1);
  assert.equal(calculateMetrics(outputs, 2, [99], null).requestGoodput, null);
  const table = formatResultTable(m, { maxConcurrency: null, requestRate: 2, durationS: 2, percentileMetrics: [] });
  assert.ok(table.split('\n').includes('Request goodput (req/s):                 1.00      '));
});

test('result table has vLLM layout', () => {
  assert.equal(centered(' Serving Benchmark Result ', 50, '='), '============ Serving Benchmark Result ============');
  const m = calculateMetrics([out({ ttft: 0.1, itl: [0.1], latency: 0.2, outputTokens: 2, promptLen: 3 })], 1, [99], null);
  const table = formatResultTable(m, { maxConcurrency: 4, requestRate: Infinity, durationS: 1, percentileMetrics: ['ttft', 'tpot', 'itl'] });
  const lines = table.split('\n');
  assert.equal(lines[0], '============ Serving Benchmark Result ============');
  assert.equal(lines[1], 'Successful requests:                     1         ');
  assert.ok(lines.includes('Maximum request concurrency:             4         '));
  assert.ok(!table.includes('Request rate configured'));
  assert.ok(lines.includes('---------------Time to First Token----------------'));
  assert.ok(lines.includes('Mean TTFT (ms):                          100.00    '));
  assert.ok(lines.includes('P99 ITL (ms):                            100.00    '));
  assert.ok(!table.includes('E2EL'));
  assert.equal(lines.at(-1), '='.repeat(50));
});
