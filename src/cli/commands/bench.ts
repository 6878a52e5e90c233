// `serval bench serve` (online, against any OpenAI-compatible server, vLLM's metrics) and `serval bench throughput`
// (offline, the engine in-process).
import { Command, Option } from 'commander';
import {
  datasetFlagOptions, datasetOptions, goodputPair, metricList, percentileList, positiveInt, positiveNumber, readSchemaFile, requestRate, type DatasetFlags,
} from '../../benchmarks/bench-flags.js';
import type { GoodputSlos, MetricName } from '../../benchmarks/metrics.js';
import { runServeBenchmark } from '../../benchmarks/serve-benchmark.js';
import { writeFileSync } from 'node:fs';
import { createStderrLogger } from '../../batch/batch-logger.js';
import { engineFlagOptions, resolveEngineFlagsOrExit } from '../../batch/engine-flags.js';
import { createThroughputProgress } from '../../batch/progress-bar.js';
import { benchTokenizerFrom } from '../../benchmarks/bench-tokenizer.js';
import { datasetSchema, sampleDataset } from '../../benchmarks/datasets/load-dataset.js';
import { SeededRandom } from '../../benchmarks/rng.js';
import { formatThroughput, runThroughputBenchmark } from '../../benchmarks/throughput-benchmark.js';
import { loadServerEngine } from '../../server/load-engine.js';
import { STRUCTURED_FIELDS, type StructuredField } from '../../benchmarks/structured-body.js';
import { activeCudaStepProfile } from '../../native/cuda-step-profile.js';

interface ServeBenchFlags extends DatasetFlags {
  baseUrl?: string;
  host: string;
  port: number;
  endpoint: string;
  model?: string;
  tokenizer?: string;
  datasetName?: string;
  requestRate: number;
  burstiness: number;
  maxConcurrency?: number;
  ignoreEos: boolean;
  guidedJson?: string;
  structuredOutputField: StructuredField;
  structuredOutput: boolean;
  percentileMetrics: MetricName[];
  metricPercentiles: number[];
  goodput?: GoodputSlos;
  saveResult?: string | true;
  disableTqdm: boolean;
}

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('benchmarks with vLLM\'s metric definitions');
  const serve = bench
    .command('serve')
    .description('online serving benchmark against an OpenAI-compatible server (as `vllm bench serve`)')
    .addOption(new Option('--base-url <url>', 'server base URL (default http://HOST:PORT)'))
    .addOption(new Option('--host <host>', 'server host when --base-url is not given').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'server port when --base-url is not given').argParser(positiveInt).default(8000))
    .addOption(new Option('--endpoint <path>', '/v1/completions or /v1/chat/completions').default('/v1/completions'))
    .addOption(new Option('--model <name>', 'model name to send (default: the first one at /v1/models)'))
    .addOption(new Option('--tokenizer <dir>', 'folder with tokenizer.json (default: the served model folder if local, else the Qwen3 tokenizer)'));
  for (const o of datasetFlagOptions(1000)) serve.addOption(o);
  serve
    .addOption(new Option('--request-rate <r>', 'requests per second, or inf to send all at once').argParser(requestRate).default(Infinity, 'inf'))
    .addOption(new Option('--burstiness <k>', 'gamma shape of the arrival gaps (1 = Poisson)').argParser(positiveNumber).default(1))
    .addOption(new Option('--max-concurrency <n>', 'most requests in flight').argParser(positiveInt))
    .addOption(new Option('--ignore-eos', 'send ignore_eos so every request produces its full output length').default(false))
    .addOption(new Option('--guided-json <file>', 'JSON schema file every request is constrained to (cpe brings its own)'))
    .addOption(new Option('--structured-output-field <field>', 'how the schema is sent').choices(STRUCTURED_FIELDS).default('response_format'))
    .addOption(new Option('--no-structured-output', 'send no schema, even for cpe (measures what the constraint costs)'))
    .addOption(new Option('--percentile-metrics <list>', 'metrics to report percentiles for (ttft,tpot,itl,e2el)').argParser(metricList).default(['ttft', 'tpot', 'itl'], 'ttft,tpot,itl'))
    .addOption(new Option('--metric-percentiles <list>', 'percentiles to report, e.g. 25,50,99').argParser(percentileList).default([99], '99'))
    .addOption(new Option('--goodput <slo...>', 'SLOs in ms for request goodput, e.g. --goodput ttft:500 tpot:50 (keys ttft, tpot, e2el)').argParser(goodputPair))
    .addOption(new Option('--save-result [file]', 'write the result JSON (to FILE, or a vLLM-style name)'))
    .addOption(new Option('--disable-tqdm', 'no progress bar').default(false))
    .action(async (flags: ServeBenchFlags) => {
      const baseUrl = flags.baseUrl ?? `http://${flags.host}:${flags.port}`;
      const ds = datasetOptions({ ...flags, dataset: flags.datasetName ?? flags.dataset });
      const maxConcurrency = flags.maxConcurrency ?? null;
      const saveResult =
        flags.saveResult === true
          ? `openai-${flags.requestRate === Infinity ? 'inf' : flags.requestRate}qps${maxConcurrency ? `-concurrency${maxConcurrency}` : ''}-${(flags.model ?? 'model').split('/').pop()}-${Date.now()}.json`
          : flags.saveResult;
      const opts = {
        ...ds,
        baseUrl,
        endpoint: flags.endpoint,
        requestRate: flags.requestRate,
        burstiness: flags.burstiness,
        maxConcurrency,
        ignoreEos: flags.ignoreEos,
        structuredOutputField: flags.structuredOutputField,
        structuredOutput: flags.structuredOutput,
        seed: flags.seed,
        percentileMetrics: flags.percentileMetrics,
        metricPercentiles: flags.metricPercentiles,
        progress: !flags.disableTqdm,
        ...(flags.model !== undefined ? { model: flags.model } : {}),
        ...(flags.tokenizer !== undefined ? { tokenizer: flags.tokenizer } : {}),
        ...(flags.guidedJson !== undefined ? { guidedJson: readSchemaFile(flags.guidedJson) } : {}),
        ...(flags.goodput !== undefined ? { goodput: flags.goodput } : {}),
        ...(saveResult !== undefined ? { saveResult } : {}),
      };
      try {
        await runServeBenchmark(opts);
      } catch (e) {
        serve.error(`error: ${e instanceof Error ? e.message : String(e)}`, { exitCode: 1 });
      }
      if (saveResult) console.log(`Result saved to ${saveResult}`);
    });
  registerBenchThroughput(bench);
}

