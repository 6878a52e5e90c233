// Host cost of the engine per step without any GPU work: a model that returns ready logits (vocab of the Qwen2.5-7B
// shape) behind the same host sampler the cuda backend uses, driven by the throughput harness's offline batch.
// Shows how much of a GPU run's step time is JavaScript (sampler, grammar masks, scheduler, outputs).
// Usage: node --import tsx bench/gpu/host-step-probe.ts [requests=256] [outputLen=32]   (add --cpu-prof to profile)
import { AsyncEngine } from '../../src/engine/async-engine.js';
import type { StepBatch } from '../../src/runner/batch.js';
import { createTsBackend } from '../../src/runner/ts-backend.js';
import { sampleRandomDataset } from '../../src/benchmarks/datasets/random-dataset.js';
import { benchTokenizerFrom } from '../../src/benchmarks/bench-tokenizer.js';
import { CPE_SCHEMA } from '../../src/benchmarks/datasets/cpe-dataset.js';
import { SeededRandom } from '../../src/benchmarks/rng.js';
import { qwenTokenizerDir } from '../../src/models/make-test-model.js';
import { QWEN25_SHAPES } from '../native/model-shapes.js';
import { writeDummyModelDir } from './dummy-model-dir.js';
import { runOfflineBatch } from './offline-batch.js';

const [n = 256, outputLen = 32] = process.argv.slice(2).map(Number);
const shape = 'Qwen2.5-7B';
const vocabSize = QWEN25_SHAPES[shape]!.vocabSize;
// the GPU machine has no node_modules: bench/gpu/device-run.sh points SERVAL_TOKENIZER_DIR at the copied tokenizer
const dir = writeDummyModelDir(shape, '/tmp/serval-probe-7B', process.env['SERVAL_TOKENIZER_DIR'] ?? qwenTokenizerDir());
// fixed pseudo-random logits, one block reused for every step (no compute): only host work remains
const maxRows = 256;
const table = new Float32Array(maxRows * vocabSize);
for (let i = 0; i < table.length; i++) table[i] = ((i * 2654435761) % 1000003) / 100000;
let steps = 0;
const model = {
  vocabSize,
  forward(batch: StepBatch) {
    steps++;
    return { sampleLogits: table.subarray(0, batch.sampleRows.length * vocabSize), promptLogits: Array.from(batch.sampleRows, () => null) };
  },
};
const numBlocks = 100000;
const backend = createTsBackend(model, { numBlocks, blockSize: 16, seed: 0, kind: 'cuda', device: 'host probe (no GPU work)' });
const engine = await AsyncEngine.create({ model: dir, maxNumSeqs: 256, maxNumBatchedTokens: 8192, backend });
engine.prepareStructuredOutput(); // as `serve` does: the structured-output engine is not built inside a timed step
const tok = benchTokenizerFrom(engine.tokenizer!, shape);
for (const guided of [false, true]) {
  const samples = sampleRandomDataset({ numPrompts: n, inputLen: 212, outputLen, prefixLen: 300, rangeRatio: 0 }, tok, new SeededRandom(guided ? 2 : 1));
  steps = 0;
  const r = await runOfflineBatch(engine, samples, { schema: guided ? CPE_SCHEMA : null, temperature: 0, seed: 1 });
  console.log(`${guided ? 'guided' : 'plain '}: ${n} requests x ${outputLen} tokens, ${steps} steps, ${((1000 * r.elapsed_time) / steps).toFixed(1)} ms/step host, ${r.output_tokens_per_second.toFixed(0)} output tok/s`);
}
await engine.shutdown();
