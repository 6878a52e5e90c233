// Engine stress on the CUDA backend (issue 6, "Stress"): many concurrent greedy requests with random prompt and
// output lengths, shared prefixes, aborts mid-stream and before the first token, on a KV cache small enough to force
// preemption; then every request again alone (one at a time) on the same engine. Checks: no errors, no KV blocks
// held afterwards, every finished output equal to its alone run, every aborted output a prefix of it.
// bf16 GEMMs round differently at different batch sizes, so a greedy token may flip where the top-1/top-2 logprob gap
// is tiny; such a divergence is reported with the alone run's gap at that position instead of being hidden.
import { AsyncEngine } from '../../src/engine/async-engine.js';
import type { RequestOutput, SamplingParams } from '../../src/engine/types.js';
import type { EngineStats } from '../../src/engine/serving-engine.js';
import { loadModelConfig } from '../../src/loader/model-config.js';
import { SeededRandom } from '../../src/benchmarks/rng.js';
import type { ModelConfig, WeightDtype } from '../../src/loader/model-config-types.js';
import type { Backend } from '../../src/runner/batch.js';
import { createSmallKvCudaBackend } from './small-kv-cuda-backend.js';

export interface StressOptions {
  modelDir: string;
  tokenizerDir: string;
  numRequests: number;
  numBlocks: number;
  blockSize: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  maxPromptLen: number;
  maxOutputLen: number;
  seed: number;
  /** the default CUDA backend's weights type (default bfloat16; float32 makes every row's arithmetic batch-independent
   *  up to GEMM tiling, so outputs can be held to equality) */
  dtype?: WeightDtype;
  /** the backend under test; default the CUDA backend with exactly numBlocks KV blocks */
  makeBackend?: (config: ModelConfig) => Backend | Promise<Backend>;
}

interface PlannedRequest {
  id: string;
  promptTokenIds: number[];
  maxTokens: number;
  /** abort after this many output tokens were seen; 0 = abort by id shortly after submission; null = run to the end */
  abortAfter: number | null;
}

export interface Divergence {
  id: string;
  position: number;
  batched: number;
  alone: number;
  /** alone run's top-1 minus top-2 logprob at the divergence */
  aloneGap: number | null;
}

export interface StressReport {
  device: string;
  numRequests: number;
  numBlocks: number;
  blockSize: number;
  maxNumSeqs: number;
  errors: string[];
  finished: number;
  aborted: number;
  abortedBeforeOutput: number;
  exactMatches: number;
  abortedPrefixMatches: number;
  divergences: Divergence[];
  statsAfterBatched: EngineStats;
  statsAfterAlone: EngineStats;
  batchedSeconds: number;
  aloneSeconds: number;
  totalOutputTokensBatched: number;
}

function planRequests(o: StressOptions, vocab: number): PlannedRequest[] {
  const rng = new SeededRandom(o.seed);
  const shared = Array.from({ length: 64 }, () => rng.int(0, vocab));
  return Array.from({ length: o.numRequests }, (_, i) => {
    const len = rng.int(1, o.maxPromptLen + 1);
    // a third of the prompts start with a common prefix, so prefix caching takes part
    const head = rng.next() < 1 / 3 ? shared.slice(0, Math.min(len, shared.length)) : [];
    const promptTokenIds = [...head, ...Array.from({ length: len - head.length }, () => rng.int(0, vocab))];
    const maxTokens = rng.int(1, o.maxOutputLen + 1);
    const u = rng.next();
    const abortAfter = u < 0.05 ? 0 : u < 0.15 ? rng.int(1, maxTokens + 1) : null;
    return { id: `stress-${i}`, promptTokenIds, maxTokens, abortAfter };
  });
}

const greedy = (maxTokens: number, logprobs?: number): SamplingParams => ({
  n: 1,
  temperature: 0,
  maxTokens,
  ignoreEos: true,
  ...(logprobs !== undefined ? { logprobs } : {}),
});

async function collect(engine: AsyncEngine, r: PlannedRequest, params: SamplingParams, abortAfter: number | null): Promise<RequestOutput | null> {
  let last: RequestOutput | null = null;
  if (abortAfter === 0) setTimeout(() => engine.abort(r.id), 5);
  for await (const out of engine.generate({ promptTokenIds: r.promptTokenIds }, params, r.id)) {
    last = out;
    // breaking out of the iterator aborts the request (as a client going away does)
    if (abortAfter !== null && abortAfter > 0 && out.outputs[0]!.tokenIds.length >= abortAfter) break;
  }
  return last;
}

