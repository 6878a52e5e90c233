// The `cuda` backend as the engine starts it: load the weights, profile one forward of the largest step and the
// sampler's worst-case step, capture the decode CUDA graphs, size the paged KV cache from --gpu-memory-utilization
// out of what is left (refusing a --max-model-len it cannot hold), log the memory split.
// Graphs are captured before the KV cache is sized (vLLM captures after, with the graphs' memory estimated): so the
// free memory the cache is sized from has already lost what the graphs hold. Captured against the profiling cache,
// they are re-recorded against the real one when it is allocated and updated in place (no new graph memory).
import type { DtypeArg } from '../config/engine-args.js';
import { checkKvCacheDtype, type KvCacheDtypeArg } from '../config/kv-cache-dtype.js';
import type { ModelConfig, WeightDtype } from '../loader/model-config-types.js';
import type { Backend } from '../runner/batch.js';
import { buildStepBatch, type BatchRowSpec } from '../runner/ts/step-batch-builder.js';
import { createCudaSamplingBackend } from './cuda-sampling-backend.js';
import { activeCudaStepProfile, StepProfile } from './cuda-step-profile.js';
import { loadNativeAddon, type CudaMemoryReport } from './addon.js';
import { NativeCudaForwardModel, type CudaModelOptions } from './cuda-backend.js';
import { decodeBatchSizes } from './decode-batch-sizes.js';
import { cudaKvBytesPerBlock, describeMemorySplit, overridePlan, planKvCache, type KvPlan } from './kv-cache-plan.js';

export interface CudaEngineBackendOptions {
  modelDir: string | null;
  config: ModelConfig;
  blockSize: number;
  gpuMemoryUtilization: number;
  maxModelLen: number;
  /** the scheduler's token budget per step: the profiled step has this many tokens */
  maxNumBatchedTokens: number;
  maxNumSeqs: number;
  loadFormat: 'auto' | 'safetensors' | 'dummy';
  /** --dtype, resolved by resolveCudaDtype (weights, KV cache and low-precision activations; fp32 accumulate). Not
   *  given: bfloat16. */
  dtype?: DtypeArg;
  /** --kv-cache-dtype, resolved by resolveCudaKvCacheDtype. Not given: 'auto' (the dtype). */
  kvCacheDtype?: KvCacheDtypeArg;
  enforceEager: boolean;
  seed: number;
  /** vLLM's num_gpu_blocks_override: exactly this many KV blocks instead of what the memory profile allows */
  numKvBlocks?: number | null;
  device?: number;
  log?: (message: string) => void;
}

