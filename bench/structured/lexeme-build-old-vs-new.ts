// Lexeme automaton builds of this tree against another version's (e.g. a `git archive` of an older commit), in
// one process, alternated round by round, so both see the same load and the same V8 state: every lexeme of the
// bench schemas' grammars (compilingExamples, deduplicated by key) built from scratch once per round, by kind.
// Usage: node --import tsx bench/structured/lexeme-build-old-vs-new.ts OLD_TREE [schemasPerSubset=10] [rounds=60] [outFile]
import { readFileSync, writeFileSync } from 'node:fs';
import { compileConstraint } from '../../src/structured/compile.js';
import { LexemeNfa, type Spelling } from '../../src/structured/lexemes.js';
import type { RNode } from '../../src/structured/regex-ast.js';
import { compilingExamples } from './bench-schemas.js';
import { importFromTree, runInfo } from './old-tree.js';

const oldTree = process.argv[2];
if (!oldTree) throw new Error('usage: lexeme-build-old-vs-new.ts OLD_TREE [schemasPerSubset] [rounds] [outFile]');
const perSubset = Number(process.argv[3] ?? 10);
const rounds = Number(process.argv[4] ?? 60);
const outFile = process.argv[5];
const OldNfa = (await importFromTree<{ LexemeNfa: typeof LexemeNfa }>(oldTree, 'src/structured/lexemes.ts')).LexemeNfa;

const lexemes = new Map<string, { node: RNode; spelling: Spelling }>();
for (const { constraint } of compilingExamples(perSubset)) {
  const g = compileConstraint(constraint);
  for (let lex = 0; lex < g.lexemes.count; lex++) lexemes.set(g.lexemes.key(lex), { node: g.lexemes.node(lex), spelling: g.lexemes.spelling(lex) });
}
const isLiteral = (n: RNode): boolean =>
  n.k === 'cls' ? n.r.length === 2 && n.r[0] === n.r[1] : n.k === 'seq' ? n.xs.every(isLiteral) : n.k === 'json' ? isLiteral(n.x) : false;
const kindOf = (n: RNode) => (JSON.stringify(n).includes('"notOneOf"') ? 'notOneOf' : isLiteral(n) ? 'literal' : 'other');
const byKind = new Map<string, Array<{ node: RNode; spelling: Spelling }>>();
for (const x of lexemes.values()) (byKind.get(kindOf(x.node)) ?? byKind.set(kindOf(x.node), []).get(kindOf(x.node))!).push(x);

function buildAll(Nfa: typeof LexemeNfa, xs: Array<{ node: RNode; spelling: Spelling }>): number {
  const t = performance.now();
  for (const { node, spelling } of xs) {
    const nfa = new Nfa();
    nfa.add(node, spelling, false);
    nfa.finalize();
  }
  return performance.now() - t;
}
const loadStart = readFileSync('/proc/loadavg', 'utf8').trim();
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const kinds: Record<string, unknown> = {};
for (const [kind, xs] of byKind) {
  const old: number[] = [];
  const now: number[] = [];
  for (let r = 0; r < rounds; r++) {
    old.push(buildAll(OldNfa, xs));
    now.push(buildAll(LexemeNfa, xs));
  }
  const q = (s: number[], p: number) => round3([...s].sort((a, b) => a - b)[Math.floor(p * (s.length - 1))]!);
  kinds[kind] = {
    lexemes: xs.length,
    msPerRound: { old: { min: q(old, 0), p50: q(old, 0.5) }, new: { min: q(now, 0), p50: q(now, 0.5) } },
    speedupAtP50: Math.round((q(old, 0.5) / q(now, 0.5)) * 10) / 10,
  };
}
const result = {
  ...runInfo(oldTree, loadStart),
  rounds,
  units: 'ms to build every lexeme of the kind once (one round), old and new alternated',
  kinds,
};
console.log(JSON.stringify(result, null, 2));
if (outFile) writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
