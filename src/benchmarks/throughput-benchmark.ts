// `serval bench throughput`: vLLM's offline throughput benchmark. Every request is handed to the in-process engine
// at once (the scheduler batches them as it can); as in vLLM, sampling is temperature 1 / top_p 1 with ignore_eos
// so each request produces exactly its expected output length, and tokens are counted from the engine's outputs.
import type { ServingEngine } from '../engine/serving-engine.js';
import type { RequestOutput, SamplingParams } from '../engine/types.js';
import type { SampleRequest } from './datasets/sample-request.js';

export interface ThroughputOptions {
  /** JSON schema every request is constrained to (cpe's, or --guided-json) */
  schema: object | null;
  /** vLLM always ignores EOS here; false lets requests stop early (then tokens are still counted exactly) */
  ignoreEos: boolean;
  seed: number;
}

export interface ThroughputResult {
  elapsed_time: number;
  num_requests: number;
  total_num_tokens: number;
  total_prompt_tokens: number;
  total_output_tokens: number;
  requests_per_second: number;
  tokens_per_second: number;
  output_tokens_per_second: number;
}

export async function runThroughputBenchmark(
  engine: ServingEngine,
  samples: readonly SampleRequest[],
  opts: ThroughputOptions,
  onFinished?: (outputTokens: number) => void,
): Promise<ThroughputResult> {
  const start = performance.now();
  const finals = await Promise.all(
    samples.map(async (s, i) => {
      const params: SamplingParams = { n: 1, temperature: 1.0, topP: 1.0, ignoreEos: opts.ignoreEos, maxTokens: s.expectedOutputLen, seed: opts.seed + i };
      if (opts.schema) params.structured = { kind: 'json', schema: opts.schema };
      let last: RequestOutput | null = null;
      for await (const out of engine.generate(s.prompt, params, `bench-throughput-${i}`)) last = out;
      if (!last?.finished) throw new Error(`request ${i} ended without a finished output`);
      onFinished?.(outputTokens(last));
      return last;
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const promptTokens = finals.reduce((a, f) => a + f.promptTokenIds.length, 0);
  const outTokens = finals.reduce((a, f) => a + outputTokens(f), 0);
  const total = promptTokens + outTokens;
  return {
    elapsed_time: elapsed,
    num_requests: samples.length,
    total_num_tokens: total,
    total_prompt_tokens: promptTokens,
    total_output_tokens: outTokens,
    requests_per_second: samples.length / elapsed,
    tokens_per_second: total / elapsed,
    output_tokens_per_second: outTokens / elapsed,
  };
}

const outputTokens = (r: RequestOutput): number => r.outputs.reduce((a, o) => a + o.tokenIds.length, 0);

/** vLLM's summary lines */
export function formatThroughput(r: ThroughputResult): string {
  return [
    `Throughput: ${r.requests_per_second.toFixed(2)} requests/s, ${r.tokens_per_second.toFixed(2)} total tokens/s, ${r.output_tokens_per_second.toFixed(2)} output tokens/s`,
    `Total num prompt tokens:  ${r.total_prompt_tokens}`,
    `Total num output tokens:  ${r.total_output_tokens}`,
  ].join('\n');
}
