// Time to build each lexeme automaton of the bench schemas' grammars, uninterned (every build from scratch), by the
// kind of its pattern: what a lexeme costs the first grammar of a process that needs it. Lexemes are collected from
// the grammars of compilingExamples (deduplicated by key), then each is built `rounds` times; the median per lexeme
// is kept (the first build of a process, with V8 still compiling the builder, is reported apart).
// Usage: node --import tsx bench/structured/lexeme-build-times.ts [schemasPerSubset=10] [rounds=15] [outFile]
import { readFileSync, writeFileSync } from 'node:fs';
import { compileConstraint } from '../../src/structured/compile.js';
import { LexemeNfa, Spelling } from '../../src/structured/lexemes.js';
import type { RNode } from '../../src/structured/regex-ast.js';
import { compilingExamples } from './bench-schemas.js';

const perSubset = Number(process.argv[2] ?? 10);
const rounds = Number(process.argv[3] ?? 15);
const outFile = process.argv[4];

function kindOf(n: RNode): string {
  const kinds = new Set<string>();
  const visit = (x: RNode): void => {
    if (x.k === 'notOneOf' || x.k === 'and') kinds.add(x.k);
    else if (x.k === 'rep') {
      if (x.max !== Infinity && x.max > 1) kinds.add('bounded rep');
      visit(x.x);
    } else if (x.k === 'json') visit(x.x);
    else if (x.k === 'seq' || x.k === 'alt') x.xs.forEach(visit);
  };
  visit(n);
  return kinds.size === 0 ? 'plain' : [...kinds].sort().join('+');
}

const lexemes = new Map<string, { node: RNode; spelling: Spelling }>();
for (const { constraint } of compilingExamples(perSubset)) {
  const g = compileConstraint(constraint);
  for (let lex = 0; lex < g.lexemes.count; lex++) lexemes.set(g.lexemes.key(lex), { node: g.lexemes.node(lex), spelling: g.lexemes.spelling(lex) });
}
const build = (node: RNode, spelling: Spelling): LexemeNfa => {
  const nfa = new LexemeNfa();
  nfa.add(node, spelling, false);
  nfa.finalize();
  return nfa;
};
const loadStart = readFileSync('/proc/loadavg', 'utf8').trim();
const firstBuilds: Record<string, number> = {};
const all = [...lexemes.values()];
for (const { node, spelling } of all) {
  const kind = kindOf(node);
  if (firstBuilds[kind] !== undefined) continue;
  const t = performance.now();
  build(node, spelling);
  firstBuilds[kind] = Math.round((performance.now() - t) * 1000) / 1000;
}
const byKind = new Map<string, number[]>();
const perLexeme: Array<{ kind: string; us: number; states: number; key: string }> = [];
for (const { node, spelling } of all) {
  const times: number[] = [];
  let states = 0;
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    states = build(node, spelling).stateCount;
    times.push((performance.now() - t) * 1000);
  }
  times.sort((a, b) => a - b);
  const us = times[times.length >> 1]!;
  const kind = kindOf(node);
  (byKind.get(kind) ?? byKind.set(kind, []).get(kind)!).push(us);
  perLexeme.push({ kind, us: Math.round(us), states, key: (spelling + JSON.stringify(node)).slice(0, 120) });
}
const round = (x: number) => Math.round(x * 10) / 10;
const result = {
  node: process.version,
  loadavgAtStart: loadStart,
  loadavgAtEnd: readFileSync('/proc/loadavg', 'utf8').trim(),
  lexemes: all.length,
  rounds,
  units: 'µs per build (median of rounds per lexeme); firstBuildOfProcessMs: ms',
  firstBuildOfProcessMs: firstBuilds,
  byKind: Object.fromEntries(
    [...byKind].map(([k, xs]) => {
      const s = [...xs].sort((a, b) => a - b);
      return [k, { n: s.length, totalUs: round(s.reduce((a, x) => a + x, 0)), p50: round(s[s.length >> 1]!), max: round(s[s.length - 1]!) }];
    }),
  ),
  slowest: perLexeme.sort((a, b) => b.us - a.us).slice(0, 15),
};
console.log(JSON.stringify(result, null, 2));
if (outFile) writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
