// Where the first-time cost of a cold mask sits, for the masks of one lexer state (by its canonical description, as
// cold-mask-breakdown.ts prints it: `4[1]` after a complete `:`/`,`, `2[1:0/63,2:0/63,3]` whitespace after a
// newline): each such mask of cold-mask-cpu.ts's schemas and outputs is timed when first computed, then the same
// mask computed by a new matcher of the same compiled grammar (its parser's sets and scan cache fresh), by a new
// matcher of a new compiled grammar of the same schema (the grammar's caches fresh too: accepted-lexeme maps, initial
// states, walks by state; the process-wide lexer DFA, lexeme automata and shared walks warm), and recomputed by the
// first matcher (median of 9: everything warm). first - new grammar: process-wide first-time work (DFA states,
// automata); new grammar - new matcher: the grammar's caches; new matcher - recomputed: the parser's. Last, the
// same mask recomputed once more right after reading a 64 MiB buffer (the CPU caches evicted, every cache and
// structure of the engine still built): what a mask costs when nothing it touches is in the CPU caches, as for
// the first mask of a state, whose trie nodes, DFA rows and parser arrays no recent mask touched.
// Usage: node --import tsx bench/structured/cold-mask-first-time.ts [stateDescription='4[1]'] [schemasPerSubset=10] [outFile]
import { readFileSync, writeFileSync } from 'node:fs';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { compileConstraint } from '../../src/structured/compile.js';
import { GrammarMatcher } from '../../src/structured/matcher.js';
import { compilingExamples } from './bench-schemas.js';
import { maskScratch } from '../../src/structured/mask-store.js';
const q = qwen();
const provider = createGrammarProvider(q.vocab);
const words = Math.ceil(q.vocab.size / 32);
const out = new Int32Array(words);
const filter = process.argv[2] ?? '4[1]';
const perSubset = Number(process.argv[3] ?? 10);
const outFile = process.argv[4];
const loadStart = readFileSync('/proc/loadavg', 'utf8').trim();
const examples = [...compilingExamples(perSubset)].map((e) => ({ ...e, ids: q.encode(JSON.stringify(e.instance, null, 2)) }));
const firsts: number[] = [], freshGrammar: number[] = [], freshMatcher: number[] = [], steady: number[] = [], evicted: number[] = [];
/** larger than the last-level cache: reading it evicts what the masks left there */
const evictor = new Int32Array((64 << 20) / 4).fill(1);
let evictSum = 0;
function evictCaches(): void {
  for (let i = 0; i < evictor.length; i += 16) evictSum += evictor[i]!;
}
const time = (f: () => void) => { const t = performance.now(); f(); return (performance.now() - t) * 1000; };
for (const { constraint, ids } of examples) {
  const m = provider.create(constraint) as any;
  const prefix: number[] = [];
  for (const id of ids) {
    const cg = m.cg;
    const desc = cg.dfa.canonicalState(m.lex, 65, 1e9).key;
    const key = m.maskKey();
    if (desc === filter && !cg.cachedMask(key)) {
      firsts.push(time(() => m.computeMask()));
      // the same state in a new matcher of the same compiled grammar (per-grammar caches warm, parser fresh)
      const m2 = new GrammarMatcher(cg, q.vocab, provider.trie) as any;
      for (const p of prefix) m2.acceptToken(p);
      m2.maskKey();
      freshMatcher.push(time(() => m2.computeMask()));
      // ... and in a new compiled grammar of the same schema (per-grammar caches empty, process-wide DFA warm)
      const cg3 = new CompiledGrammar(compileConstraint(constraint), provider.walks);
      const m3 = new GrammarMatcher(cg3, q.vocab, provider.trie) as any;
      for (const p of prefix) m3.acceptToken(p);
      m3.maskKey();
      freshGrammar.push(time(() => m3.computeMask()));
      const reps: number[] = [];
      for (let r = 0; r < 9; r++) reps.push(time(() => m.computeMask()));
      steady.push(reps.sort((a, b) => a - b)[4]!);
      evictCaches();
      evicted.push(time(() => m.computeMask()));
      cg.storeMask(key, maskScratch(words).store());
    } else m.fillNextTokenBitmask(out, 0);
    m.acceptToken(id);
    prefix.push(id);
  }
}
function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const p = (x: number) => Math.round(s[Math.min(s.length - 1, Math.floor(x * s.length))]!);
  return { n: s.length, p50: p(0.5), p90: p(0.9), p99: p(0.99), max: p(1), over250: s.filter((x) => x > 250).length, totalMs: Math.round(s.reduce((a, b) => a + b, 0)) / 1000 };
}
const result = {
  node: process.version,
  loadavgAtStart: loadStart,
  loadavgAtEnd: readFileSync('/proc/loadavg', 'utf8').trim(),
  state: filter,
  units: 'µs per mask (totalMs: ms)',
  first: stats(firsts),
  newMatcherSameGrammar: stats(freshMatcher),
  newMatcherNewGrammar: stats(freshGrammar),
  recomputedMedianOf9: stats(steady),
  recomputedAfterEvictingCpuCaches: stats(evicted),
  evictSum,
};
console.log(JSON.stringify(result));
if (outFile) writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
