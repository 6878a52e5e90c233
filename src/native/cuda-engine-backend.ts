// The `cuda` backend as the engine starts it: load the weights, profile one forward of the largest step, size the
// paged KV cache from --gpu-memory-utilization (refusing a --max-model-len it cannot hold), log the memory split.
import type { DtypeArg } from '../config/engine-args.js';
import type { ModelConfig, WeightDtype } from '../loader/model-config-types.js';
import type { Backend } from '../runner/batch.js';
import { buildStepBatch, type BatchRowSpec } from '../runner/ts/step-batch-builder.js';
import { createCudaSamplingBackend } from './cuda-sampling-backend.js';
import { activeCudaStepProfile, StepProfile } from './cuda-step-profile.js';
import { loadNativeAddon, type CudaMemoryReport } from './addon.js';
import { NativeCudaForwardModel } from './cuda-backend.js';
import { cudaKvBytesPerBlock, overridePlan, planKvCache, type KvPlan } from './kv-cache-plan.js';

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

/** bytes of one weight / KV cache value of a cuda compute dtype */
export const cudaDtypeBytes = (dtype: WeightDtype): number => (dtype === 'float32' ? 4 : 2);

export function createCudaEngineBackend(o: CudaEngineBackendOptions): CudaEngineBackend {
  const dtype = o.dtype === undefined ? 'bfloat16' : resolveCudaDtype(o.dtype, o.config.dtype);
  const addon = loadNativeAddon();
  const device = o.device ?? 0;
  const tokens = Math.max(1, o.maxNumBatchedTokens);
  const rows = Math.max(1, Math.min(o.maxNumSeqs, tokens));
  const rowSpecs = profileRows(tokens, rows, o.blockSize);
  const profileBlocks = rowSpecs.reduce((a, r) => a + r.blockTable.length, 0);
  const model = NativeCudaForwardModel.fromConfig(o.config, o.modelDir, {
    numBlocks: profileBlocks,
    blockSize: o.blockSize,
    device,
    loadFormat: o.loadFormat,
    seed: o.seed,
    maxNumTokens: tokens,
    enforceEager: o.enforceEager,
    dtype,
  });
  try {
    model.forward(buildStepBatch(rowSpecs, o.blockSize));
    const profiled = model.memory();
    const mem = addon.cudaMemoryInfo!(device);
    const profiledPlan = planKvCache({
      totalBytes: mem.total,
      usedBytes: mem.total - mem.free,
      profileCacheBytes: profiled.kvCacheBytes,
      gpuMemoryUtilization: o.gpuMemoryUtilization,
      bytesPerBlock: cudaKvBytesPerBlock(o.config.numLayers, o.blockSize, o.config.numKvHeads, o.config.headDim, cudaDtypeBytes(dtype)),
      blockSize: o.blockSize,
      maxModelLen: o.maxModelLen,
    });
    const plan = o.numKvBlocks == null ? profiledPlan : overridePlan(profiledPlan, o.numKvBlocks, o.blockSize, o.maxModelLen);
    model.allocateKvCache(plan.numBlocks);
    const memory = model.memory();
    o.log?.(
      `cuda: ${model.deviceName}: weights ${gib(memory.weightBytes)}, activations ${gib(memory.activationBytes)} ` +
        `(profiled ${tokens} tokens / ${rows} rows), workspace ${gib(memory.workspaceBytes)}, KV cache ` +
        `${gib(memory.kvCacheBytes)} = ${plan.numBlocks} blocks = ${plan.capacityTokens} tokens ` +
        `(max concurrency ${plan.maxConcurrency.toFixed(2)}x at ${o.maxModelLen} tokens)`,
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
      device: `${model.deviceName} (native CUDA, ${dtype}${o.enforceEager ? ', eager' : ', CUDA graphs'})`,
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
