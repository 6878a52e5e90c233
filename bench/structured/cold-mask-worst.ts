// The worst cold masks, named: walks mask-bench's schemas and real outputs (first request with each schema, as
// cold-mask-cpu.ts) and records the N slowest masks in CPU time with where they were (subset, schema file, token
// index, text before) and what they did (new shared lexer walks and their trie nodes, lexeme automata built
// on first use and their time, lexer DFA states built, parser items): a mask that stalls a GPU batch has to be
// named to be cut.
// Usage: node --import tsx bench/structured/cold-mask-worst.ts [schemasPerSubset=10] [topN=15] [outFile]
import { readFileSync, writeFileSync } from 'node:fs';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { lexemeBuildStats } from '../../src/structured/lexeme-table.js';
import { coldPositions } from './cold-positions.js';

const perSubset = Number(process.argv[2] ?? 10);
const topN = Number(process.argv[3] ?? 15);
const outFile = process.argv[4];

const q = qwen();
const t0 = performance.now();
const provider = createGrammarProvider(q.vocab);
const providerMs = performance.now() - t0;
const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
const all: Array<Record<string, unknown> & { cpuUs: number }> = [];
const loadStart = readFileSync('/proc/loadavg', 'utf8').trim();
for (const { subset, file, token: k, text, matcher: m, internals: mi } of coldPositions(provider, q, perSubset)) {
  const s = provider.walks.stats;
  const before = { lexBuilt: lexemeBuildStats.built, lexMs: lexemeBuildStats.ms, walks: s.computed, nodes: s.nodesVisited, dfa: mi.cg.dfa.stateCount, work: mi.parser.work, lex: mi.lex };
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  m.fillNextTokenBitmask(mask, 0);
  const wallUs = (performance.now() - w0) * 1000;
  const c1 = process.cpuUsage(c0);
  all.push({
    cpuUs: c1.user + c1.system,
    wallUs: Math.round(wallUs),
    subset,
    file,
    token: k,
    after: text.slice(-40),
    newWalks: s.computed - before.walks,
    walkNodes: s.nodesVisited - before.nodes,
    lexemeAutomataBuilt: lexemeBuildStats.built - before.lexBuilt,
    lexemeBuildUs: Math.round((lexemeBuildStats.ms - before.lexMs) * 1000),
    dfaStatesBuilt: mi.cg.dfa.stateCount - before.dfa,
    parserItems: mi.parser.work - before.work,
    lexState: mi.cg.dfa.canonicalState(before.lex, 65, 1e9).key.slice(0, 100),
  });
}
all.sort((a, b) => (process.env.SORT_WALL ? (b.wallUs as number) - (a.wallUs as number) : b.cpuUs - a.cpuUs));
const result = {
  node: process.version,
  loadavgAtStart: loadStart,
  loadavgAtEnd: readFileSync('/proc/loadavg', 'utf8').trim(),
  providerSetupMs: Math.round(providerMs),
  masks: all.length,
  worst: all.slice(0, topN),
};
console.log(JSON.stringify(result, null, 1));
if (outFile) writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
