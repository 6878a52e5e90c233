// `runThroughputBenchmark` with the sampling temperature as a parameter: vLLM's benchmark samples at temperature 1,
// and the GPU runs also measure greedy (argmax) steps. Everything else (all requests at once, ignore_eos, token counting from the
// engine's outputs, vLLM's metric names) is as in src/benchmarks/throughput-benchmark.ts, except that only final
// outputs are emitted (finalOnly), as vLLM's offline benchmark does through LLM.generate.
import type { ServingEngine } from '../../src/engine/serving-engine.js';
import type { RequestOutput, SamplingParams } from '../../src/engine/types.js';
import type { ThroughputResult } from '../../src/benchmarks/throughput-benchmark.js';
import type { SampleRequest } from '../../src/benchmarks/datasets/sample-request.js';

export interface OfflineBatchOptions {
  schema: object | null;
  temperature: number;
  seed: number;
}

export async function runOfflineBatch(engine: ServingEngine, samples: readonly SampleRequest[], o: OfflineBatchOptions): Promise<ThroughputResult> {
  const start = performance.now();
  const finals = await Promise.all(
    samples.map(async (s, i) => {
      const params: SamplingParams = { n: 1, temperature: o.temperature, topP: 1.0, ignoreEos: true, maxTokens: s.expectedOutputLen, seed: o.seed + i };
      if (o.schema) params.structured = { kind: 'json', schema: o.schema };
      let last: RequestOutput | null = null;
      for await (const out of engine.generate(s.prompt, params, `gpu-offline-${o.seed}-${i}`, { finalOnly: true })) last = out;
      if (!last?.finished) throw new Error(`request ${i} ended without a finished output`);
      return last;
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const promptTokens = finals.reduce((a, f) => a + f.promptTokenIds.length, 0);
  const outTokens = finals.reduce((a, f) => a + f.outputs.reduce((b, c) => b + c.tokenIds.length, 0), 0);
  return {
    elapsed_time: elapsed,
    num_requests: samples.length,
    total_num_tokens: promptTokens + outTokens,
    total_prompt_tokens: promptTokens,
    total_output_tokens: outTokens,
    requests_per_second: samples.length / elapsed,
    tokens_per_second: (promptTokens + outTokens) / elapsed,
    output_tokens_per_second: outTokens / elapsed,
  };
}
