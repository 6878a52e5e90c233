// The periodic stats line vLLM prints (throughput, running/waiting, KV usage, prefix-cache hit rate), every
// interval while there is activity, and once more when things go idle.
import type { ServingEngine, EngineStats } from '../engine/serving-engine.js';

export interface StatsLine {
  message: string;
  idle: boolean;
}

export function statsLine(prev: EngineStats, cur: EngineStats, seconds: number): StatsLine {
  const promptTput = (cur.promptTokensTotal - prev.promptTokensTotal) / seconds;
  const genTput = (cur.generationTokensTotal - prev.generationTokensTotal) / seconds;
  const queries = cur.prefixCacheQueries - prev.prefixCacheQueries;
  const hits = cur.prefixCacheHits - prev.prefixCacheHits;
  const hitRate = queries > 0 ? (100 * hits) / queries : 0;
  const message =
    `Avg prompt throughput: ${promptTput.toFixed(1)} tokens/s, Avg generation throughput: ${genTput.toFixed(1)} tokens/s, ` +
    `Running: ${cur.numRunning} reqs, Waiting: ${cur.numWaiting} reqs, KV cache usage: ${(100 * cur.kvCacheUsage).toFixed(1)}%, ` +
    `Prefix cache hit rate: ${hitRate.toFixed(1)}%`;
  return { message, idle: promptTput === 0 && genTput === 0 && cur.numRunning === 0 && cur.numWaiting === 0 };
}

/** Starts the timer (unref'd: it never keeps the process alive); returns a stop function. */
export function startStatsLogger(engine: ServingEngine, log: (msg: string) => void, intervalMs = 10_000): () => void {
  let prev = engine.stats();
  let prevTime = Date.now();
  let wasIdle = true;
  const timer = setInterval(() => {
    const cur = engine.stats();
    const now = Date.now();
    const line = statsLine(prev, cur, Math.max((now - prevTime) / 1000, 1e-3));
    if (!(line.idle && wasIdle)) log(line.message);
    wasIdle = line.idle;
    prev = cur;
    prevTime = now;
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
