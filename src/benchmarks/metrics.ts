// vLLM's calculate_metrics: per-request TTFT/TPOT/ITL/E2EL summarised as mean/median/std and chosen percentiles
// (milliseconds), request/output/total token throughput over the benchmark duration, peak output tok/s (1 s buckets)
// and peak concurrent requests. Failed requests count 0 output tokens and contribute no latency samples.
import type { RequestFuncOutput } from './request-func.js';
import { mean, median, percentile, std } from './stats.js';

export const METRIC_NAMES = ['ttft', 'tpot', 'itl', 'e2el'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface MetricSummary {
  mean: number;
  median: number;
  std: number;
  /** [percentile, value] pairs, milliseconds */
  percentiles: Array<[number, number]>;
}

export interface BenchmarkMetrics {
  completed: number;
  failed: number;
  totalInput: number;
  totalOutput: number;
  requestThroughput: number;
  /** requests/s that met every --goodput SLO; null without --goodput */
  requestGoodput: number | null;
  outputThroughput: number;
  totalTokenThroughput: number;
  maxOutputTokensPerS: number;
  maxConcurrentRequests: number;
  /** per metric, milliseconds */
  summaries: Record<MetricName, MetricSummary>;
  /** output tokens per request in input order (0 for failures) */
  actualOutputLens: number[];
}

/** counts output tokens of a text when the server sent no usage (vLLM tokenizes the generated text) */
export type OutputTokenCounter = (text: string) => number;

/** --goodput service-level objectives in milliseconds (vLLM: ttft, tpot, e2el) */
export type GoodputSlos = Partial<Record<'ttft' | 'tpot' | 'e2el', number>>;

export function calculateMetrics(
  outputs: readonly RequestFuncOutput[],
  durationS: number,
  selectedPercentiles: readonly number[],
  countTokens: OutputTokenCounter | null,
  goodput: GoodputSlos | null = null,
): BenchmarkMetrics {
  const actualOutputLens: number[] = [];
  let totalInput = 0;
  let completed = 0;
  const ttfts: number[] = [];
  const tpots: number[] = [];
  const itls: number[] = [];
  const e2els: number[] = [];
  let good = 0;
  for (const o of outputs) {
    if (!o.success) {
      actualOutputLens.push(0);
      continue;
    }
    let outputLen = o.outputTokens;
    if (!outputLen) outputLen = countTokens ? countTokens(o.generatedText) : 1;
    actualOutputLens.push(outputLen);
    totalInput += o.promptLen;
    // a single-token request counts TPOT 0 towards goodput, as in vLLM
    const tpot = outputLen > 1 ? (o.latency - o.ttft) / (outputLen - 1) : 0;
    if (outputLen > 1) tpots.push(tpot);
    if (goodput && meetsSlos(goodput, { ttft: o.ttft, tpot, e2el: o.latency })) good++;
    itls.push(...o.itl);
    ttfts.push(o.ttft);
    e2els.push(o.latency);
    completed++;
  }
  const totalOutput = actualOutputLens.reduce((a, b) => a + b, 0);
  const summarize = (xs: number[]): MetricSummary => ({
    mean: mean(xs) * 1000,
    median: median(xs) * 1000,
    std: std(xs) * 1000,
    percentiles: selectedPercentiles.map((p) => [p, percentile(xs, p) * 1000]),
  });
  const peaks = peakStats(outputs.filter((o) => o.success));
  return {
    completed,
    failed: outputs.length - completed,
    totalInput,
    totalOutput,
    requestThroughput: completed / durationS,
    requestGoodput: goodput ? good / durationS : null,
    outputThroughput: totalOutput / durationS,
    totalTokenThroughput: (totalInput + totalOutput) / durationS,
    maxOutputTokensPerS: peaks.maxOutputTokensPerS,
    maxConcurrentRequests: peaks.maxConcurrentRequests,
    summaries: { ttft: summarize(ttfts), tpot: summarize(tpots), itl: summarize(itls), e2el: summarize(e2els) },
    actualOutputLens,
  };
}

function meetsSlos(slos: GoodputSlos, seconds: Record<'ttft' | 'tpot' | 'e2el', number>): boolean {
  return (Object.keys(slos) as Array<keyof GoodputSlos>).every((k) => seconds[k] <= slos[k]! / 1000);
}

/** chunk arrivals bucketed per second from the first send; concurrency by a sweep over [start, end) intervals */
function peakStats(ok: readonly RequestFuncOutput[]): { maxOutputTokensPerS: number; maxConcurrentRequests: number } {
  if (ok.length === 0) return { maxOutputTokensPerS: 0, maxConcurrentRequests: 0 };
  const minStart = Math.min(...ok.map((o) => o.startTime));
  const maxEnd = Math.max(...ok.map((o) => o.startTime + o.latency));
  const buckets = new Array<number>(Math.ceil(maxEnd - minStart) + 1).fill(0);
  for (const o of ok) {
    let t = o.startTime + o.ttft;
    const times = [t];
    for (const gap of o.itl) times.push((t += gap));
    for (const time of times) {
      const b = Math.floor(time - minStart);
      if (b >= 0 && b < buckets.length) buckets[b]!++;
    }
  }
  const events: Array<[number, number]> = [];
  for (const o of ok) events.push([o.startTime, 1], [o.startTime + o.latency, -1]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let peak = 0;
  for (const [, delta] of events) {
    current += delta;
    if (current > peak) peak = current;
  }
  return { maxOutputTokensPerS: Math.max(...buckets), maxConcurrentRequests: peak };
}
