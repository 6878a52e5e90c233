// The cold masks of cold-mask-breakdown.ts's schemas and outputs, with a line per slow mask, for reading next to
// V8's own trace of what it optimizes and throws away: run with --trace-opt --trace-deopt and the lines `SLOWMASK
// <index> <µs> <file> <token>` fall between V8's, so a run of slow masks can be matched to the deoptimization that
// started it (a "code dependencies" cascade throws away the whole mask path at once; the masks after it run
// unoptimized until V8 compiles them again). `MASKPHASE` marks the first mask.
// Usage: node --expose-gc --trace-opt --trace-deopt --import tsx bench/structured/cold-mask-jit-trace.ts [schemasPerSubset=10] [thresholdUs=250] > trace.txt
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { coldPositions } from './cold-positions.js';

const perSubset = Number(process.argv[2] ?? 10);
const thresholdUs = Number(process.argv[3] ?? 250);
const q = qwen();
const provider = createGrammarProvider(q.vocab);
const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
let n = 0;
let slow = 0;
let started = false;
for (const { matcher: m, file, token } of coldPositions(provider, q, perSubset)) {
  if (!started) console.log('MASKPHASE');
  started = true;
  const t = performance.now();
  m.fillNextTokenBitmask(mask, 0);
  const us = (performance.now() - t) * 1000;
  if (us > thresholdUs) {
    console.log(`SLOWMASK ${n} ${Math.round(us)} ${file} ${token}`);
    slow++;
  }
  n++;
}
console.log(`MASKS ${n} SLOW ${slow}`);
