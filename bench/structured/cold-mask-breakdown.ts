// Every cold mask above a threshold, broken down by cause: the p99 of cold masks is decided by the hundreds of
// masks between 250 µs and ~1.5 ms, not by the few slowest (cold-mask-worst.ts). Walks mask-bench's schemas and
// real outputs (first request with each schema, as cold-mask-cpu.ts) and, per mask, measures the parts it can
// name: new shared lexer walks (whole-trie or split at the quote, and their trie nodes and time), lexeme automata
// built on first use, lexer DFA states built, parser items, exact walks of deep nodes, garbage-collector pauses
// inside the mask (perf_hooks 'gc' entries overlapping it), the first mask of a schema. Each slow mask gets the
// category of its largest named part; the time left over is "rest" (parser work, DFA states built outside
// walks, V8's compiler, time waiting for a core).
// Usage: node [--expose-gc] --import tsx bench/structured/cold-mask-breakdown.ts [schemasPerSubset=10] [thresholdUs=250] [outFile]
// With CB_CPU_PROFILE=FILE, a V8 CPU profile (25 µs samples) from the first mask to the last goes to FILE (a
// profile of the whole process is mostly the workload's picking and the provider's start).
import { readFileSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { lexemeBuildStats } from '../../src/structured/lexeme-table.js';
import { coldPositions } from './cold-positions.js';
import { Session } from 'node:inspector';

const perSubset = Number(process.argv[2] ?? 10);
const thresholdUs = Number(process.argv[3] ?? 250);
const outFile = process.argv[4];

interface MaskRecord {
  subset: string;
  file: string;
  token: number;
  after: string;
  startMs: number;
  wallUs: number;
  cpuUs: number;
  firstOfSchema: boolean;
  newWalks: number;
  splitWalks: number;
  walkNodes: number;
  walkUs: number;
  lexemeAutomataBuilt: number;
  lexemeBuildUs: number;
  dfaStatesBuilt: number;
  parserItems: number;
  deepNodes: number;
  boundaryNodes: number;
  gcUs: number;
  restUs: number;
  lexState: string;
  category: string;
}

const gcs: Array<{ start: number; end: number; kind: string }> = [];
const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major (mark-compact)',
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor (scavenge)',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as { detail?: { kind?: number } }).detail?.kind ?? 0;
    gcs.push({ start: e.startTime, end: e.startTime + e.duration, kind: GC_KINDS[kind] ?? `kind ${kind}` });
  }
}).observe({ entryTypes: ['gc'] });