interface ThroughputFlags extends DatasetFlags, Record<string, unknown> {
  model?: string;
  datasetName?: string;
  guidedJson?: string;
  structuredOutput: boolean;
  ignoreEos: boolean;
  outputJson?: string;
  disableProgress: boolean;
}

function registerBenchThroughput(bench: Command): void {
  const cmd: Command = bench
    .command('throughput')
    .description('offline throughput: every request handed to the in-process engine at once (as `vllm bench throughput`)');
  // the engine's --seed also seeds the dataset
  for (const o of datasetFlagOptions(1000)) if (o.long !== '--seed') cmd.addOption(o);
  cmd
    .addOption(new Option('--guided-json <file>', 'JSON schema file every request is constrained to (cpe brings its own)'))
    .addOption(new Option('--no-structured-output', 'send no schema, even for cpe (measures what the constraint costs)'))
    .addOption(new Option('--no-ignore-eos', 'let requests stop at EOS (vLLM always ignores it here)'))
    .addOption(new Option('--output-json <file>', 'write the result JSON'))
    .addOption(new Option('--disable-progress', 'no progress bar').default(false));
  for (const o of engineFlagOptions()) cmd.addOption(o);
  cmd.action(async (flags: ThroughputFlags) => {
    const config = resolveEngineFlagsOrExit(cmd, flags.model, flags as unknown as Record<string, unknown>);
    const ds = datasetOptions({ ...flags, dataset: flags.datasetName ?? flags.dataset });
    const schema = !flags.structuredOutput ? null : flags.guidedJson !== undefined ? readSchemaFile(flags.guidedJson) : datasetSchema(ds.dataset);
    const log = createStderrLogger('bench');
    let engine;
    try {
      engine = await loadServerEngine(config, log);
    } catch (e) {
      // as `serve`: a model that cannot load is the user's input problem, said without a stack trace
      log.fatal(`cannot start: ${(e as Error).message}`);
      process.exitCode = 1;
      return;
    }
    try {
      const samples = sampleDataset(ds, benchTokenizerFrom(engine.tokenizer, engine.args.model ?? 'the model'), new SeededRandom(flags.seed));
      const bar = flags.disableProgress ? null : createThroughputProgress(samples.length, 'bench');
      activeCudaStepProfile.current?.reset();
      const r = await runThroughputBenchmark(engine, samples, { schema, ignoreEos: flags.ignoreEos, seed: flags.seed }, (n) => bar?.tick(n));
      bar?.stop();
      console.log(formatThroughput(r));
      // where the time went: the cuda backend's per-step timers (SERVAL_CUDA_PROFILE=1) and the grammar masks' counters
      const stepProfile = activeCudaStepProfile.current?.summary();
      const maskStats = schema ? engine.maskStats?.() : undefined;
      if (stepProfile) console.error(`step profile (ms; per kind: means): ${JSON.stringify(stepProfile)}`);
      if (maskStats) console.error(`grammar masks: ${JSON.stringify(maskStats)}`);
      if (flags.outputJson) {
        const saved = {
          ...r, model: engine.args.model, dataset_name: ds.dataset, structured_output: schema !== null, engine_args: engine.args,
          ...(stepProfile ? { step_profile: stepProfile } : {}), ...(maskStats ? { mask_stats: maskStats } : {}),
        };
        writeFileSync(flags.outputJson, JSON.stringify(saved, null, 2) + '\n');
        console.log(`Result saved to ${flags.outputJson}`);
      }
    } finally {
      await engine.shutdown();
    }
  });
}
