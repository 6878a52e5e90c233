// The result table `bench serve` prints (same rows, labels and layout as vLLM's, so results can be compared side by
// side) and the metric fields of the saved JSON (vLLM's key names: mean_ttft_ms, p99_itl_ms, ...).
import type { BenchmarkMetrics, MetricName } from './metrics.js';

const HEADERS: Record<MetricName, [string, string]> = {
  ttft: ['TTFT', 'Time to First Token'],
  tpot: ['TPOT', 'Time per Output Token (excl. 1st token)'],
  itl: ['ITL', 'Inter-token Latency'],
  e2el: ['E2EL', 'End-to-end Latency'],
};

/** Python's '{s:{c}^{n}}': centred, the odd padding character on the right */
export function centered(text: string, width: number, fill: string): string {
  const pad = Math.max(0, width - text.length);
  const left = Math.floor(pad / 2);
  return fill.repeat(left) + text + fill.repeat(pad - left);
}

const row = (label: string, value: string): string => `${label.padEnd(40)} ${value.padEnd(10)}`;
const num = (label: string, value: number): string => row(label, value.toFixed(2));

/** vLLM writes percentiles as P99, P99.9 (integers without a decimal point) */
export function percentileWord(p: number): string {
  return String(p);
}

export interface TableContext {
  maxConcurrency: number | null;
  requestRate: number;
  durationS: number;
  percentileMetrics: readonly MetricName[];
}

export function formatResultTable(m: BenchmarkMetrics, ctx: TableContext): string {
  const lines = [centered(' Serving Benchmark Result ', 50, '=')];
  lines.push(row('Successful requests:', String(m.completed)));
  lines.push(row('Failed requests:', String(m.failed)));
  if (ctx.maxConcurrency !== null) lines.push(row('Maximum request concurrency:', String(ctx.maxConcurrency)));
  if (ctx.requestRate !== Infinity) lines.push(num('Request rate configured (RPS):', ctx.requestRate));
  lines.push(num('Benchmark duration (s):', ctx.durationS));
  lines.push(row('Total input tokens:', String(m.totalInput)));
  lines.push(row('Total generated tokens:', String(m.totalOutput)));
  lines.push(num('Request throughput (req/s):', m.requestThroughput));
  if (m.requestGoodput !== null) lines.push(num('Request goodput (req/s):', m.requestGoodput));
  lines.push(num('Output token throughput (tok/s):', m.outputThroughput));
  lines.push(num('Peak output token throughput (tok/s):', m.maxOutputTokensPerS));
  lines.push(num('Peak concurrent requests:', m.maxConcurrentRequests));
  lines.push(num('Total token throughput (tok/s):', m.totalTokenThroughput));
  for (const name of ['ttft', 'tpot', 'itl', 'e2el'] as const) {
    if (!ctx.percentileMetrics.includes(name)) continue;
    const [short, header] = HEADERS[name];
    const s = m.summaries[name];
    lines.push(centered(header, 50, '-'));
    lines.push(num(`Mean ${short} (ms):`, s.mean));
    lines.push(num(`Median ${short} (ms):`, s.median));
    for (const [p, v] of s.percentiles) lines.push(num(`P${percentileWord(p)} ${short} (ms):`, v));
  }
  lines.push('='.repeat(50));
  return lines.join('\n');
}

/** mean_/median_/std_/pNN_ keys of the selected metrics, as vLLM saves them */
export function metricFields(m: BenchmarkMetrics, percentileMetrics: readonly MetricName[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of percentileMetrics) {
    const s = m.summaries[name];
    out[`mean_${name}_ms`] = s.mean;
    out[`median_${name}_ms`] = s.median;
    out[`std_${name}_ms`] = s.std;
    for (const [p, v] of s.percentiles) out[`p${percentileWord(p)}_${name}_ms`] = v;
  }
  return out;
}
