// Our first-request masks right after web-xgrammar compiled the same schema in this process, against the same masks
// without that compile (sp_100 by default, after the 40 schemas mask-bench runs before it, tokens 18-40), and the
// cost of allocating a mask-sized typed array after each (not before the masks: it would move them). Round 20: in mask-bench's interleaved order, on the GPU
// host, sp_100's masks after web-xgrammar's multi-second compile of it took 450-3,600 µs (67-131 µs alone).
// Usage: node --expose-gc [--trace-gc] --import tsx bench/structured/after-peer-compile.ts [schemaFile=Snowplow/sp_100_Normalized.json]
// Variants of the second pass (env): PEER_SWEEP_MS=N sweeps 300 MiB for N ms instead of the compile (evicts every
// cache level as a long compile would); PEER_DISPOSE_FIRST=1 frees web-xgrammar's grammar before our masks;
// PEER_IDLE_MS=N waits N ms between the compile and our masks. MASK_BENCH_DETACH_FIRST=1: detach-first.ts.
// MASK_BENCH_PEER=same-thread runs web-xgrammar in this
// thread (default: its own; web-xgrammar-peer.ts). Round 21: the burst is V8's ArrayBufferDetaching protector falling
// in the shared thread when web-xgrammar's WASM memory grows (--trace-protector-invalidation shows it there); under
// tsx it did not show because tsx itself detaches a buffer at start-up, before our code is optimized.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { peerPlaceFromEnv, webXgrammarPeer } from './web-xgrammar-peer.js';
import { detachFirstFromEnv } from './detach-first.js';
import { exampleInstance } from './instance-generator.js';
import { JSONSCHEMABENCH_DIR, benchSubsets, preparedExamples } from './bench-schemas.js';

const file = process.argv[2] ?? 'Snowplow/sp_100_Normalized.json';
if (detachFirstFromEnv()) console.log('a buffer was detached before our providers (MASK_BENCH_DETACH_FIRST)');
const q = qwen();
const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
const target = JSON.parse(readFileSync(join(JSONSCHEMABENCH_DIR, file), 'utf8'));

function run(provider: ReturnType<typeof createGrammarProvider>, schema: unknown, label: string | null): void {
  const ids = q.encode(JSON.stringify(exampleInstance(schema), null, 2));
  const m = provider.create({ kind: 'json', schema });
  const out: string[] = [];
  /** tokens 20-32: sp_100's string positions under maxLength 128 (the masks of round 20's burst) */
  const band: number[] = [];
  ids.forEach((id, k) => {
    const t = performance.now();
    m.fillNextTokenBitmask(mask, 0);
    const us = (performance.now() - t) * 1000;
    if (label && k >= 18 && k <= 40) out.push(`${k}:${us.toFixed(0)}`);
    if (k >= 20 && k <= 32) band.push(us);
    m.acceptToken(id);
  });
  if (!label) return;
  band.sort((a, b) => a - b);
  const median = band.length > 0 ? band[band.length >> 1]!.toFixed(0) : '-';
  console.log(`${label}: ${out.join(' ')}; tokens 20-32: median ${median} µs`);
}

/** µs per allocation of 200 typed arrays of one mask's size (kept until the end, as cached masks are) */
function allocation(): string {
  const keep: Int32Array[] = [];
  const t = performance.now();
  for (let i = 0; i < 200; i++) keep.push(new Int32Array(mask.length));
  return `${(((performance.now() - t) * 1000) / keep.length).toFixed(1)} µs per ${((mask.length * 4) / 1024).toFixed(0)} KiB typed array`;
}

const peer = await webXgrammarPeer(peerPlaceFromEnv(), q);
const sweepMs = Number(process.env.PEER_SWEEP_MS ?? 0);
const disposeFirst = process.env.PEER_DISPOSE_FIRST === '1';
const idleMs = Number(process.env.PEER_IDLE_MS ?? 0);

/** `ms` of reading and writing a 300 MiB array, in place of the compile */
function sweep(ms: number): void {
  const big = new Float64Array((300 * 2 ** 20) / 8);
  const t = performance.now();
  let x = 0;
  while (performance.now() - t < ms) for (let i = 0; i < big.length; i += 8) x += big[i]! + (big[i] = i);
  if (!Number.isFinite(x)) throw new Error('unreachable: keeps the sweep from being optimized away');
}
// the 10 first examples of each subset before Snowplow (mask-bench's, but for the few our compiler refuses)
const examples = preparedExamples(10);
const before: unknown[] = [];
for (const subset of benchSubsets()) {
  if (subset === 'Snowplow') break;
  const it = examples.get(subset)![Symbol.iterator]();
  for (let k = 0; k < 10; k++) {
    const e = it.next();
    if (e.done) break;
    before.push(e.value.schema);
  }
}
(globalThis as { gc?: () => void }).gc?.();
for (const peerFirst of [false, true]) {
  const provider = createGrammarProvider(q.vocab);
  let n = 0;
  for (const schema of before) {
    try {
      run(provider, schema, null);
      n++;
    } catch {
      // refused by our compiler
    }
  }
  if (peerFirst) {
    const t = performance.now();
    if (sweepMs > 0) sweep(sweepMs);
    else if ((await peer.compile(target)) === null) throw new Error(`web-xgrammar refused ${file}`);
    const m = process.memoryUsage();
    const what = sweepMs > 0 ? `swept 300 MiB` : `web-xgrammar (${peer.place}) compiled ${file}`;
    console.log(`${what} in ${(performance.now() - t).toFixed(0)} ms (rss ${(m.rss / 2 ** 20).toFixed(0)} MiB, array buffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)} MiB)`);
    if (disposeFirst) await peer.dispose();
    if (idleMs > 0) await new Promise((r) => setTimeout(r, idleMs));
    run(provider, target, `${file} first request (after ${n} schemas), right after ${sweepMs > 0 ? 'the sweep' : "web-xgrammar's compile"}${disposeFirst ? ', its grammar freed' : ''}${idleMs > 0 ? `, ${idleMs} ms idle` : ''}`);
    if (!disposeFirst) await peer.dispose();
  } else {
    run(provider, target, `${file} first request (after ${n} schemas), no web-xgrammar compile`);
  }
  console.log(`allocation after the masks: ${allocation()}`);
}
await peer.close();
