// Our first-request masks right after web-xgrammar compiled the same schema in this process, against the same masks
// without that compile (sp_100 by default, after the 40 schemas mask-bench runs before it, tokens 18-40), and the
// cost of allocating a mask-sized typed array after each (not before the masks: it would move them). Round 20: in mask-bench's interleaved order, on the GPU
// host, sp_100's masks after web-xgrammar's multi-second compile of it took 450-3,600 µs (67-131 µs alone).
// Usage: node --expose-gc [--trace-gc] --import tsx bench/structured/after-peer-compile.ts [schemaFile=Snowplow/sp_100_Normalized.json]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { webXgrammarCompiler } from './web-xgrammar.js';
import { exampleInstance } from './instance-generator.js';
import { JSONSCHEMABENCH_DIR, benchSubsets, preparedExamples } from './bench-schemas.js';

const file = process.argv[2] ?? 'Snowplow/sp_100_Normalized.json';
const q = qwen();
const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
const target = JSON.parse(readFileSync(join(JSONSCHEMABENCH_DIR, file), 'utf8'));

function run(provider: ReturnType<typeof createGrammarProvider>, schema: unknown, label: string | null): void {
  const ids = q.encode(JSON.stringify(exampleInstance(schema), null, 2));
  const m = provider.create({ kind: 'json', schema });
  const out: string[] = [];
  ids.forEach((id, k) => {
    const t = performance.now();
    m.fillNextTokenBitmask(mask, 0);
    const us = (performance.now() - t) * 1000;
    if (label && k >= 18 && k <= 40) out.push(`${k}:${us.toFixed(0)}`);
    m.acceptToken(id);
  });
  if (label) console.log(`${label}: ${out.join(' ')}`);
}

/** µs per allocation of 200 typed arrays of one mask's size (kept until the end, as cached masks are) */
function allocation(): string {
  const keep: Int32Array[] = [];
  const t = performance.now();
  for (let i = 0; i < 200; i++) keep.push(new Int32Array(mask.length));
  return `${(((performance.now() - t) * 1000) / keep.length).toFixed(1)} µs per ${((mask.length * 4) / 1024).toFixed(0)} KiB typed array`;
}

const compiler = await webXgrammarCompiler(q);
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
    const compiled = await compiler.compileJSONSchema(JSON.stringify(target), true, undefined, undefined, false);
    const m = process.memoryUsage();
    console.log(`web-xgrammar compiled ${file} in ${(performance.now() - t).toFixed(0)} ms (rss ${(m.rss / 2 ** 20).toFixed(0)} MiB, array buffers ${(m.arrayBuffers / 2 ** 20).toFixed(0)} MiB)`);
    run(provider, target, `${file} first request (after ${n} schemas), right after web-xgrammar's compile`);
    compiled.dispose();
  } else {
    run(provider, target, `${file} first request (after ${n} schemas), no web-xgrammar compile`);
  }
  console.log(`allocation after the masks: ${allocation()}`);
}
