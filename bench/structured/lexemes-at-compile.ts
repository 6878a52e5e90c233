// What building every lexeme automaton of a grammar at compile time adds to compile time (issue 5 asks for
// compile p50 <= 1 ms, p99 <= 20 ms). Since round 8 provider.compile builds them (within COMPILE_LEXEME_STATES);
// before, they were built on first use, inside the masks that first needed them. Per schema (cold-mask-cpu.ts's
// schemas, in order, one process: automata are interned process-wide, as in a server), times the grammar compile
// (provider.compile: a schema met again, a duplicate in the bench, is a cache hit) and then building all of its
// lexemes' automata not built yet (after round 8: those the compile left over its budget).
// Usage: node --import tsx bench/structured/lexemes-at-compile.ts [schemasPerSubset=10] [outFile]
import { readFileSync, writeFileSync } from 'node:fs';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { lexemeBuildStats } from '../../src/structured/lexeme-table.js';
import { compilingExamples } from './bench-schemas.js';

const perSubset = Number(process.argv[2] ?? 10);
const outFile = process.argv[3];
const q = qwen();
const provider = createGrammarProvider(q.vocab);
const examples = [...compilingExamples(perSubset)];
const loadStart = readFileSync('/proc/loadavg', 'utf8').trim();
const compileMs: number[] = [];
/** the process's CPU time during each compile (all its threads): less moved by other processes' load */
const compileCpuMs: number[] = [];
const automataMs: number[] = [];
const bothMs: number[] = [];
const slowest: Array<{ file: string; ms: number; built: number; lexemes: number }> = [];
const atCompile = { built: 0, overBudget: 0 };
for (const { file, constraint } of examples) {
  const before = { ...lexemeBuildStats };
  const cpu = process.cpuUsage();
  let t = performance.now();
  const cg = provider.compile(constraint);
  const c = performance.now() - t;
  const cpuUsed = process.cpuUsage(cpu);
  compileCpuMs.push((cpuUsed.user + cpuUsed.system) / 1000);
  atCompile.built += lexemeBuildStats.built - before.built;
  atCompile.overBudget += lexemeBuildStats.overBudget - before.overBudget;
  const lexemes = cg.grammar.lexemes;
  const built = lexemeBuildStats.built;
  t = performance.now();
  for (let lex = 0; lex < lexemes.count; lex++) lexemes.automaton(lex);
  const a = performance.now() - t;
  compileMs.push(c);
  automataMs.push(a);
  bothMs.push(c + a);
  slowest.push({ file, ms: Math.round(a * 1000) / 1000, built: lexemeBuildStats.built - built, lexemes: lexemes.count });
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const p = (x: number) => Math.round(s[Math.min(s.length - 1, Math.floor(x * s.length))]! * 1000) / 1000;
  return { n: s.length, p50: p(0.5), p90: p(0.9), p99: p(0.99), max: p(1) };
}
const result = {
  node: process.version,
  loadavgAtStart: loadStart,
  loadavgAtEnd: readFileSync('/proc/loadavg', 'utf8').trim(),
  units: 'ms per schema',
  /** automata built inside provider.compile, and builds it gave up for its budget, over all schemas */
  automataAtCompile: atCompile,
  compile: stats(compileMs),
  compileCpu: stats(compileCpuMs),
  allAutomata: stats(automataMs),
  compileWithAllAutomata: stats(bothMs),
  slowestAutomata: slowest.sort((x, y) => y.ms - x.ms).slice(0, 10),
};
console.log(JSON.stringify(result, null, 2));
if (outFile) writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
