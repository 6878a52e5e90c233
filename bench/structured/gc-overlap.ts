// V8's collections (PerformanceObserver 'gc' entries) matched to timed spans: how much of a slow span was a
// collection. Start watching before the spans, stop after them (the entries come on later ticks: stop waits for them).
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export interface Collections {
  /** stop watching; resolves once the last entries came */
  stop(): Promise<void>;
  /** collection time (ms) inside [start, end] (performance.now() times) */
  within(start: number, end: number): number;
  /** collections seen, by kind */
  counts(): Record<string, number>;
}

export function watchCollections(): Collections {
  const gcs: Array<{ start: number; end: number; kind: string }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as Array<PerformanceEntry & { detail?: { kind?: number } }>) {
      gcs.push({ start: e.startTime, end: e.startTime + e.duration, kind: KINDS[e.detail?.kind ?? -1] ?? 'other' });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 50));
      observer.disconnect();
      gcs.sort((a, b) => a.start - b.start);
    },
    within(start, end) {
      let ms = 0;
      for (const g of gcs) {
        if (g.end <= start) continue;
        if (g.start >= end) break;
        ms += Math.min(end, g.end) - Math.max(start, g.start);
      }
      return ms;
    },
    counts() {
      const c: Record<string, number> = {};
      for (const g of gcs) c[g.kind] = (c[g.kind] ?? 0) + 1;
      return c;
    },
  };
}

/**
 * of the spans over `thresholdUs`: how many a collection overlapped, and how many stay over it without the
 * collections' time; and the spans' percentiles without it
 */
export function collectionShare(spans: Array<{ start: number; us: number }>, gc: Collections, thresholdUs: number) {
  const net = spans.map((s) => ({ us: s.us, gcUs: gc.within(s.start, s.start + s.us / 1000) * 1000 }));
  const slow = net.filter((s) => s.us > thresholdUs);
  const sorted = net.map((s) => s.us - s.gcUs).sort((a, b) => a - b);
  const at = (p: number) => +sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(2);
  return {
    thresholdUs,
    collections: gc.counts(),
    spansWithCollection: net.filter((s) => s.gcUs > 0).length,
    overThreshold: slow.length,
    overThresholdWithCollection: slow.filter((s) => s.gcUs > 0).length,
    overThresholdWithoutCollectionTime: slow.filter((s) => s.us - s.gcUs > thresholdUs).length,
    withoutCollectionTimeUs: { p50: at(0.5), p99: at(0.99), p999: at(0.999) },
  };
}
