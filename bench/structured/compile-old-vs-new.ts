// Compile time of this tree against another version's (e.g. a `git archive` of an older commit) in one process:
// per schema (mask-bench's: the first N per subset with a valid example that both compile), the compile the engine
// pays on a cache miss, old and new back to back (which goes first alternates per schema), so both see the same
// load. Each version has its own module instances (its own interned automata and shared lexer), as two servers
// would. New: provider.compileUncached; old, when it lacks that (before round 8): grammar + CompiledGrammar.
// Usage: node --import tsx bench/structured/compile-old-vs-new.ts OLD_TREE [schemasPerSubset=10] [outFile]
import { readFileSync, writeFileSync } from 'node:fs';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { benchSubsets, validExamples } from './bench-schemas.js';
import { importFromTree, runInfo } from './old-tree.js';
import { timedCompile } from './timed-compile.js';

const oldTree = process.argv[2];
if (!oldTree) throw new Error('usage: compile-old-vs-new.ts OLD_TREE [schemasPerSubset] [outFile]');
const perSubset = Number(process.argv[3] ?? 10);
const outFile = process.argv[4];

type Compile = (c: StructuredConstraint) => unknown;
const q = qwen();
const fresh = createGrammarProvider(q.vocab);
const newCompile: Compile = (c) => fresh.compileUncached(c);
const oldProviderModule = await importFromTree<{ createGrammarProvider: typeof createGrammarProvider }>(oldTree, 'src/structured/provider.ts');
const oldProvider = oldProviderModule.createGrammarProvider(q.vocab) as unknown as { compileUncached?: Compile; walks: unknown };
const oldCompile: Compile = await (async () => {
  if (oldProvider.compileUncached) return oldProvider.compileUncached.bind(oldProvider);
  const { compileConstraint } = await importFromTree<{ compileConstraint: (c: StructuredConstraint) => unknown }>(oldTree, 'src/structured/compile.ts');
  const { CompiledGrammar } = await importFromTree<{ CompiledGrammar: new (g: unknown, w: unknown) => unknown }>(oldTree, 'src/structured/compiled-grammar.ts');
  return (c) => new CompiledGrammar(compileConstraint(c), oldProvider.walks);
})();

const loadStart = readFileSync('/proc/loadavg', 'utf8').trim();
const old = { ms: [] as number[], cpuMs: [] as number[] };
const now = { ms: [] as number[], cpuMs: [] as number[] };
let schemas = 0;
for (const subset of benchSubsets()) {
  let used = 0;
  for (const { schema } of validExamples(subset)) {
    if (used >= perSubset) break;
    const c = { kind: 'json' as const, schema };
    const oldFirst = schemas % 2 === 0;
    const a = oldFirst ? timedCompile(oldCompile, c) : timedCompile(newCompile, c);
    const b = oldFirst ? timedCompile(newCompile, c) : timedCompile(oldCompile, c);
    if (!a || !b) continue;
    const [o, n] = oldFirst ? [a, b] : [b, a];
    old.ms.push(o.ms);
    old.cpuMs.push(o.cpuMs);
    now.ms.push(n.ms);
    now.cpuMs.push(n.cpuMs);
    used++;
    schemas++;
  }
}
function stats(xs: number[]) {
  const s = [...xs].sort((x, y) => x - y);
  const p = (x: number) => Math.round(s[Math.min(s.length - 1, Math.floor(x * s.length))]! * 1000) / 1000;
  return { p50: p(0.5), p90: p(0.9), p99: p(0.99), max: p(1), sum: Math.round(s.reduce((x, y) => x + y, 0) * 100) / 100 };
}
const result = {
  ...runInfo(oldTree, loadStart),
  schemas,
  units: 'ms per compile; cpuMs: the process CPU time during it (all threads)',
  old: { ms: stats(old.ms), cpuMs: stats(old.cpuMs) },
  new: { ms: stats(now.ms), cpuMs: stats(now.cpuMs) },
};
console.log(JSON.stringify(result, null, 2));
if (outFile) writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
