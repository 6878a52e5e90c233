// Builds an engine from EngineArgs: resolve model → config → tokenizer → chat template → generation defaults →
// backend → EngineCore. Shared by AsyncEngine.create and LLM.create.
import { availableParallelism } from 'node:os';
import { DEFAULT_ENGINE_ARGS, type EngineArgs } from '../config/engine-args.js';
import { checkHostKvCacheDtype } from '../config/kv-cache-dtype.js';
import { resolveModelPathOffThread } from '../hub/resolve-off-thread.js';
import { ensureDemoModel } from '../models/demo-model.js';
import { loadModelConfig } from '../loader/model-config.js';
import { loadGenerationConfig } from '../loader/generation-config.js';
import type { ModelConfig } from '../loader/model-config-types.js';
import { loadTokenizer } from '../tokenizer/tokenizer.js';
import { createDetokenizer } from '../tokenizer/create-detokenizer.js';
import type { TextTokenizer } from '../tokenizer/types.js';
import { loadChatTemplate, type ChatTemplate } from '../chat/chat-template.js';
import type { Backend } from '../runner/batch.js';
import { loadTsModel } from '../runner/ts/ts-model.js';
import { PagedKvCache } from '../runner/ts/paged-kv-cache.js';
import { createTsBackend } from '../runner/ts-backend.js';
import type { GrammarProvider } from './grammar.js';
import { createGrammarProvider, loadTokenVocab, type StructuredGrammarProvider } from '../structured/index.js';
import { PooledGrammarProvider } from '../structured/workers/pooled-provider.js';
import { EngineCore } from './engine-core.js';
import type { GenerationDefaults } from './sampling-params.js';

export interface EngineFactoryExtras {
  /** a ready backend (tests, native backends): skips loading the ts model */
  backend?: Backend;
  /**
   * structured-output provider, or a function building one once the model is resolved (it needs the tokenizer
   * folder and the logits width); default: serval's structured-output engine over the model's vocabulary
   */
  grammar?: GrammarProvider | ((ctx: GrammarContext) => GrammarProvider);
  /** startup information (e.g. the CUDA memory split); default: silent */
  log?: (message: string) => void;
}

export interface GrammarContext {
  modelDir: string;
  tokenizerDir: string;
  tokenizer: TextTokenizer;
  modelConfig: ModelConfig;
  /** logits width: the bitmask row has ceil(vocabSize / 32) words */
  vocabSize: number;
}

export interface EngineParts {
  args: EngineArgs;
  modelDir: string;
  modelConfig: ModelConfig;
  maxModelLen: number;
  core: EngineCore;
  tokenizer: TextTokenizer;
  /** null when the model has none (chat then fails with chatTemplateError) */
  chatTemplate: ChatTemplate | null;
  chatTemplateError: Error | null;
}

/** vLLM's default token budget per step with chunked prefill (online serving) */
const DEFAULT_MAX_NUM_BATCHED_TOKENS = 8192;

