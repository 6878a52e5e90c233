// Where mask-bench's first-request masks spend their time: cache hits against computed masks, and per mask the
// part spent getting the stored mask (nextStoredMask: key, lookup, computation) against writing it into the row
// (StoredMask.writeTo), by bands of the overall time distribution; plus how many words each written mask has set.
// Same schemas, outputs and first-request order as mask-bench.ts (its web-xgrammar compiles left out).
// Usage: node --import tsx bench/structured/mask-write-share.ts [schemasPerSubset=10] [outFile]
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { compilingExamples } from './bench-schemas.js';
import { runFacts, writeResult } from './run-facts.js';

const perSubset = Number(process.argv[2] ?? 10);
const outFile = process.argv[3];
const q = qwen();
const provider = createGrammarProvider(q.vocab);
const words = Math.ceil(q.vocab.size / 32);
const row = new Int32Array(words);

interface MaskTime {
  hit: boolean;
  getUs: number;
  writeUs: number;
  totalUs: number;
  nonzeroWords: number;
}
const masks: MaskTime[] = [];
for (const { subset, instance, constraint } of compilingExamples(perSubset)) {
  const m = provider.create(constraint);
  for (const id of q.encode(JSON.stringify(instance, null, 2))) {
    const hit = m.nextMaskCached();
    const t0 = performance.now();
    const stored = m.nextStoredMask();
    const t1 = performance.now();
    if (stored) stored.writeTo(row, 0);
    const t2 = performance.now();
    let nonzeroWords = 0;
    for (let w = 0; w < words; w++) if (row[w] !== 0) nonzeroWords++;
    masks.push({ hit, getUs: (t1 - t0) * 1000, writeUs: (t2 - t1) * 1000, totalUs: (t2 - t0) * 1000, nonzeroWords });
    if (!m.acceptToken(id)) throw new Error(`${subset}: instance token ${id} rejected`);
  }
}

const quantile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return +s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2);
};
const mean = (xs: number[]) => +(xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length)).toFixed(2);
const byTotal = [...masks].sort((a, b) => a.totalUs - b.totalUs);
const band = (lo: number, hi: number) => {
  const b = byTotal.slice(Math.floor(lo * byTotal.length), Math.floor(hi * byTotal.length));
  return {
    band: `p${lo * 100}-p${hi * 100}`,
    meanTotalUs: mean(b.map((m) => m.totalUs)),
    meanGetUs: mean(b.map((m) => m.getUs)),
    meanWriteUs: mean(b.map((m) => m.writeUs)),
    hitShare: mean(b.map((m) => +m.hit)),
    meanNonzeroWords: mean(b.map((m) => m.nonzeroWords)),
  };
};
const hits = masks.filter((m) => m.hit);
const computed = masks.filter((m) => !m.hit);
const result = {
  ...runFacts(),
  masks: masks.length,
  hits: hits.length,
  hitTotalUs: { p25: quantile(hits.map((m) => m.totalUs), 0.25), p50: quantile(hits.map((m) => m.totalUs), 0.5) },
  computedTotalUs: { p25: quantile(computed.map((m) => m.totalUs), 0.25), p50: quantile(computed.map((m) => m.totalUs), 0.5) },
  allTotalUs: { p50: quantile(masks.map((m) => m.totalUs), 0.5) },
  masksWithAtMost64NonzeroWords: masks.filter((m) => m.nonzeroWords <= 64).length,
  bands: [band(0.3, 0.4), band(0.4, 0.5), band(0.5, 0.6), band(0.6, 0.7)],
};
writeResult(outFile, result);
