// The flags of `serval serve`, with vLLM's names, meanings and defaults. Values are validated here (a bad value
// is an error with a hint); turning them into engine/server settings is serve-config.ts's job.
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_ENGINE_ARGS } from './engine-args.js';
import { collect, fractionParser, guidedBackendParser, humanIntParser, intParser, jsonObjectParser, kvCacheDtypeParser, nonNegativeNumberParser, stringListParser } from './option-parsers.js';
import { ConfigFileError, expandConfigFile } from './config-file.js';

export const LOG_LEVELS = ['critical', 'error', 'warning', 'info', 'debug', 'trace'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** vLLM spellings commander cannot declare (multi-letter short flags) → their long names */
const FLAG_ALIASES: Record<string, string> = { '-tp': '--tensor-parallel-size', '-pp': '--pipeline-parallel-size' };

function normalizeAliases(args: string[]): string[] {
  return args.flatMap((a) => {
    const eq = a.indexOf('=');
    const head = eq >= 0 ? a.slice(0, eq) : a;
    const long = FLAG_ALIASES[head];
    if (!long) return [a];
    return eq >= 0 ? [`${long}${a.slice(eq)}`] : [long];
  });
}

/** commander Command that also understands `-tp` and expands `--config FILE` (YAML) into flags placed before the
 * command line's own, so that flags given on the command line win — vLLM's precedence. */
class ServeCommand extends Command {
  override parseOptions(argv: string[]) {
    let expanded: string[];
    try {
      expanded = expandConfigFile(normalizeAliases(argv), this.options);
    } catch (e) {
      if (e instanceof ConfigFileError) this.error(`error: ${e.message}`, { code: 'serval.configFile' });
      throw e;
    }
    return super.parseOptions(expanded);
  }
}

export function createServeCommand(): Command {
  const cmd = new ServeCommand('serve');
  const d = DEFAULT_ENGINE_ARGS;
  cmd
    .description('Start the OpenAI-compatible server (flags as `vllm serve`). With no MODEL it serves the built-in demo model.')
    .argument('[model]', 'HF model id or local directory (default: the built-in demo model, random weights)')
    .showSuggestionAfterError(true)
    .addOption(new Option('--model <model>', 'HF model id or local directory (same as the positional MODEL)'))
    .addOption(new Option('--config <file>', 'YAML file of flags (keys are flag names without --); command-line flags win'))
    // server
    .addOption(new Option('--host <host>', 'host name to bind (default: all interfaces)'))
    .addOption(new Option('--port <port>', 'port to listen on').argParser(intParser(0, '8000')).default(8000))
    .addOption(new Option('--api-key <key>', 'require this key as "Authorization: Bearer <key>" on /v1 routes; repeat for several (env SERVAL_API_KEY, then VLLM_API_KEY)').argParser(collect))
    .addOption(new Option('--served-model-name <names...>', 'model name(s) in the API; the first is reported in responses'))
    .addOption(new Option('--allowed-origins <list>', 'CORS allowed origins (JSON list)').argParser(stringListParser).default(['*']))
    .addOption(new Option('--allowed-methods <list>', 'CORS allowed methods (JSON list)').argParser(stringListParser).default(['*']))
    .addOption(new Option('--allowed-headers <list>', 'CORS allowed headers (JSON list)').argParser(stringListParser).default(['*']))
    .addOption(new Option('--allow-credentials', 'CORS: allow credentials').default(false))
    .addOption(new Option('--root-path <path>', 'path prefix when served behind a path-based proxy (used in the OpenAPI servers list)'))
    .addOption(new Option('--ssl-keyfile <file>', 'TLS private key (PEM)'))
    .addOption(new Option('--ssl-certfile <file>', 'TLS certificate (PEM)'))
    .addOption(new Option('--uvicorn-log-level <level>', 'level of the HTTP access log').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--disable-uvicorn-access-log', 'do not log one line per HTTP request').default(false))
    .addOption(new Option('--log-level <level>', 'level of serval\'s own log (env VLLM_LOGGING_LEVEL)').choices(LOG_LEVELS))
    .addOption(new Option('--enable-log-requests', 'log each request (prompt cut to --max-log-len)').default(false))
    .addOption(new Option('--disable-log-requests', 'accepted for compatibility (request logging is off unless --enable-log-requests)').hideHelp())
    .addOption(new Option('--max-log-len <n>', 'longest prompt (characters and token ids) printed in request logs').argParser(intParser(0, '100')))
    .addOption(new Option('--disable-log-stats', 'no periodic stats line').default(false))
    .addOption(new Option('--enable-auto-tool-choice', 'accepted for compatibility: tool_choice "auto" is always parsed (Hermes <tool_call> format)').default(false))
    .addOption(new Option('--tool-call-parser <name>', 'tool-call output format (serval parses hermes, which Qwen2.5/Qwen3 use)').choices(['hermes']))
    .addOption(new Option('--max-request-body-bytes <n>', 'largest accepted request body (413 above it)').argParser(intParser(1, '33554432')).default(32 * 1024 * 1024))
    // model
    .addOption(new Option('--tokenizer <name>', 'tokenizer HF id or directory (default: the model\'s)'))
    .addOption(new Option('--revision <rev>', 'model revision (branch, tag or commit)'))
    .addOption(new Option('--download-dir <dir>', 'where to download weights (default: the HF cache)'))
    .addOption(new Option('--load-format <format>', 'weight format').choices(['auto', 'safetensors', 'dummy']).default(d.loadFormat))
    .addOption(new Option('--dtype <dtype>', 'weight and activation dtype').choices(['auto', 'half', 'float16', 'bfloat16', 'float', 'float32']).default(d.dtype))
    .addOption(new Option('--kv-cache-dtype <dtype>', 'K/V cache dtype: auto (the model\'s dtype; float16 under bfloat16 weights on cuda: same bytes, 3 more mantissa bits), bfloat16, or float16').argParser(kvCacheDtypeParser).default(d.kvCacheDtype))
    .addOption(new Option('--max-model-len <len>', 'context length (prompt + output); accepts 10240, 10k (= 10000), 32K (= 32768); -1/auto = the model\'s').argParser(humanIntParser))
    .addOption(new Option('--trust-remote-code', 'accepted for compatibility; serval never runs remote code').default(false))
    .addOption(new Option('--chat-template <template>', 'chat template: a file path or the Jinja text itself'))
    .addOption(new Option('--generation-config <src>', '"auto" (the model\'s generation_config.json), "vllm" (ignore it) or a folder').default(d.generationConfig))
    .addOption(new Option('--seed <seed>', 'random seed').argParser(intParser(0, '0')).default(d.seed))
    // engine
    .addOption(new Option('--device <device>', 'backend: auto, cpu (native), cuda, or ts (reference)').choices(['auto', 'cpu', 'cuda', 'ts']).default(d.device))
    .addOption(new Option('--tensor-parallel-size <n>', 'number of GPUs to split the model over (-tp)').argParser(intParser(1, '1')).default(d.tensorParallelSize))
    .addOption(new Option('--pipeline-parallel-size <n>', 'pipeline stages (-pp); serval supports 1').argParser(intParser(1, '1')).default(1))
    .addOption(new Option('--gpu-memory-utilization <f>', 'fraction of GPU memory for weights, activations and KV cache').argParser(fractionParser('0.9')).default(d.gpuMemoryUtilization))
    .addOption(new Option('--max-num-seqs <n>', 'most sequences per step').argParser(intParser(1, '256')).default(d.maxNumSeqs))
    .addOption(new Option('--max-num-batched-tokens <n>', 'most tokens per step (accepts 8k, 8K)').argParser(humanIntParser))
    .addOption(new Option('--block-size <n>', 'KV cache block size in tokens (1, 8, 16, 32, 64 or 128)').argParser(blockSizeParser).default(d.blockSize))
    .addOption(new Option('--enable-prefix-caching', 'reuse KV blocks of shared prompt prefixes (default on)').default(d.enablePrefixCaching))
    .addOption(new Option('--no-enable-prefix-caching', 'turn prefix caching off'))
    .addOption(new Option('--scheduling-policy <policy>', 'fcfs or priority').choices(['fcfs', 'priority']).default(d.schedulingPolicy))
    .addOption(new Option('--max-logprobs <n>', 'most logprobs a request may ask for').argParser(intParser(0, '20')).default(d.maxLogprobs))
    .addOption(new Option('--enforce-eager', 'no CUDA graphs').default(d.enforceEager))
    .addOption(new Option('--tokenizer-pool-size <n>', 'worker threads encoding prompts (0 = on the engine thread; default min(8, cores - 1))').argParser(intParser(0, '4')))
    .addOption(new Option('--num-kv-blocks <n>', 'KV blocks for the cpu/ts backends (default: from a memory budget)').argParser(intParser(1, '2048')))
    // structured output
    .addOption(new Option('--guided-decoding-backend <name>', 'accepted for compatibility: every name uses serval\'s structured-output engine; options after a colon (vLLM\'s): disable-any-whitespace, no-additional-properties, no-fallback').argParser(guidedBackendParser).default('auto'))
    .addOption(new Option('--structured-output-workers <n>', 'worker threads computing cold grammar masks while the forward runs (0 = off: every mask on the engine thread; default min(4, cores - 1))').argParser(intParser(0, '4')))
    .addOption(new Option('--structured-output-mask-grace-ms <ms>', 'after a step\'s logits are ready, how long to wait for grammar masks still computing on the mask workers before deferring those requests by one step').argParser(nonNegativeNumberParser('1')).default(d.structuredOutputMaskGraceMs))
    .addOption(new Option('--structured-outputs-config <json>', 'structured-output settings as JSON, e.g. \'{"backend":"auto","disable_any_whitespace":true}\'').argParser(jsonObjectParser('{"backend":"auto"}')));
  return cmd;
}

const BLOCK_SIZES = ['1', '8', '16', '32', '64', '128'];
function blockSizeParser(v: string): number {
  if (!BLOCK_SIZES.includes(v.trim())) throw new InvalidArgumentError(`Allowed choices are ${BLOCK_SIZES.join(', ')}.`);
  return Number(v);
}