export async function runEngineStress(o: StressOptions): Promise<StressReport> {
  const config = loadModelConfig(o.modelDir);
  const backend = (await o.makeBackend?.(config)) ?? createSmallKvCudaBackend({
    modelDir: o.modelDir,
    config,
    numBlocks: o.numBlocks,
    blockSize: o.blockSize,
    maxNumTokens: o.maxNumBatchedTokens,
    seed: o.seed,
    ...(o.dtype ? { dtype: o.dtype } : {}),
  });
  const engine = await AsyncEngine.create({
    model: o.modelDir,
    tokenizer: o.tokenizerDir,
    device: backend.info.kind === 'cuda' ? 'cuda' : 'ts',
    blockSize: o.blockSize,
    maxNumSeqs: o.maxNumSeqs,
    maxNumBatchedTokens: o.maxNumBatchedTokens,
    maxModelLen: o.maxPromptLen + o.maxOutputLen,
    enablePrefixCaching: true,
    seed: o.seed,
    backend,
  });
  const errors: string[] = [];
  const plan = planRequests(o, Math.min(config.vocabSize, 151669));
  try {
    let t0 = performance.now();
    const batched = await Promise.all(
      plan.map((r) =>
        collect(engine, r, greedy(r.maxTokens), r.abortAfter).catch((e: Error) => {
          errors.push(`batched ${r.id}: ${e.message}`);
          return null;
        }),
      ),
    );
    const batchedSeconds = (performance.now() - t0) / 1000;
    const statsAfterBatched = engine.stats();

    t0 = performance.now();
    const alone: Array<RequestOutput | null> = [];
    for (const r of plan) {
      alone.push(
        await collect(engine, { ...r, id: `${r.id}-alone` }, greedy(r.maxTokens, 2), null).catch((e: Error) => {
          errors.push(`alone ${r.id}: ${e.message}`);
          return null;
        }),
      );
    }
    const aloneSeconds = (performance.now() - t0) / 1000;
    const statsAfterAlone = engine.stats();

    let finished = 0;
    let aborted = 0;
    let abortedBeforeOutput = 0;
    let exactMatches = 0;
    let abortedPrefixMatches = 0;
    let totalOutputTokensBatched = 0;
    const divergences: Divergence[] = [];
    plan.forEach((r, i) => {
      const b = batched[i]?.outputs[0];
      const a = alone[i]?.outputs[0];
      if (!a) return;
      const bt = b?.tokenIds ?? [];
      totalOutputTokensBatched += bt.length;
      const isAbort = r.abortAfter !== null;
      if (isAbort) {
        aborted++;
        if (bt.length === 0) abortedBeforeOutput++;
      } else {
        finished++;
        if (bt.length !== r.maxTokens) errors.push(`${r.id}: ${bt.length} output tokens, expected ${r.maxTokens}`);
      }
      const at = a.tokenIds;
      const n = Math.min(bt.length, at.length);
      let k = 0;
      while (k < n && bt[k] === at[k]) k++;
      if (k === bt.length && (isAbort || bt.length === at.length)) {
        if (isAbort) abortedPrefixMatches++;
        else exactMatches++;
        return;
      }
      const top = a.logprobs?.[k]?.top;
      const aloneGap = top && top.length >= 2 ? top[0]!.logprob - top[1]!.logprob : null;
      divergences.push({ id: r.id, position: k, batched: bt[k] ?? -1, alone: at[k] ?? -1, aloneGap });
    });
    return {
      device: backend.info.device,
      numRequests: o.numRequests,
      numBlocks: o.numBlocks,
      blockSize: o.blockSize,
      maxNumSeqs: o.maxNumSeqs,
      errors,
      finished,
      aborted,
      abortedBeforeOutput,
      exactMatches,
      abortedPrefixMatches,
      divergences,
      statsAfterBatched,
      statsAfterAlone,
      batchedSeconds,
      aloneSeconds,
      totalOutputTokensBatched,
    };
  } finally {
    // shutdown closes the backend too
    await engine.shutdown();
  }
}
