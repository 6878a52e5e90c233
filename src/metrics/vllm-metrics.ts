// Prometheus metrics under vLLM's names and labels, so existing vLLM dashboards work: gauges and counters read
// from engine.stats() at scrape time, histograms fed by each finished request.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FinishedRequestStats, ServingEngine } from '../engine/serving-engine.js';

// vLLM's bucket boundaries (vllm/v1/metrics/loggers.py)
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
const ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
const LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];
const TOKEN_COUNT_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];

/** vLLM's finished_reason label values */
const FINISH_REASONS = ['stop', 'length', 'abort', 'error'];

export interface VllmMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  render(): Promise<string>;
  /** exposed for tests and for engines that report finished requests another way */
  observeFinished(s: FinishedRequestStats): void;
}

export function createVllmMetrics(engine: ServingEngine, modelName: string): VllmMetrics {
  const registry = new Registry();
  const labels = { model_name: modelName, engine: '0' };
  const labelNames = ['model_name', 'engine'] as const;
  const statGauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.set(labels, read());
      },
    });
  };
  // counters mirror the engine's running totals (prom-client counters only go up, so reset + inc to the total)
  const statCounter = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(labels, read());
      },
    });
  };
  statGauge('vllm:num_requests_running', 'Number of requests in model execution batches.', () => engine.stats().numRunning);
  statGauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', () => engine.stats().numWaiting);
  statGauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', () => engine.stats().kvCacheUsage);
  statCounter('vllm:prompt_tokens_total', 'Number of prefill tokens processed.', () => engine.stats().promptTokensTotal);
  statCounter('vllm:generation_tokens_total', 'Number of generation tokens processed.', () => engine.stats().generationTokensTotal);
  statCounter('vllm:prefix_cache_queries_total', 'Prefix cache queries, in terms of number of queried tokens.', () => engine.stats().prefixCacheQueries);
  statCounter('vllm:prefix_cache_hits_total', 'Prefix cache hits, in terms of number of cached tokens.', () => engine.stats().prefixCacheHits);
  // names older vLLM releases used; dashboards built on them keep working
  statGauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage (deprecated name of vllm:kv_cache_usage_perc).', () => engine.stats().kvCacheUsage);
  statCounter('vllm:gpu_prefix_cache_queries_total', 'Prefix cache queries (deprecated name of vllm:prefix_cache_queries).', () => engine.stats().prefixCacheQueries);
  statCounter('vllm:gpu_prefix_cache_hits_total', 'Prefix cache hits (deprecated name of vllm:prefix_cache_hits).', () => engine.stats().prefixCacheHits);
  statCounter('vllm:num_preemptions_total', 'Cumulative number of preemption from the engine.', () => engine.stats().numPreemptions);

  const success = new Counter({
    name: 'vllm:request_success_total',
    help: 'Count of successfully processed requests.',
    labelNames: [...labelNames, 'finished_reason'],
    registers: [registry],
  });
  for (const r of FINISH_REASONS) success.inc({ ...labels, finished_reason: r }, 0);
  const hist = (name: string, help: string, buckets: number[]) =>
    new Histogram({ name, help, buckets, labelNames, registers: [registry] });
  const ttft = hist('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT_BUCKETS);
  const itl = hist('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', ITL_BUCKETS);
  const tpot = hist('vllm:time_per_output_token_seconds', 'Histogram of time per output token in seconds.', ITL_BUCKETS);
  const e2e = hist('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', LATENCY_BUCKETS);
  const queue = hist('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', LATENCY_BUCKETS);
  const promptTokens = hist('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', TOKEN_COUNT_BUCKETS);
  const genTokens = hist('vllm:request_generation_tokens', 'Number of generation tokens processed.', TOKEN_COUNT_BUCKETS);

  const observeFinished = (s: FinishedRequestStats): void => {
    success.inc({ ...labels, finished_reason: s.finishReason });
    if (s.timeToFirstToken !== null) ttft.observe(labels, s.timeToFirstToken);
    for (const x of s.interTokenLatencies) {
      itl.observe(labels, x);
      tpot.observe(labels, x);
    }
    e2e.observe(labels, s.e2eLatency);
    queue.observe(labels, s.queueTime);
    promptTokens.observe(labels, s.promptTokens);
    genTokens.observe(labels, s.generationTokens);
  };
  engine.onRequestFinished(observeFinished);
  return { registry, contentType: registry.contentType, render: () => registry.metrics(), observeFinished };
}
