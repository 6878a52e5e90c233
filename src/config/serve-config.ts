// Turns the parsed `serval serve` flags into engine arguments, server options and log settings.
import { existsSync } from 'node:fs';
import type { EngineArgs, DtypeArg } from './engine-args.js';
import { checkKvCacheDtype } from './kv-cache-dtype.js';
import { parseGuidedBackend } from './guided-backend.js';
import type { ServerOptions, StructuredDefaults } from '../server/server-options.js';
import type { LogLevelName } from './serve-flags.js';

export interface ServeFlags {
  model?: string;
  host?: string;
  port: number;
  apiKey?: string[];
  servedModelName?: string[];
  allowedOrigins: string[];
  allowedMethods: string[];
  allowedHeaders: string[];
  allowCredentials: boolean;
  rootPath?: string;
  sslKeyfile?: string;
  sslCertfile?: string;
  uvicornLogLevel: LogLevelName;
  disableUvicornAccessLog: boolean;
  logLevel?: LogLevelName;
  enableLogRequests: boolean;
  maxLogLen?: number;
  disableLogStats: boolean;
  enableAutoToolChoice: boolean;
  toolCallParser?: string;
  maxRequestBodyBytes: number;
  tokenizer?: string;
  revision?: string;
  downloadDir?: string;
  loadFormat: EngineArgs['loadFormat'];
  dtype: string;
  kvCacheDtype: string;
  maxModelLen?: number | null;
  trustRemoteCode: boolean;
  chatTemplate?: string;
  generationConfig: string;
  seed: number;
  device: EngineArgs['device'];
  tensorParallelSize: number;
  pipelineParallelSize: number;
  gpuMemoryUtilization: number;
  maxNumSeqs: number;
  maxNumBatchedTokens?: number | null;
  blockSize: number;
  enablePrefixCaching: boolean;
  schedulingPolicy: EngineArgs['schedulingPolicy'];
  maxLogprobs: number;
  enforceEager: boolean;
  numKvBlocks?: number;
  guidedDecodingBackend: string;
  structuredOutputsConfig?: Record<string, unknown>;
  structuredOutputWorkers?: number;
  structuredOutputMaskGraceMs: number;
  tokenizerPoolSize?: number;
}

export interface LogSettings {
  level: LogLevelName;
  httpLevel: LogLevelName;
  disableLogStats: boolean;
}

export interface ServeConfig {
  engineArgs: Partial<EngineArgs>;
  server: ServerOptions;
  log: LogSettings;
  /** things worth a warning at start-up (accepted flags that change nothing) */
  notes: string[];
}

export class ServeConfigError extends Error {}

const DTYPE_ALIASES: Record<string, DtypeArg> = { half: 'float16', float: 'float32' };

const STRUCTURED_CONFIG_KEYS = ['backend', 'disable_fallback', 'disable_any_whitespace', 'disable_additional_properties', 'whitespace_pattern', 'reasoning_parser', 'enable_in_reasoning'];

