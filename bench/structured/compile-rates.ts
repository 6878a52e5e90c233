// Every JSONSchemaBench schema through serval's JSON-schema compiler: share compiled per subset, refusal
// reasons, and compile time (grammar + lexer NFA; the lexer DFA is built lazily while masks are computed).
// Usage: node --import tsx bench/structured/compile-rates.ts [outFile]
import { readFileSync, readdirSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { compileConstraint } from '../../src/structured/compile.js';
import { SHARED_DATA } from '../../test/structured/qwen-fixture.js';
import { runFacts, writeResult } from './run-facts.js';

const outFile = process.argv[2] ?? join(dirname(new URL(import.meta.url).pathname), 'results', 'compile-rates.json');
const root = join(SHARED_DATA, 'jsonschemabench');
const subsets: Record<string, unknown> = {};
const all: number[] = [];
for (const subset of readdirSync(root).sort()) {
  const files = readdirSync(join(root, subset)).filter((f) => f.endsWith('.json')).sort();
  let ok = 0;
  const times: number[] = [];
  const reasons = new Map<string, number>();
  for (const f of files) {
    const schema = JSON.parse(readFileSync(join(root, subset, f), 'utf8'));
    const t = performance.now();
    try {
      compileConstraint({ kind: 'json', schema });
      ok++;
      times.push(performance.now() - t);
    } catch (e) {
      const r = (e as Error).message.replace(/\(.*$/s, '').slice(0, 110);
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
  }
  times.sort((a, b) => a - b);
  all.push(...times);
  const q = (p: number) => +times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(3);
  subsets[subset] = {
    schemas: files.length,
    compiled: ok,
    rate: +(ok / files.length).toFixed(4),
    compileMs: { p50: q(0.5), p99: q(0.99), max: q(1) },
    refusals: Object.fromEntries([...reasons].sort((a, b) => b[1] - a[1]).slice(0, 8)),
  };
  console.log(subset, ok, '/', files.length);
}
all.sort((a, b) => a - b);
const q = (p: number) => +all[Math.min(all.length - 1, Math.floor(p * all.length))]!.toFixed(3);
const result = {
  ...runFacts(),
  compileMsAllSubsets: { n: all.length, p50: q(0.5), p99: q(0.99), max: q(1) },
  subsets,
};
mkdirSync(dirname(outFile), { recursive: true });
writeResult(outFile, result);