export async function buildEngineParts(partial: Partial<EngineArgs> & EngineFactoryExtras): Promise<EngineParts> {
  const { backend: givenBackend, grammar, log, ...rest } = partial;
  const args: EngineArgs = { ...DEFAULT_ENGINE_ARGS, ...stripUndefined(rest) };
  if (args.tensorParallelSize > 1) {
    // never run on one GPU while the user asked for several
    throw new Error(
      `--tensor-parallel-size ${args.tensorParallelSize} is not implemented yet: serval's CUDA backend runs a model on one GPU. ` +
        'Use --tensor-parallel-size 1 (a 14B model in bf16 fits one 80 GB GPU).',
    );
  }
  // no model: the built-in demo model (random weights, real tokenizer), as `serval serve` without a model
  const modelDir = args.model === undefined ? await ensureDemoModel() : await resolveModelPathOffThread(args.model, { revision: args.revision, downloadDir: args.downloadDir });
  const modelConfig = loadModelConfig(modelDir);
  // a tokenizer-only folder or repo has no config.json: require the tokenizer file instead
  const tokenizerDir = args.tokenizer
    ? await resolveModelPathOffThread(args.tokenizer, { revision: args.revision, downloadDir: args.downloadDir, requiredFile: 'tokenizer.json' })
    : modelDir;
  const tokenizer = await loadTokenizer(tokenizerDir);

  let chatTemplate: ChatTemplate | null = null;
  let chatTemplateError: Error | null = null;
  if (args.chatTemplate !== undefined) chatTemplate = loadChatTemplate(tokenizerDir, args.chatTemplate);
  else {
    try {
      chatTemplate = loadChatTemplate(tokenizerDir);
    } catch (e) {
      // completions still work without one; chat requests report this error
      chatTemplateError = e as Error;
    }
  }

  const gen = args.generationConfig === 'vllm' ? null : loadGenerationConfig(args.generationConfig === 'auto' ? modelDir : args.generationConfig);
  const defaults: GenerationDefaults = {};
  if (gen) {
    if (gen.temperature !== undefined) defaults.temperature = gen.temperature;
    if (gen.topP !== undefined) defaults.topP = gen.topP;
    if (gen.topK !== undefined) defaults.topK = gen.topK;
    if (gen.minP !== undefined) defaults.minP = gen.minP;
    if (gen.repetitionPenalty !== undefined) defaults.repetitionPenalty = gen.repetitionPenalty;
    if (gen.maxNewTokens !== undefined) defaults.maxTokens = gen.maxNewTokens;
  }

  const derivedMaxLen = modelConfig.maxPositionEmbeddings;
  if (args.maxModelLen !== null && args.maxModelLen > derivedMaxLen) {
    throw new Error(`User-specified max_model_len (${args.maxModelLen}) is greater than the derived max_model_len (max_position_embeddings=${derivedMaxLen} in the model's config.json).`);
  }
  const maxModelLen = args.maxModelLen ?? derivedMaxLen;

  const maxNumBatchedTokens = args.maxNumBatchedTokens ?? Math.max(DEFAULT_MAX_NUM_BATCHED_TOKENS, args.maxNumSeqs);
  const backend = givenBackend ?? (await buildBackend(args, modelDir, modelConfig, maxModelLen, maxNumBatchedTokens, log));
  const eos = new Set<number>();
  if (tokenizer.eosTokenId !== null) eos.add(tokenizer.eosTokenId);
  for (const id of modelConfig.eosTokenIds) eos.add(id);
  for (const id of gen?.eosTokenIds ?? []) eos.add(id);

  const grammarCtx: GrammarContext = { modelDir, tokenizerDir, tokenizer, modelConfig, vocabSize: backend.info.vocabSize };
  const grammarProvider =
    grammar === undefined
      ? defaultGrammarProvider(grammarCtx, structuredOutputWorkers(args.structuredOutputWorkers), log)
      : typeof grammar === 'function'
        ? grammar(grammarCtx)
        : grammar;
  const core = new EngineCore({
    backend,
    tokenizer,
    detokenizer: (promptIds, opts) => createDetokenizer(tokenizer, promptIds, opts),
    maxModelLen,
    maxNumSeqs: args.maxNumSeqs,
    maxNumBatchedTokens,
    schedulingPolicy: args.schedulingPolicy,
    enablePrefixCaching: args.enablePrefixCaching,
    seed: args.seed,
    maxLogprobs: args.maxLogprobs,
    eosTokenIds: [...eos],
    generationDefaults: defaults,
    grammar: grammarProvider,
    structuredOutputMaskGraceMs: args.structuredOutputMaskGraceMs,
  });
  return { args, modelDir, modelConfig, maxModelLen, core, tokenizer, chatTemplate, chatTemplateError };
}

