// The first-request masks of the step bench's workload (pickWorkload: each schema new to the provider) through one
// provider, as mask-bench.ts times them (the fill only): their quantiles, how many took 100 µs or more, their sum,
// and how many were found among the masks kept by the parser's answers (mask-memo.ts). MASK_MEMO=0 turns that
// reuse off. One run appends one JSON line to OUT_FILE; memo-ab.sh alternates runs with and without it in separate
// processes (within one process the two settings would share V8's compiled code) and summarizes them.
// Usage: PER_SUBSET=10 OUT_FILE=runs.jsonl node --import tsx bench/structured/first-request-quantiles.ts
//        SUMMARIZE_RUNS=runs.jsonl [SUMMARY_FILE=out.json] node --import tsx bench/structured/first-request-quantiles.ts
import { appendFileSync, readFileSync } from 'node:fs';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import type { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { pickWorkload } from './step-masks.js';
import { forEachFirstRequestMask } from './first-request-masks.js';
import { runFacts, writeResult } from './run-facts.js';

interface Run {
  memo: boolean;
  masks: number;
  p50: number;
  p60: number;
  p90: number;
  p95: number;
  p99: number;
  atLeast100us: number;
  sumMs: number;
  reused: number;
}

function oneRun(): Run {
  const q = qwen();
  const work = pickWorkload(q, Number(process.env.PER_SUBSET ?? 10));
  const memo = process.env.MASK_MEMO !== '0';
  const provider = createGrammarProvider(q.vocab, { memoMasks: memo });
  const out = new Int32Array(Math.ceil(q.vocab.size / 32));
  const us: number[] = [];
  let reused = 0;
  forEachFirstRequestMask(work, provider, out, (fill, m) => {
    us.push(fill());
    reused = (m as unknown as { cg: CompiledGrammar }).cg.memoReused;
  });
  us.sort((a, b) => a - b);
  const at = (p: number) => us[Math.floor(p * us.length)]!;
  return { memo, masks: us.length, p50: at(0.5), p60: at(0.6), p90: at(0.9), p95: at(0.95), p99: at(0.99), atLeast100us: us.filter((x) => x >= 100).length, sumMs: us.reduce((a, b) => a + b, 0) / 1000, reused };
}

/** the median of each figure over the runs of each setting */
function summarize(runsFile: string, outFile: string | undefined): void {
  const runs = readFileSync(runsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Run);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const of = (memo: boolean) => {
    const rs = runs.filter((r) => r.memo === memo);
    const keys = ['p50', 'p60', 'p90', 'p95', 'p99', 'atLeast100us', 'sumMs', 'reused'] as const;
    return { runs: rs.length, masks: rs[0]?.masks, medians: Object.fromEntries(keys.map((k) => [k, median(rs.map((r) => r[k]))])) };
  };
  writeResult(outFile, { ...runFacts(), units: 'µs per mask (sumMs: ms)', memoOn: of(true), memoOff: of(false), runs });
}

if (process.env.SUMMARIZE_RUNS) summarize(process.env.SUMMARIZE_RUNS, process.env.SUMMARY_FILE || undefined);
else appendFileSync(process.env.OUT_FILE ?? '/dev/stdout', JSON.stringify(oneRun()) + '\n');
