// What a grammar provider's start-up costs (the engine thread's and each mask worker's): building the token trie
// and the quote split only, then with the warm-up sample (warm-up.ts), then with the format pre-walk as well
// (format-prewalk.ts, the default). Configurations alternate, `rounds` times, each provider in a fresh state of the
// process as far as possible (the first round also pays V8's compiler); memory is measured after a full collection
// with the provider still alive.
// Usage: node --expose-gc --import tsx bench/structured/provider-start.ts [rounds=3] [outFile]
import { readFileSync, writeFileSync } from 'node:fs';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider, type GrammarProviderOptions } from '../../src/structured/provider.js';

const rounds = Number(process.argv[2] ?? 3);
const outFile = process.argv[3];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const q = qwen();
const configs: Array<[string, GrammarProviderOptions]> = [
  ['trie only', { warmUp: false }],
  ['warm-up sample', { prewalkFormats: false }],
  ['warm-up + format pre-walk (default)', {}],
];
const results: Array<{ config: string; round: number; ms: number; walks: number; heapMiB: number; arrayBuffersMiB: number }> = [];
const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
for (let round = 1; round <= rounds; round++) {
  for (const [config, opts] of configs) {
    // (twice: a collected provider's array buffers go back a collection later)
    gc();
    gc();
    const before = process.memoryUsage();
    const t = performance.now();
    const p = createGrammarProvider(q.vocab, opts);
    const ms = performance.now() - t;
    gc();
    gc();
    const after = process.memoryUsage();
    results.push({ config, round, ms: Math.round(ms), walks: p.walks.size, heapMiB: mib(after.heapUsed - before.heapUsed), arrayBuffersMiB: mib(after.arrayBuffers - before.arrayBuffers) });
    console.log(JSON.stringify(results[results.length - 1]));
  }
}
const out = { node: process.version, machine: readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1], loadavgAtEnd: readFileSync('/proc/loadavg', 'utf8').trim(), results };
if (outFile) writeFileSync(outFile, JSON.stringify(out, null, 2) + '\n');
