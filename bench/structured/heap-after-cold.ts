// The engine thread's heap (after full collections) once the Qwen3 tokenizer is loaded, once a grammar provider is
// made, and after the first requests of mask-bench's schemas: what every major collection marks. Round 20 used it
// to weigh packing the vocabulary's bytes into one buffer.
// Usage: node --expose-gc --import tsx bench/structured/heap-after-cold.ts [schemasPerSubset=10]
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { coldPositions } from './cold-positions.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('heap-after-cold.ts needs node --expose-gc');
const mib = (n: number) => (n / 2 ** 20).toFixed(1);
const at = (label: string) => {
  gc();
  gc();
  const m = process.memoryUsage();
  console.log(`${label}: heap used ${mib(m.heapUsed)} MiB, external ${mib(m.external)} MiB, array buffers ${mib(m.arrayBuffers)} MiB`);
};
at('start');
const q = qwen();
at('tokenizer and vocabulary');
const provider = createGrammarProvider(q.vocab);
at('grammar provider');
const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
let masks = 0;
for (const { matcher } of coldPositions(provider, q, Number(process.argv[2] ?? 10))) {
  matcher.fillNextTokenBitmask(mask, 0);
  masks++;
}
at(`after ${masks} first-request masks`);