/** --structured-outputs-config's settings, else those of --guided-decoding-backend's options (guided-backend.ts) */
function structuredDefaults(cfg: Record<string, unknown> | undefined, backendFlag: string, notes: string[]): StructuredDefaults {
  let backend;
  try {
    backend = parseGuidedBackend(backendFlag);
  } catch (e) {
    throw new ServeConfigError(`--guided-decoding-backend ${backendFlag}: ${(e as Error).message}`);
  }
  const fromBackend: StructuredDefaults = {};
  if (backend.disableAnyWhitespace) fromBackend.disableAnyWhitespace = true;
  if (backend.disableAdditionalProperties) fromBackend.disableAdditionalProperties = true;
  if (!cfg) return fromBackend;
  for (const k of Object.keys(cfg)) {
    if (!STRUCTURED_CONFIG_KEYS.includes(k)) {
      throw new ServeConfigError(`--structured-outputs-config: unknown key '${k}' (known: ${STRUCTURED_CONFIG_KEYS.join(', ')})`);
    }
  }
  const bool = (k: string): boolean | undefined => {
    const v = cfg[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') throw new ServeConfigError(`--structured-outputs-config: '${k}' must be true or false`);
    return v;
  };
  if (cfg.reasoning_parser !== undefined && cfg.reasoning_parser !== '') {
    throw new ServeConfigError('--structured-outputs-config: reasoning_parser is not supported by serval');
  }
  if (cfg.backend !== undefined) notes.push(`structured-output backend '${String(cfg.backend)}' requested: serval's own structured-output engine serves every backend name`);
  const out: StructuredDefaults = { ...fromBackend };
  const daw = bool('disable_any_whitespace');
  if (daw !== undefined) out.disableAnyWhitespace = daw;
  const dap = bool('disable_additional_properties');
  if (dap !== undefined) out.disableAdditionalProperties = dap;
  bool('disable_fallback');
  bool('enable_in_reasoning');
  if (cfg.whitespace_pattern !== undefined) {
    if (typeof cfg.whitespace_pattern !== 'string') throw new ServeConfigError('--structured-outputs-config: whitespace_pattern must be a string');
    out.whitespacePattern = cfg.whitespace_pattern;
  }
  return out;
}

/** API keys: flags, else SERVAL_API_KEY, else VLLM_API_KEY (each env may hold one key). */
export function resolveApiKeys(flagKeys: string[] | undefined, env: NodeJS.ProcessEnv): string[] {
  if (flagKeys && flagKeys.length > 0) return flagKeys;
  const fromEnv = env.SERVAL_API_KEY || env.VLLM_API_KEY;
  return fromEnv ? [fromEnv] : [];
}

export function resolveServeConfig(positionalModel: string | undefined, flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const notes: string[] = [];
  if (positionalModel && flags.model && positionalModel !== flags.model) {
    throw new ServeConfigError(`two different models given: '${positionalModel}' (positional) and '${flags.model}' (--model)`);
  }
  const model = positionalModel ?? flags.model;
  if (flags.pipelineParallelSize !== 1) {
    throw new ServeConfigError(`--pipeline-parallel-size ${flags.pipelineParallelSize}: serval supports only 1 (use --tensor-parallel-size)`);
  }
  if ((flags.sslKeyfile === undefined) !== (flags.sslCertfile === undefined)) {
    throw new ServeConfigError('TLS needs both --ssl-keyfile and --ssl-certfile');
  }
  for (const [flag, file] of [['--ssl-keyfile', flags.sslKeyfile], ['--ssl-certfile', flags.sslCertfile]] as const) {
    if (file !== undefined && !existsSync(file)) throw new ServeConfigError(`${flag} ${file}: no such file`);
  }
  if (flags.chatTemplate !== undefined && /[\\/]/.test(flags.chatTemplate) && !/[{}\n]/.test(flags.chatTemplate) && !existsSync(flags.chatTemplate)) {
    throw new ServeConfigError(`--chat-template ${flags.chatTemplate}: no such file`);
  }
  if (flags.trustRemoteCode) notes.push('--trust-remote-code accepted: serval runs no remote code (supported architectures are built in)');
  if (flags.guidedDecodingBackend !== 'auto') {
    notes.push(`--guided-decoding-backend ${flags.guidedDecodingBackend} accepted: serval's own structured-output engine serves every backend name`);
  }
  const dtype = (DTYPE_ALIASES[flags.dtype] ?? flags.dtype) as DtypeArg;
  let kvCacheDtype;
  try {
    kvCacheDtype = checkKvCacheDtype(flags.kvCacheDtype);
  } catch (e) {
    throw new ServeConfigError((e as Error).message);
  }

  const engineArgs: Partial<EngineArgs> = {
    dtype,
    kvCacheDtype,
    maxModelLen: flags.maxModelLen ?? null,
    gpuMemoryUtilization: flags.gpuMemoryUtilization,
    tensorParallelSize: flags.tensorParallelSize,
    maxNumSeqs: flags.maxNumSeqs,
    maxNumBatchedTokens: flags.maxNumBatchedTokens ?? null,
    blockSize: flags.blockSize,
    enablePrefixCaching: flags.enablePrefixCaching,
    schedulingPolicy: flags.schedulingPolicy,
    seed: flags.seed,
    device: flags.device,
    loadFormat: flags.loadFormat,
    generationConfig: flags.generationConfig,
    maxLogprobs: flags.maxLogprobs,
    enforceEager: flags.enforceEager,
    structuredOutputMaskGraceMs: flags.structuredOutputMaskGraceMs,
  };
  if (model !== undefined) engineArgs.model = model;
  if (flags.tokenizer !== undefined) engineArgs.tokenizer = flags.tokenizer;
  if (flags.revision !== undefined) engineArgs.revision = flags.revision;
  if (flags.downloadDir !== undefined) engineArgs.downloadDir = flags.downloadDir;
  if (flags.chatTemplate !== undefined) engineArgs.chatTemplate = flags.chatTemplate;
  if (flags.numKvBlocks !== undefined) engineArgs.numKvBlocks = flags.numKvBlocks;
  if (flags.structuredOutputWorkers !== undefined) engineArgs.structuredOutputWorkers = flags.structuredOutputWorkers;
  if (flags.tokenizerPoolSize !== undefined) engineArgs.tokenizerPoolSize = flags.tokenizerPoolSize;

  const servedModelNames = flags.servedModelName && flags.servedModelName.length > 0 ? flags.servedModelName : [model ?? 'serval-demo'];
  const server: ServerOptions = {
    port: flags.port,
    apiKeys: resolveApiKeys(flags.apiKey, env),
    servedModelNames,
    modelRoot: model ?? 'serval-demo',
    cors: { origins: flags.allowedOrigins, methods: flags.allowedMethods, headers: flags.allowedHeaders, credentials: flags.allowCredentials },
    rootPath: flags.rootPath ?? '',
    tls: flags.sslKeyfile && flags.sslCertfile ? { keyFile: flags.sslKeyfile, certFile: flags.sslCertfile } : null,
    enableLogRequests: flags.enableLogRequests,
    maxLogLen: flags.maxLogLen ?? null,
    accessLog: !flags.disableUvicornAccessLog,
    bodyLimit: flags.maxRequestBodyBytes,
    structuredDefaults: structuredDefaults(flags.structuredOutputsConfig, flags.guidedDecodingBackend, notes),
  };
  if (flags.host !== undefined) server.host = flags.host;
  const envLevel = env.VLLM_LOGGING_LEVEL?.toLowerCase();
  const level = flags.logLevel ?? (envLevel && isLogLevel(envLevel) ? envLevel : 'info');
  return { engineArgs, server, log: { level, httpLevel: flags.uvicornLogLevel, disableLogStats: flags.disableLogStats }, notes };
}

function isLogLevel(s: string): s is LogLevelName {
  return ['critical', 'error', 'warning', 'info', 'debug', 'trace'].includes(s);
}
