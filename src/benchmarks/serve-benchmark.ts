// `serval bench serve`: vLLM's online serving benchmark against any OpenAI-compatible server. Samples a dataset,
// checks the endpoint with one request, sends the requests on a Poisson/gamma schedule (optionally capped at
// --max-concurrency in flight), then prints vLLM's result table and returns (and optionally saves) vLLM's JSON.
import { writeFileSync } from 'node:fs';
import { createThroughputProgress } from '../batch/progress-bar.js';
import { arrivalTimes } from './arrivals.js';
import { bundledQwen3TokenizerDir, defaultTokenizerDir, loadBenchTokenizer } from './bench-tokenizer.js';
import { datasetSchema, sampleDataset, type DatasetOptions } from './datasets/load-dataset.js';
import { calculateMetrics, type GoodputSlos, type MetricName } from './metrics.js';
import { formatResultTable, metricFields } from './report.js';
import { endpointKind, sendStreamingRequest, type RequestFuncInput, type RequestFuncOutput } from './request-func.js';
import { SeededRandom } from './rng.js';
import { Semaphore } from './semaphore.js';
import { structuredOutputBody, type StructuredField } from './structured-body.js';

export interface ServeBenchmarkOptions extends DatasetOptions {
  baseUrl: string;
  endpoint: string;
  /** undefined = the first model the server lists at /v1/models */
  model?: string;
  tokenizer?: string;
  requestRate: number;
  burstiness: number;
  maxConcurrency: number | null;
  ignoreEos: boolean;
  /** JSON schema every request is constrained to (from --guided-json FILE); the cpe dataset brings its own */
  guidedJson?: object;
  structuredOutputField: StructuredField;
  /** false = send no schema even for cpe / --guided-json (to measure what the constraint costs); default true */
  structuredOutput?: boolean;
  seed: number;
  percentileMetrics: MetricName[];
  metricPercentiles: number[];
  /** --goodput SLOs in ms; a request is good when it meets all of them */
  goodput?: GoodputSlos;
  saveResult?: string;
  progress: boolean;
}

export type BenchmarkResult = Record<string, unknown>;