export interface CudaEngineBackend {
  backend: Backend;
  plan: KvPlan;
  memory: CudaMemoryReport;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

/** the worst step the scheduler can send: maxNumBatchedTokens tokens over as many rows as it allows, all sampled */
function profileRows(tokens: number, rows: number, blockSize: number): BatchRowSpec[] {
  const specs: BatchRowSpec[] = [];
  let nextBlock = 0;
  for (let r = 0; r < rows; r++) {
    const len = Math.floor(tokens / rows) + (r < tokens % rows ? 1 : 0);
    const blocks = Array.from({ length: Math.ceil(len / blockSize) }, () => nextBlock++);
    specs.push({ tokenIds: Array.from({ length: len }, (_, i) => (i * 31 + r) % 1000), startPosition: 0, blockTable: blocks, sample: true });
  }
  return specs;
}


const CUDA_DTYPES: readonly WeightDtype[] = ['bfloat16', 'float16', 'float32'];

/** The compute dtype --dtype names, as vLLM resolves it (_resolve_auto_dtype): 'auto' is the checkpoint's dtype,
 *  except that float32 checkpoints are downcast to the platform's preferred dtype, bfloat16 on CUDA (sm_80+).
 *  Any other string (a caller bypassing the CLI's choices) is refused naming it. */
export function resolveCudaDtype(requested: DtypeArg, checkpoint: WeightDtype): WeightDtype {
  if (requested === 'auto') return checkpoint === 'float32' ? 'bfloat16' : checkpoint;
  if (!CUDA_DTYPES.includes(requested)) {
    throw new Error(`--dtype ${JSON.stringify(requested)} is not supported by the cuda backend (expected auto, ${CUDA_DTYPES.join(', ')})`);
  }
  return requested;
}

/** The K/V cache type --kv-cache-dtype names under the resolved model dtype: 'auto' (the default) is the dtype, except
 *  under bfloat16 weights, where it is the one other pair built (cuda_model.cu, SERVAL_FOR_EACH_KV_PAIR): a float16
 *  cache. Any other pair, or a value serval does not implement, is refused naming it. */
export function resolveCudaKvCacheDtype(requested: KvCacheDtypeArg, modelDtype: WeightDtype): WeightDtype {
  const kv = checkKvCacheDtype(requested);
  // auto under bf16 weights is an fp16 cache: the same bytes with 3 more mantissa bits. A bf16 cache alone kept two
  // architectures past issue 6's accuracy bound (bench/gpu/README.md, section 11); K/V values stay far inside fp16's
  // range in practice (T4-class GPUs run bf16-trained models with fp16 K/V), and writes saturate past +-65504.
  if (kv === 'auto') return modelDtype === 'bfloat16' ? 'float16' : modelDtype;
  if (kv === modelDtype) return modelDtype;
  if (kv === 'float16' && modelDtype === 'bfloat16') return kv;
  throw new Error(`--kv-cache-dtype ${kv} with --dtype ${modelDtype} is not supported by the cuda backend (a K/V cache type other than the model's dtype: only float16 with bfloat16)`);
}

/** the decode steps' padding rows write their K/V to one scratch block past the usable ones (cuda_model.cu) */
export const PADDING_BLOCKS = 1;

/** what the model is created with: the profiling cache, and decode steps padded to vLLM's sizes whether graphs are
 *  replayed or not (--enforce-eager then computes exactly what a replay would) */
export function cudaModelOptions(
  o: CudaEngineBackendOptions,
  profileBlocks: number,
  dtype: WeightDtype = 'bfloat16',
  kvCacheDtype: WeightDtype = dtype,
): CudaModelOptions {
  const tokens = Math.max(1, o.maxNumBatchedTokens);
  return {
    numBlocks: profileBlocks,
    blockSize: o.blockSize,
    device: o.device ?? 0,
    loadFormat: o.loadFormat,
    seed: o.seed,
    maxNumTokens: tokens,
    enforceEager: o.enforceEager,
    dtype,
    ...(kvCacheDtype !== dtype ? { kvCacheDtype } : {}),
    decodeBatchSizes: decodeBatchSizes(o.maxNumSeqs, tokens),
    // the addon takes an int32; a longer max_model_len is refused by the KV plan before any graph is captured
    maxModelLen: Math.min(o.maxModelLen, 2 ** 31 - 1),
  };
}

/** bytes of one weight / KV cache value of a cuda compute dtype */
export const cudaDtypeBytes = (dtype: WeightDtype): number => (dtype === 'float32' ? 4 : 2);

export function createCudaEngineBackend(o: CudaEngineBackendOptions): CudaEngineBackend {
  const dtype = o.dtype === undefined ? 'bfloat16' : resolveCudaDtype(o.dtype, o.config.dtype);
  const kvCacheDtype = resolveCudaKvCacheDtype(o.kvCacheDtype ?? 'auto', dtype);
  const addon = loadNativeAddon();
  const device = o.device ?? 0;
  const tokens = Math.max(1, o.maxNumBatchedTokens);
  const rows = Math.max(1, Math.min(o.maxNumSeqs, tokens));
  const rowSpecs = profileRows(tokens, rows, o.blockSize);
  const profileBlocks = rowSpecs.reduce((a, r) => a + r.blockTable.length, 0);
  const modelOptions = cudaModelOptions(o, profileBlocks, dtype, kvCacheDtype);
  const model = NativeCudaForwardModel.fromConfig(o.config, o.modelDir, modelOptions);
  try {
    model.forward(buildStepBatch(rowSpecs, o.blockSize));
    const bytesPerBlock = cudaKvBytesPerBlock(o.config.numLayers, o.blockSize, o.config.numKvHeads, o.config.headDim, cudaDtypeBytes(kvCacheDtype));
    const planFromFreeMemory = () => {
      const mem = addon.cudaMemoryInfo!(device);
      const profileCacheBytes = model.memory().kvCacheBytes;
      const plan = planKvCache({
        totalBytes: mem.total,
        usedBytes: mem.total - mem.free,
        profileCacheBytes,
        gpuMemoryUtilization: o.gpuMemoryUtilization,
        bytesPerBlock,
        blockSize: o.blockSize,
        maxModelLen: o.maxModelLen,
        reservedBlocks: PADDING_BLOCKS,
      });
      return { plan, totalBytes: mem.total, usedBeforeKvBytes: mem.total - mem.free - profileCacheBytes };
    };
    // a cache that cannot hold max_model_len even before sampling and the graphs take their share is refused first
    planFromFreeMemory();
    // the sampler's buffers at their largest: every row with masks, a bias, logprobs and penalties over a whole context
    model.reserveSampling(rows, o.maxModelLen);
    if (!o.enforceEager) {
      const sizes = modelOptions.decodeBatchSizes!;
      const c = model.captureDecodeGraphs();
      o.log?.(
        `cuda graphs: captured ${c.graphs} decode CUDA graphs (batch sizes ${sizes[0]}..${sizes.at(-1)}: ${sizes.length} sizes x ` +
          `${c.graphs / sizes.length} block-table strides) in ${(c.milliseconds / 1000).toFixed(2)} s, holding ${gib(c.bytes)}`,
      );
    }
    const { plan: profiledPlan, totalBytes, usedBeforeKvBytes } = planFromFreeMemory();
    const plan = o.numKvBlocks == null ? profiledPlan : overridePlan(profiledPlan, o.numKvBlocks, o.blockSize, o.maxModelLen);
    model.allocateKvCache(plan.numBlocks);
    const memory = model.memory();
    o.log?.(
      `cuda: ${model.deviceName}: ` +
        describeMemorySplit({
          weightBytes: memory.weightBytes,
          activationBytes: memory.activationBytes + memory.workspaceBytes,
          samplingBytes: memory.samplingBytes,
          graphBytes: memory.graphBytes,
          kvCacheBytes: memory.kvCacheBytes,
          usedBeforeKvBytes,
          totalBytes,
          gpuMemoryUtilization: o.gpuMemoryUtilization,
        }) +
        ` (activations profiled at ${tokens} tokens / ${rows} rows); KV cache (${kvCacheDtype}) = ${plan.numBlocks} blocks = ` +
        `${plan.capacityTokens} tokens (max concurrency ${plan.maxConcurrency.toFixed(2)}x at ${o.maxModelLen} tokens)`,
    );
    // SERVAL_CUDA_PROFILE=1: per-step phase timers, read by bench/gpu through activeCudaStepProfile
    const profile = process.env['SERVAL_CUDA_PROFILE'] === '1' ? new StepProfile() : null;
    if (profile) activeCudaStepProfile.current = profile;
    const inner = createCudaSamplingBackend(model, {
      profile,
      numBlocks: plan.numBlocks,
      blockSize: o.blockSize,
      seed: o.seed,
      kind: 'cuda',
      device: `${model.deviceName} (native CUDA, ${dtype}${kvCacheDtype !== dtype ? `, ${kvCacheDtype} K/V cache` : ''}${o.enforceEager ? ', eager' : ', CUDA graphs'})`,
    });
    const backend: Backend = {
      info: inner.info,
      execute: (batch) => inner.execute(batch),
      async close() {
        await inner.close();
        model.close();
      },
    };
    return { backend, plan, memory };
  } catch (e) {
    model.close();
    throw e;
  }
}
