// Why are cold masks slow? Walks mask-bench's schemas and real outputs (first request with each schema) and, for
// every mask above a threshold, records what it did: a new shared lexer walk (and from which kind of lexer
// state), lexer DFA states built, exact walks of long tokens, parser work. Prints counts per cause.
// Usage: node --import tsx bench/structured/cold-mask-causes.ts [schemasPerSubset=10] [thresholdUs=250] [outFile]
import { readFileSync, writeFileSync } from 'node:fs';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import type { GrammarMatcher } from '../../src/structured/matcher.js';
import type { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import type { RNode } from '../../src/structured/regex-ast.js';
import { compilingExamples } from './bench-schemas.js';
import type { MatcherInternals } from './matcher-internals.js';

const perSubset = Number(process.argv[2] ?? 10);
const thresholdUs = Number(process.argv[3] ?? 250);
const outFile = process.argv[4];

/** what kind of lexeme: the categories the slow masks are sorted by */
function lexemeKind(n: RNode): string {
  if (n.k === 'seq' && n.xs.length === 3 && n.xs[1]!.k === 'json') {
    const body = n.xs[1]!.x;
    if (body.k === 'notOneOf') return 'key-other';
    if (body.k === 'and') return 'string-and';
    if (body.k === 'rep' && body.x.k === 'cls' && body.x.r.length === 2 && body.x.r[0] === 0 && body.x.r[1] === 0x10ffff) return body.max === Infinity ? 'string' : 'string-len';
    if (body.k === 'seq' || body.k === 'cls') return isLiteral(body) ? 'string-literal' : 'string-pattern';
    return 'string-pattern';
  }
  if (isLiteral(n)) return 'literal';
  if (n.k === 'rep' && n.x.k === 'cls' && n.x.r[0] === 0x09) return 'ws';
  return 'other';
}
function isLiteral(n: RNode): boolean {
  if (n.k === 'cls') return n.r.length === 2 && n.r[0] === n.r[1];
  return n.k === 'seq' && n.xs.every((x) => x.k === 'cls' && x.r.length === 2 && x.r[0] === x.r[1]);
}
function describeState(cg: CompiledGrammar, s: number): string {
  const kinds = new Map<string, number>();
  for (const lex of cg.dfa.canonicalState(s, 65, 1e9).slotLexemes) {
    const k = lexemeKind(cg.lexer.lexemes.node(lex));
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  return [...kinds].sort().map(([k, n]) => (n > 1 ? `${k}×${n}` : k)).join('+') + (cg.dfa.isInitial(s) ? ' (initial)' : ' (inside)');
}

const q = qwen();
const provider = createGrammarProvider(q.vocab);
const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
const slow: Array<Record<string, unknown>> = [];
let total = 0;
for (const { subset, instance, constraint: c } of compilingExamples(perSubset)) {
  const m = provider.create(c) as GrammarMatcher;
  const mi = m as unknown as MatcherInternals;
  const ids = q.encode(JSON.stringify(instance, null, 2));
  let prevText = '';
  for (const id of ids) {
    const walksBefore = provider.walks.stats.computed;
    const walkMsBefore = provider.walks.stats.computeMs;
    const nodesBefore = provider.walks.stats.nodesVisited;
    const dfaBefore = mi.cg.dfa.stateCount;
    const workBefore = mi.parser.work;
    const lex = mi.lex;
    const t = performance.now();
    m.fillNextTokenBitmask(mask, 0);
    const us = (performance.now() - t) * 1000;
    total++;
    if (us > thresholdUs) {
      const newWalks = provider.walks.stats.computed - walksBefore;
      slow.push({
        subset,
        us: Math.round(us),
        newWalks,
        walkUs: Math.round((provider.walks.stats.computeMs - walkMsBefore) * 1000),
        walkNodes: provider.walks.stats.nodesVisited - nodesBefore,
        dfaStatesBuilt: mi.cg.dfa.stateCount - dfaBefore,
        parserItems: mi.parser.work - workBefore,
        lexState: mi.cg.dfa.canonicalState(lex, 65, 1e9).key.slice(0, 120),
        lexemes: describeState(mi.cg, lex),
        after: prevText.slice(-30),
      });
    }
    prevText += new TextDecoder().decode(q.vocab.tokenBytes[id] ?? new Uint8Array(0));
    if (!m.acceptToken(id)) throw new Error(`${subset}: token ${id} rejected after ${JSON.stringify(prevText.slice(-40))}`);
  }
}
/** the coarse causes the README reports */
function category(s: Record<string, unknown>): string {
  const kinds = s.lexemes as string;
  if ((s.newWalks as number) === 0) return 'E. no new walk: lexer DFA transitions built lazily, lexeme ends crossed through the parser';
  if (kinds.includes('key-other')) return 'A. new walk: object key where other properties are allowed';
  if (kinds.includes('string-pattern') || kinds.includes('string-and')) return 'B. new walk: string pattern / format body';
  if (kinds.includes('string-len') || kinds.startsWith('string (')) return 'C. new walk: string body (maxLength / unconstrained)';
  return 'D. new walk: other states (string literals, enum strings, whitespace, numbers)';
}
function summarize(key: (s: Record<string, unknown>) => string) {
  const by = new Map<string, { n: number; us: number; maxUs: number }>();
  for (const s of slow) {
    const k = key(s);
    const e = by.get(k) ?? { n: 0, us: 0, maxUs: 0 };
    e.n++;
    e.us += s.us as number;
    e.maxUs = Math.max(e.maxUs, s.us as number);
    by.set(k, e);
  }
  return [...by].sort((a, b) => b[1].us - a[1].us).map(([cause, e]) => ({ cause, count: e.n, totalMs: Math.round(e.us / 100) / 10, maxMs: Math.round(e.maxUs / 100) / 10 }));
}
const categories = summarize(category);
const summary = summarize((s) => ((s.newWalks as number) > 0 ? `new lexer walk from: ${s.lexemes}` : `no new walk: ${s.lexemes}`));
const w = provider.walks.stats;
const walks = { computed: w.computed, splitAtQuote: w.split, trieNodesVisited: w.nodesVisited, ms: Math.round(w.computeMs), nsPerNode: Math.round((w.computeMs * 1e6) / Math.max(1, w.nodesVisited)) };
console.log(`${slow.length} of ${total} cold masks above ${thresholdUs} µs; lexer walks: ${JSON.stringify(walks)}`);
console.table(categories);
console.table(summary);
const load = readFileSync('/proc/loadavg', 'utf8').trim();
if (outFile) writeFileSync(outFile, JSON.stringify({ thresholdUs, masks: total, slow: slow.length, loadavgAtEnd: load, walks, categories, summary, slowMasks: slow }, null, 2) + '\n');