export async function runServeBenchmark(opts: ServeBenchmarkOptions, log: (line: string) => void = console.log): Promise<BenchmarkResult> {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const apiUrl = baseUrl + opts.endpoint;
  const kind = endpointKind(opts.endpoint);
  const served = opts.model ? { id: opts.model, root: opts.model } : await firstServedModel(baseUrl);
  const tokenizerDir = defaultTokenizerDir(opts.tokenizer, served.root);
  // the bundled Qwen3 tokenizer is only right for Qwen models: say which one counts the prompts
  const bundled = tokenizerDir === bundledQwen3TokenizerDir();
  log(`Tokenizer: ${bundled ? `the bundled Qwen3 tokenizer (pass --tokenizer DIR if ${served.root} is not a Qwen model)` : tokenizerDir}`);
  const tok = loadBenchTokenizer(tokenizerDir);
  const rng = new SeededRandom(opts.seed);
  const samples = sampleDataset(opts, tok, rng);
  const schema = opts.structuredOutput === false ? null : (opts.guidedJson ?? datasetSchema(opts.dataset));
  const extraBody = schema ? structuredOutputBody(schema, opts.structuredOutputField) : undefined;
  const inputs: RequestFuncInput[] = samples.map((s) => ({
    apiUrl, kind, model: served.id, prompt: s.prompt, promptLen: s.promptLen, outputLen: s.expectedOutputLen, ignoreEos: opts.ignoreEos, extraBody,
  }));

  log('Starting initial single prompt test run...');
  const probe = await sendStreamingRequest(inputs[0]!);
  if (!probe.success) throw new Error(`Initial test run failed - Please make sure benchmark arguments are correctly specified. Error: ${probe.error}`);
  log('Initial test run completed. Starting main benchmark run...');
  log(`Traffic request rate: ${opts.requestRate === Infinity ? 'inf' : opts.requestRate}`);
  log(`Burstiness factor: ${opts.burstiness} (${opts.burstiness === 1 ? 'Poisson process' : 'Gamma distribution'})`);
  log(`Maximum request concurrency: ${opts.maxConcurrency ?? 'None'}`);

  const schedule = arrivalTimes(inputs.length, opts.requestRate, opts.burstiness, new SeededRandom(opts.seed + 1));
  const limit = new Semaphore(opts.maxConcurrency ?? Infinity);
  const bar = opts.progress ? createThroughputProgress(inputs.length, 'bench') : null;
  const start = performance.now();
  const tasks: Array<Promise<RequestFuncOutput>> = [];
  for (let i = 0; i < inputs.length; i++) {
    const wait = start + schedule[i]! * 1000 - performance.now();
    if (wait > 0) await sleep(wait);
    tasks.push(
      limit.run(async () => {
        const out = await sendStreamingRequest(inputs[i]!);
        bar?.tick(out.outputTokens);
        return out;
      }),
    );
  }
  const outputs = await Promise.all(tasks);
  const durationS = (performance.now() - start) / 1000;
  bar?.stop();

  const failures = outputs.filter((o) => !o.success);
  if (failures.length > 0) {
    log('Failed requests during benchmark run detected (capping to 10):');
    failures.slice(0, 10).forEach((o, i) => log(`Error ${i}: ${o.error}`));
  }
  const metrics = calculateMetrics(outputs, durationS, opts.metricPercentiles, (text) => tok.encode(text).length, opts.goodput ?? null);
  log(formatResultTable(metrics, { maxConcurrency: opts.maxConcurrency, requestRate: opts.requestRate, durationS, percentileMetrics: opts.percentileMetrics }));

  const result: BenchmarkResult = {
    date: timestamp(new Date()),
    endpoint_type: kind === 'chat' ? 'openai-chat' : 'openai',
    backend: kind === 'chat' ? 'openai-chat' : 'openai',
    base_url: baseUrl,
    endpoint: opts.endpoint,
    model_id: served.id,
    tokenizer_id: tokenizerDir,
    dataset_name: opts.dataset,
    num_prompts: inputs.length,
    request_rate: opts.requestRate === Infinity ? 'inf' : opts.requestRate,
    burstiness: opts.burstiness,
    max_concurrency: opts.maxConcurrency,
    ignore_eos: opts.ignoreEos,
    structured_output: schema !== null,
    seed: opts.seed,
    duration: durationS,
    completed: metrics.completed,
    failed: metrics.failed,
    total_input_tokens: metrics.totalInput,
    total_output_tokens: metrics.totalOutput,
    request_throughput: metrics.requestThroughput,
    request_goodput: metrics.requestGoodput,
    output_throughput: metrics.outputThroughput,
    total_token_throughput: metrics.totalTokenThroughput,
    max_output_tokens_per_s: metrics.maxOutputTokensPerS,
    max_concurrent_requests: metrics.maxConcurrentRequests,
    ...metricFields(metrics, opts.percentileMetrics),
    input_lens: outputs.map((o) => o.promptLen),
    output_lens: metrics.actualOutputLens,
    ttfts: outputs.map((o) => o.ttft),
    itls: outputs.map((o) => o.itl),
    latencies: outputs.map((o) => o.latency),
    generated_texts: outputs.map((o) => o.generatedText),
    errors: outputs.map((o) => o.error),
  };
  if (opts.saveResult) writeFileSync(opts.saveResult, JSON.stringify(result, null, 2) + '\n');
  return result;
}

/** vLLM's fallback when --model is not given: the first entry of GET /v1/models (its `root` names the weights) */
async function firstServedModel(baseUrl: string): Promise<{ id: string; root: string }> {
  const url = `${baseUrl}/v1/models`;
  let body: { data?: Array<{ id?: string; root?: string }> };
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = (await res.json()) as typeof body;
  } catch (e) {
    throw new Error(`--model not given and the model list at ${url} could not be read: ${(e as Error).message}`);
  }
  const first = body.data?.[0];
  if (!first?.id) throw new Error(`no models listed at ${url}; pass --model`);
  return { id: first.id, root: first.root ?? first.id };
}

function timestamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
