// The step bench's first-request workload (pickWorkload) through one provider: every mask's time and a hash of its
// words, so that two versions of the engine can be compared for exactness (the hash files must be equal) and for
// the masks' total time (alternate the versions' runs).
// Usage: node --import tsx bench/structured/first-request-mask-hashes.ts [schemasPerSubset=10] [hashFile] [outFile]
import { writeFileSync } from 'node:fs';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { pickWorkload } from './step-masks.js';
import { forEachFirstRequestMask } from './first-request-masks.js';
import { runFacts, writeResult } from './run-facts.js';

const q = qwen();
const work = pickWorkload(q, Number(process.argv[2] ?? 10));
const provider = createGrammarProvider(q.vocab);
const out = new Int32Array(Math.ceil(q.vocab.size / 32));
const lines: string[] = [];
let sumMs = 0;
forEachFirstRequestMask(work, provider, out, (fill, _m, item) => {
  sumMs += fill() / 1000;
  let h1 = 0x811c9dc5;
  let h2 = 7;
  for (let w = 0; w < out.length; w++) {
    h1 = Math.imul(h1 ^ out[w]!, 0x01000193);
    h2 = (Math.imul(h2, 31) + out[w]!) | 0;
  }
  lines.push(`${item.name} ${h1} ${h2}`);
});
if (process.argv[3]) writeFileSync(process.argv[3], lines.join('\n') + '\n');
writeResult(process.argv[4], { ...runFacts(), schemas: work.length, masks: lines.length, sumMs: +sumMs.toFixed(1) });