const q = qwen();
const provider = createGrammarProvider(q.vocab);
const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
const words = mask.length;
const loadStart = readFileSync('/proc/loadavg', 'utf8').trim();
const all: MaskRecord[] = [];
let totalMasks = 0;
/** every cold mask's wall time (µs), for the percentiles, and its start (ms), to match GC pauses to all masks */
const walls: number[] = [];
const starts: number[] = [];
/** lexer-DFA states built inside cold masks (all of them, not only the slow ones) */
let dfaStatesBuiltInMasks = 0;
let lastDfaStates = 0;
const profileFile = process.env.CB_CPU_PROFILE || undefined;
const profiler = profileFile ? new Session() : null;
for (const { subset, file, token: k, text, matcher: m, internals: mi } of coldPositions(provider, q, perSubset)) {
  const s = provider.walks.stats;
  const b = { walks: s.computed, split: s.split, nodes: s.nodesVisited, walkMs: s.computeMs, lexBuilt: lexemeBuildStats.built, lexMs: lexemeBuildStats.ms, dfa: mi.cg.dfa.stateCount, work: mi.parser.work };
  const lex = mi.lex;
  if (profiler && totalMasks === 0) {
    profiler.connect();
    profiler.post('Profiler.enable');
    profiler.post('Profiler.setSamplingInterval', { interval: 25 });
    profiler.post('Profiler.start');
  }
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  m.fillNextTokenBitmask(mask, 0);
  const w1 = performance.now();
  const cpu = process.cpuUsage(c0);
  const wallUs = (w1 - w0) * 1000;
  totalMasks++;
  walls.push(wallUs);
  starts.push(w0);
  lastDfaStates = mi.cg.dfa.stateCount;
  dfaStatesBuiltInMasks += lastDfaStates - b.dfa;
  if (wallUs > thresholdUs) {
    const walk = mi.cg.lexerWalk(lex, provider.trie, words);
    all.push({
      subset,
      file,
      token: k,
      after: text.slice(-40),
      startMs: w0,
      wallUs: Math.round(wallUs),
      cpuUs: cpu.user + cpu.system,
      firstOfSchema: k === 0,
      newWalks: s.computed - b.walks,
      splitWalks: s.split - b.split,
      walkNodes: s.nodesVisited - b.nodes,
      walkUs: Math.round((s.computeMs - b.walkMs) * 1000),
      lexemeAutomataBuilt: lexemeBuildStats.built - b.lexBuilt,
      lexemeBuildUs: Math.round((lexemeBuildStats.ms - b.lexMs) * 1000),
      dfaStatesBuilt: mi.cg.dfa.stateCount - b.dfa,
      parserItems: mi.parser.work - b.work,
      deepNodes: walk.deepNodes.length,
      // (versions before round 9 kept the nodes themselves)
      boundaryNodes: walk.boundaryCount ?? (walk as { boundaryNodes?: ArrayLike<number> }).boundaryNodes?.length ?? 0,
      gcUs: 0,
      restUs: 0,
      lexState: mi.cg.dfa.canonicalState(lex, 65, 1e9).key.slice(0, 100),
      category: '',
    });
  }
}
// gc entries are delivered asynchronously: let the observer catch up before matching them to masks
await new Promise((r) => setTimeout(r, 200));

/** the named part that took longest, or what the rest of the mask was spent on */
function categorize(r: MaskRecord): string {
  const parts: Array<[string, number]> = [
    [r.splitWalks > 0 ? 'new lexer walk, split at the quote' : r.walkNodes > 100_000 ? 'new lexer walk, whole trie (> 100k nodes)' : 'new lexer walk, < 100k nodes', r.walkUs],
    ['lexeme automata built', r.lexemeBuildUs],
    ['GC pause inside the mask', r.gcUs],
    [r.deepNodes > 0 ? 'rest: deep nodes walked exactly' : r.dfaStatesBuilt > 0 ? 'rest: lexer-DFA states built (+ parser)' : r.parserItems > 0 ? 'rest: parser items only' : 'rest: nothing named (JIT / waiting for a core)', r.restUs],
  ];
  parts.sort((a, b) => b[1] - a[1]);
  return (r.firstOfSchema ? 'first mask of a schema: ' : '') + parts[0]![0];
}

for (const r of all) {
  const end = r.startMs + r.wallUs / 1000;
  for (const g of gcs) {
    const overlap = Math.min(end, g.end) - Math.max(r.startMs, g.start);
    if (overlap > 0) r.gcUs += Math.round(overlap * 1000);
  }
  r.restUs = Math.max(0, r.wallUs - r.walkUs - r.lexemeBuildUs - r.gcUs);
  r.category = categorize(r);
}

function summarize(key: (r: MaskRecord) => string) {
  const by = new Map<string, { count: number; totalMs: number; maxMs: number; walkNodes: number; dfaStates: number; parserItems: number; gcMs: number; restMs: number }>();
  for (const r of all) {
    const k = key(r);
    const e = by.get(k) ?? { count: 0, totalMs: 0, maxMs: 0, walkNodes: 0, dfaStates: 0, parserItems: 0, gcMs: 0, restMs: 0 };
    e.count++;
    e.totalMs += r.wallUs / 1000;
    e.maxMs = Math.max(e.maxMs, r.wallUs / 1000);
    e.walkNodes += r.walkNodes;
    e.dfaStates += r.dfaStatesBuilt;
    e.parserItems += r.parserItems;
    e.gcMs += r.gcUs / 1000;
    e.restMs += r.restUs / 1000;
    by.set(k, e);
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  return [...by]
    .sort((a, b) => b[1].totalMs - a[1].totalMs)
    .map(([category, e]) => ({ category, ...e, totalMs: round(e.totalMs), maxMs: round(e.maxMs), gcMs: round(e.gcMs), restMs: round(e.restMs) }));
}

function percentiles(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 10) / 10;
  return { p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: q(1) };
}

