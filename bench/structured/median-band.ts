// Where mask-bench's first-request masks around the median spend their time. Same loop as mask-bench.ts (ours only:
// each schema compiled afresh, then one request walking its example), with the steps of a mask timed one by one:
// the lexer state's mask class, the parser state's key (not for parser-free classes), the cache lookup (or the walk's
// mask), the computation and storing (cache
// misses), and the write into the row. Reports the masks between p45 and p55 of the total, and bands of the
// computed ones. Reads matcher internals: for comparing versions of this tree (run each version's bundle).
// Usage: node --import tsx bench/structured/median-band.ts [schemasPerSubset=25] [outFile]
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { maskScratch, type StoredMask } from '../../src/structured/mask-store.js';
import type { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import type { EarleyParser } from '../../src/structured/earley.js';
import type { TokenTrie } from '../../src/structured/token-trie.js';
import { benchSubsets, validExamples } from './bench-schemas.js';
import { runFacts, writeResult } from './run-facts.js';

const perSubset = Number(process.argv[2] ?? 25);
const outFile = process.argv[3];
const q = qwen();
const provider = createGrammarProvider(q.vocab);
const words = Math.ceil(q.vocab.size / 32);
const row = new Int32Array(words);

/** the matcher's private parts this bench times (GrammarMatcher) */
interface Internals {
  cg: CompiledGrammar;
  parser: EarleyParser;
  lex: number;
  trie: TokenTrie;
  computeMask(): void;
  acceptToken(id: number): boolean;
}

const STEPS = ['stateKey', 'maskClass', 'lookup', 'compute', 'store', 'write'] as const;
type Timed = Record<(typeof STEPS)[number] | 'total', number> & { hit: boolean };
const masks: Timed[] = [];
for (const subset of benchSubsets()) {
  let used = 0;
  for (const { schema, instance } of validExamples(subset)) {
    if (used >= perSubset) break;
    const c = { kind: 'json' as const, schema };
    try {
      provider.compileUncached(c);
    } catch {
      continue;
    }
    used++;
    const m = provider.create(c) as unknown as Internals;
    const { cg } = m;
    for (const id of q.encode(JSON.stringify(instance, null, 2))) {
      // GrammarMatcher.nextStoredMask and fillNextTokenBitmask, step by step
      // (the class first: a parser-free class's mask is its walk's, with no parser key, as nextStoredMask does)
      const t0 = performance.now();
      const cls = cg.maskClass(m.lex, m.trie, words);
      const t1 = performance.now();
      const atStart = m.lex === m.parser.lexState;
      const blind = cg.parserBlind(cls, atStart);
      const parserKey = blind ? 0 : m.parser.stateKey();
      const t2 = performance.now();
      const key = cg.maskKey(parserKey, cls, atStart);
      let stored: StoredMask | undefined = blind ? cg.parserFreeMask(m.lex, cls, m.trie, words, false)! : cg.cachedMask(key);
      const t3 = performance.now();
      let t4 = t3;
      let t5 = t3;
      const hit = stored !== undefined;
      if (!stored) {
        m.computeMask();
        t4 = performance.now();
        stored = maskScratch(words).store();
        cg.storeMask(key, stored);
        t5 = performance.now();
      }
      stored.writeTo(row, 0);
      const t6 = performance.now();
      const us = (a: number, b: number) => (b - a) * 1000;
      masks.push({ hit, total: us(t0, t6), maskClass: us(t0, t1), stateKey: us(t1, t2), lookup: us(t2, t3), compute: us(t3, t4), store: us(t4, t5), write: us(t5, t6) });
      if (!m.acceptToken(id)) throw new Error(`${subset}: instance token ${id} rejected`);
    }
  }
}

const byTotal = [...masks].sort((a, b) => a.total - b.total);
const mean = (xs: Timed[], k: keyof Timed) => +(xs.reduce((s, x) => s + +x[k], 0) / Math.max(1, xs.length)).toFixed(2);
const summary = (xs: Timed[]) => ({ masks: xs.length, hits: xs.filter((x) => x.hit).length, meanUs: Object.fromEntries((['total', ...STEPS] as const).map((k) => [k, mean(xs, k)])) });
const slice = (xs: Timed[], lo: number, hi: number) => xs.slice(Math.floor(lo * xs.length), Math.floor(hi * xs.length));
const computed = byTotal.filter((x) => !x.hit);
const result = {
  ...runFacts(),
  masks: masks.length,
  hits: masks.filter((x) => x.hit).length,
  p50TotalUs: +byTotal[Math.floor(byTotal.length / 2)]!.total.toFixed(2),
  p45toP55: summary(slice(byTotal, 0.45, 0.55)),
  hitsAll: summary(byTotal.filter((x) => x.hit)),
  computedBands: [[0, 0.1], [0.1, 0.2], [0.4, 0.5]].map(([lo, hi]) => ({ band: `computed p${lo! * 100}-p${hi! * 100}`, ...summary(slice(computed, lo!, hi!)) })),
};
writeResult(outFile, result);
