// What the CUDA backend's 16-bit activation stores cost on the issue's accuracy runs, emulated on the CPU: cuda-check's
// comparison (test/native/logprob-compare.ts, compareWithReference: the scripted steps, then the 24-token greedy run
// of the ts reference teacher-forced into the model under test), the model under test being the reference math with
// values rounded to bf16 (or fp16) exactly where the CUDA code stores them, per kind of step (cuda-stores.ts: e.g. the
// greedy run's 8-token prompt runs the cuBLASLt path, each later token the GEMV path). One line per precision plan of
// cuda-stores.ts and model: max top-5 logprob difference and rows failing the issue's criteria (> 5e-2, or a flipped
// argmax past a 1e-2 gap) on the greedy run (its prompt row, its worst decode row) and on the scripted steps. The plan
// "exact" (nothing rounded) must give 0: it checks the emulation against ReferenceModel itself.
// Usage: node --import tsx bench/native/bf16-emulation.ts [--vocab 151936,4096] [--plans a,b] [--storage bf16|fp16]
//   [--kv-storage bf16|fp16]   (a what-if: the K/V cache in another 16-bit type than the other stores)
import { parseArgs } from 'node:util';
import { loadModelConfig } from '../../src/loader/model-config.js';
import type { ModelConfig } from '../../src/loader/model-config-types.js';
import { TEST_ARCHS } from '../../src/models/test-model-config.js';
import type { StepBatch } from '../../src/runner/batch.js';
import type { ForwardOutput } from '../../src/runner/ts/ts-model.js';
import { ReferenceModel } from '../../src/runner/ts/ts-model.js';
import { loadTsWeights, type TsWeights } from '../../src/runner/ts/ts-weights.js';
import { compareWithReference, failures, maxTop5Diff, type LogprobComparison } from '../../test/native/logprob-compare.js';
import { makeNativeTestModel, NATIVE_TEST_BLOCK_SIZE, NATIVE_TEST_NUM_BLOCKS } from '../../test/native/native-test-helpers.js';
import { PLANS, storesFor, type StorePlan } from './cuda-stores.js';
import { EmulatedSequence, NO_STORES, type Storage16 } from './emulated-forward.js';

const { values: args } = parseArgs({
  options: {
    vocab: { type: 'string', default: '151936,4096' },
    plans: { type: 'string' },
    storage: { type: 'string', default: 'bf16' },
    'kv-storage': { type: 'string' },
  },
});
const storage16 = (name: string, v: string): Storage16 =>
  v === 'bf16' || v === 'fp16' ? v : fail(`--${name} must be bf16 or fp16, got ${v}`);
const storage = storage16('storage', args.storage);
const kvStorage = storage16('kv-storage', args['kv-storage'] ?? storage);
const EXACT: StorePlan = { name: 'exact', what: 'nothing rounded (checks the emulation against the ts reference)', cublaslt: NO_STORES, gemv: NO_STORES, lmHeadGemvF32: true };
const allPlans = [EXACT, ...PLANS];
const plans = args.plans
  ? args.plans.split(',').map((n) => allPlans.find((p) => p.name === n) ?? fail(`unknown plan ${n} (known: ${allPlans.map((p) => p.name).join(', ')})`))
  : allPlans;
const vocabs = args.vocab.split(',').map(Number);
for (const v of vocabs) if (!Number.isInteger(v) || v < 256) throw new Error(`--vocab: ${v} is not a vocabulary size >= 256`);

function fail(msg: string): never {
  throw new Error(msg);
}

/** the emulation behind the StepBatch interface compareWithReference drives: one EmulatedSequence per sequence
 *  (known by its first KV block), each row run with the stores of the whole step (storesFor) */
class EmulatedCudaModel {
  private readonly seqs = new Map<number, EmulatedSequence>();
  constructor(private readonly c: ModelConfig, private readonly w: TsWeights, private readonly plan: StorePlan) {}
  forward(b: StepBatch): ForwardOutput {
    const V = this.c.vocabSize;
    const rowTokens = (r: number) => b.queryStartLoc[r + 1]! - b.queryStartLoc[r]!;
    const sampled = new Set(b.sampleRows);
    const promptRow = (r: number) => b.promptLogitsRows?.[r] === 1;
    let R = sampled.size;
    for (let r = 0; r < b.numRows; r++) if (promptRow(r)) R += rowTokens(r);
    const last = new Map<number, Float32Array>();
    const promptLogits: Array<Float32Array | null> = [];
    for (let r = 0; r < b.numRows; r++) {
      const first = b.queryStartLoc[r]!, n = rowTokens(r);
      const key = b.blockTables[r * b.maxBlocksPerRow]!;
      let seq = this.seqs.get(key);
      if (!seq) this.seqs.set(key, (seq = new EmulatedSequence(this.c, this.w, 64, storage, kvStorage)));
      if (b.positions[first] !== seq.position) throw new Error(`row ${r} starts at position ${b.positions[first]}, its sequence holds ${seq.position}`);
      const logitTokens = promptRow(r) ? Array.from({ length: n }, (_, i) => i) : sampled.has(r) ? [n - 1] : [];
      const out = seq.step(Array.from(b.tokenIds.subarray(first, first + n)), storesFor(this.plan, b.numTokens, R, n), logitTokens);
      promptLogits.push(promptRow(r) ? out : null);
      if (sampled.has(r)) last.set(r, out.subarray(out.length - V));
    }
    const sampleLogits = new Float32Array(b.sampleRows.length * V);
    b.sampleRows.forEach((r, i) => sampleLogits.set(last.get(r)!, i * V));
    return { sampleLogits, promptLogits };
  }
}

for (const plan of plans) console.log(`# plan ${plan.name}: ${plan.what}`);
for (const vocab of vocabs) {
  for (const arch of TEST_ARCHS) {
    const dir = makeNativeTestModel(arch, vocab);
    const config = loadModelConfig(dir);
    const weights = loadTsWeights(dir, config, 'auto');
    const opts = { numBlocks: NATIVE_TEST_NUM_BLOCKS, blockSize: NATIVE_TEST_BLOCK_SIZE };
    const ref = new ReferenceModel(config, weights, opts.numBlocks, opts.blockSize);
    for (const plan of plans) {
      const { scripted, greedy } = compareWithReference(ref, new EmulatedCudaModel(config, weights, plan), opts);
      const decodeMax = Math.max(...greedy.slice(1).map((r) => r.maxTop5Diff));
      const argmaxDiffs = (rows: LogprobComparison[]) => rows.filter((r) => r.refTop1 !== r.gotTop1).length;
      console.log(
        `${storage}${kvStorage === storage ? '' : ` (K/V ${kvStorage})`} vocab ${vocab} ${arch.padEnd(7)} ${plan.name.padEnd(24)} greedy-24: max ${maxTop5Diff(greedy).toFixed(4)} ` +
          `fail ${failures(greedy).length} (prompt row ${greedy[0]!.maxTop5Diff.toFixed(4)}, worst decode row ${decodeMax.toFixed(4)}, ` +
          `argmax diffs ${argmaxDiffs(greedy)}) | scripted ${scripted.length} rows: max ${maxTop5Diff(scripted).toFixed(4)} ` +
          `fail ${failures(scripted).length} (argmax diffs ${argmaxDiffs(scripted)}, fail at 0.15/0.05: ${failures(scripted, 0.15, 0.05).length})`,
      );
    }
  }
}