/** GC pauses by kind from the first mask to the last, and how many of all cold masks (and of the slow ones) overlap one */
function gcSummary() {
  const byKind: Record<string, { count: number; totalMs: number; maxMs: number }> = {};
  for (const g of gcs) {
    // from the first mask on (the fixture's and the examples' preparation before it are not the engine's)
    if (g.end < starts[0]!) continue;
    const e = (byKind[g.kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
    e.count++;
    e.totalMs += g.end - g.start;
    e.maxMs = Math.max(e.maxMs, g.end - g.start);
  }
  for (const e of Object.values(byKind)) {
    e.totalMs = Math.round(e.totalMs * 10) / 10;
    e.maxMs = Math.round(e.maxMs * 100) / 100;
  }
  let masksOverlapping = 0;
  let slowOverlapping = 0;
  let gcMsInMasks = 0;
  for (let i = 0; i < starts.length; i++) {
    const end = starts[i]! + walls[i]! / 1000;
    let overlap = 0;
    for (const g of gcs) overlap += Math.max(0, Math.min(end, g.end) - Math.max(starts[i]!, g.start));
    if (overlap > 0) {
      masksOverlapping++;
      gcMsInMasks += overlap;
      if (walls[i]! > thresholdUs) slowOverlapping++;
    }
  }
  return { byKind, masksOverlapping, slowMasksOverlapping: slowOverlapping, gcMsInMasks: Math.round(gcMsInMasks * 10) / 10 };
}
const gc = gcSummary();

// run with --expose-gc to measure memory after a full collection (live data, not garbage not collected yet)
profiler?.post('Profiler.stop', (err, r) => {
  if (err) throw err;
  writeFileSync(profileFile!, JSON.stringify(r.profile));
});
(globalThis as { gc?: () => void }).gc?.();
const byCategory = summarize((r) => r.category);
const byLexState = summarize((r) => (r.newWalks > 0 ? 'walk ' : 'no walk ') + r.lexState.slice(0, 60)).slice(0, 25);
const result = {
  node: process.version,
  loadavgAtStart: loadStart,
  loadavgAtEnd: readFileSync('/proc/loadavg', 'utf8').trim(),
  thresholdUs,
  masks: totalMasks,
  allMasksMs: Math.round(walls.reduce((a, x) => a + x, 0) / 100) / 10,
  wallUs: percentiles(walls),
  slow: all.length,
  slowTotalMs: Math.round(all.reduce((a, r) => a + r.wallUs, 0) / 1000),
  dfaStatesBuiltInMasks,
  /** the V8 flags of the run (e.g. --max-semi-space-size) */
  execArgv: process.execArgv,
  gc,
  /** the last grammar's lexer DFA at the end (since round 5 one DFA shared by every grammar of the process) */
  dfaStatesAtEnd: lastDfaStates,
  /** process.memoryUsage() at the end, MiB (after a full collection when run with --expose-gc): cached masks are kept in arrayBuffers */
  memoryMiB: Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1048576)])),
  byCategory,
  byLexState,
  slowMasks: all.map(({ startMs: _s, ...r }) => r),
};
console.log(`${all.length} of ${totalMasks} cold masks above ${thresholdUs} µs (load ${loadStart} -> ${result.loadavgAtEnd}); p50 ${result.wallUs.p50} µs, p99 ${result.wallUs.p99} µs; ${dfaStatesBuiltInMasks} lexer-DFA states built in masks; memory ${JSON.stringify(result.memoryMiB)} MiB`);
console.log(`GC: ${JSON.stringify(gc)}`);
console.table(byCategory.map(({ category, count, totalMs, maxMs, gcMs, restMs }) => ({ category, count, totalMs, maxMs, gcMs, restMs })));
console.table(byLexState.map(({ category, count, totalMs, walkNodes, dfaStates, parserItems }) => ({ state: category, count, totalMs, walkNodes, dfaStates, parserItems })));
if (outFile) writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
