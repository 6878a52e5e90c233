// Where a cold step's time goes, from step-masks.ts traces (STEP_MASKS_TRACE): per step with worker answers, the
// engine thread's own parts (classify, cached rows written, rows taken ahead fed), the fills' posts, and the answer
// taken last: when it was posted, how long its worker took to start and to compute, and how long its answer waited
// for this thread (delivery: from the worker's end to the engine thread taking it, which is busy meanwhile with its
// own part or with earlier answers). Also the gap between this thread's first assist slice ending (or the first worker
// answer, whichever is later) and the first answer taken, and the time per answer taken after it. Medians and means
// over the steps after the first.
// Usage: node --import tsx bench/structured/step-trace-summary.ts TRACE.json [...]
import { readFileSync } from 'node:fs';
import type { TraceEvent } from './step-masks.js';

type Step = Extract<TraceEvent, { e: 'step' }>;
type Answer = Extract<TraceEvent, { e: 'ans' }>;
/** traces written before round 24's hooks also hold the engine thread's assist slices */
interface AssistSlice {
  e: 'assist';
  at: number;
  ms: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function summarize(events: Array<TraceEvent | AssistSlice>): Record<string, { p50: number; mean: number }> & { steps: number } {
  const steps = events.filter((e): e is Step => e.e === 'step');
  const answers = events.filter((e): e is Answer => e.e === 'ans');
  const slices = events.filter((e): e is AssistSlice => e.e === 'assist');
  const cols: Record<string, number[]> = {};
  const put = (k: string, v: number) => (cols[k] ??= []).push(v);
  for (const s of steps.slice(1)) {
    const t0 = s.at;
    const t1 = s.at + s.ms;
    const own = answers.filter((a) => a.postedAt >= t0 - 0.01 && a.postedAt <= t1).sort((a, b) => a.answeredAt - b.answeredAt);
    if (own.length === 0 || !s.timings) continue;
    const tm = s.timings;
    const last = own[own.length - 1]!;
    const ends = own.map((a) => a.startedAt + a.busyMs);
    const posts = [...new Set(own.map((a) => a.postedAt))].sort((a, b) => a - b);
    put('stepMs', s.ms);
    put('classifyEndMs', tm.classifyMs);
    put('cachedRowsEndMs', tm.classifyMs + tm.cachedFillMs);
    put('aheadFedEndMs', tm.classifyMs + tm.cachedFillMs + (tm.aheadFeedMs ?? 0));
    put('firstPostMs', posts[0]! - t0);
    put('lastPostMs', posts[posts.length - 1]! - t0);
    put('lastAnswerPostedMs', last.postedAt - t0);
    put('lastAnswerStartDelayMs', last.startedAt - last.postedAt);
    put('lastAnswerBusyMs', last.busyMs);
    put('lastAnswerDeliveryMs', last.answeredAt - (last.startedAt + last.busyMs));
    put('lastAnswerTakenMs', last.answeredAt - t0);
    put('workersDoneMs', Math.max(...ends) - t0);
    put('answersSpanMs', last.answeredAt - own[0]!.answeredAt);
    if (own.length > 1) put('perAnswerMs', (last.answeredAt - own[0]!.answeredAt) / (own.length - 1));
    const firstSlice = slices.filter((a) => a.at >= t0 && a.at <= t1).sort((a, b) => a.at - b.at)[0];
    const ownPartEnd = firstSlice ? firstSlice.at + firstSlice.ms - t0 : tm.classifyMs + tm.cachedFillMs + (tm.aheadFeedMs ?? 0);
    put('gapToFirstAnswerMs', own[0]!.answeredAt - t0 - Math.max(ownPartEnd, Math.min(...ends) - t0));
  }
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return Object.assign({ steps: cols.stepMs?.length ?? 0 }, Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, { p50: r(median(v)), mean: r(mean(v)) }])));
}

for (const f of process.argv.slice(2)) {
  console.log(JSON.stringify({ trace: f, ...summarize(JSON.parse(readFileSync(f, 'utf8')) as Array<TraceEvent | AssistSlice>) }, null, 1));
}