async function buildBackend(
  args: EngineArgs,
  modelDir: string,
  config: ModelConfig,
  maxModelLen: number,
  maxNumBatchedTokens: number,
  log: ((message: string) => void) | undefined,
): Promise<Backend> {
  // auto = CUDA when the native addon sees a GPU, else the native CPU backend (as vLLM picks its platform);
  // the ts reference backend only when asked for by name
  const device = args.device === 'auto' ? (await import('../native/device-select.js')).resolveDevice('auto') : args.device;
  log?.(`device ${args.device === 'auto' ? `auto → ${device}` : device}`);
  if (device === 'cuda') {
    // loaded only when asked for: it needs the native addon (its loader names the build command when missing)
    const { createCudaEngineBackend } = await import('../native/cuda-engine-backend.js');
    return createCudaEngineBackend({
      modelDir,
      config,
      blockSize: args.blockSize,
      gpuMemoryUtilization: args.gpuMemoryUtilization,
      maxModelLen,
      maxNumBatchedTokens,
      maxNumSeqs: args.maxNumSeqs,
      loadFormat: args.loadFormat,
      dtype: args.dtype,
      kvCacheDtype: args.kvCacheDtype,
      enforceEager: args.enforceEager,
      seed: args.seed,
      numKvBlocks: args.numKvBlocks,
      log,
    }).backend;
  }
  // host backends: the KV cache is fp32 in host memory, sized by numKvBlocks or cpuKvCacheBytes
  checkHostKvCacheDtype(device, args.kvCacheDtype);
  const kvBytesPerBlock = PagedKvCache.bytesPerBlock(config.numLayers, args.blockSize, config.numKvHeads, config.headDim);
  const numBlocks = args.numKvBlocks ?? Math.floor(args.cpuKvCacheBytes / kvBytesPerBlock);
  if (numBlocks < 1) throw new Error(`cpuKvCacheBytes ${args.cpuKvCacheBytes} holds no KV block (${kvBytesPerBlock} bytes each)`);
  if (device === 'cpu') {
    if (args.loadFormat === 'dummy') throw new Error('the native cpu backend reads real weights only (loadFormat "dummy" works with device "ts")');
    const { createCpuBackend } = await import('../native/cpu-backend.js');
    return createCpuBackend(modelDir, { numBlocks, blockSize: args.blockSize, seed: args.seed });
  }
  // 'ts': the TypeScript reference backend (fp32, the numerical oracle)
  // the ts loader reads safetensors under 'auto'; 'safetensors' means the same there
  const loadFormat = args.loadFormat === 'dummy' ? 'dummy' : 'auto';
  const model = await loadTsModel(modelDir, { numBlocks, blockSize: args.blockSize, loadFormat });
  return createTsBackend(model, { numBlocks, blockSize: args.blockSize, seed: args.seed });
}

/** --structured-output-workers: null = min(4, cores - 1), leaving a core to the engine thread */
function structuredOutputWorkers(n: number | null): number {
  if (n === null) return Math.min(4, availableParallelism() - 1);
  if (!Number.isInteger(n) || n < 0) throw new Error(`structuredOutputWorkers must be a non-negative integer (0 = off), got ${n}`);
  return n;
}

/**
 * serval's structured-output engine over the model's vocabulary, built on the first structured request: reading
 * the vocabulary takes seconds, which engines that never see a constraint should not pay. With workers, cold masks
 * are computed on worker threads (started by the first step with grammar rows). `prepare` builds both at once.
 */
function defaultGrammarProvider(ctx: GrammarContext, workers: number, log: ((message: string) => void) | undefined): GrammarProvider {
  let provider: StructuredGrammarProvider | PooledGrammarProvider | null = null;
  const get = () => {
    if (provider) return provider;
    const vocab = loadTokenVocab(ctx.tokenizerDir, { size: ctx.vocabSize });
    // a worker failure fails its requests with their own error; this tells the operator too
    const onWorkerError = log ?? ((m: string) => process.emitWarning(m));
    provider = workers > 0 ? new PooledGrammarProvider(vocab, { numWorkers: workers, onWorkerError }) : createGrammarProvider(vocab);
    return provider;
  };
  return {
    create: (constraint) => get().create(constraint),
    bulkFiller: (numRows) => (provider instanceof PooledGrammarProvider ? provider.bulkFiller(numRows) : null),
    prepare: () => {
      const p = get();
      if (p instanceof PooledGrammarProvider) p.startWorkers();
    },
    close: async () => {
      if (provider instanceof PooledGrammarProvider) await provider.close();
    },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
