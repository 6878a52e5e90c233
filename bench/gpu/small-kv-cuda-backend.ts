// A CUDA engine backend with a fixed, small number of KV blocks: the stress run needs preemption, which the
// production factory (createCudaEngineBackend) cannot be asked for — it sizes the cache from
// --gpu-memory-utilization and ignores numKvBlocks.
import type { ModelConfig } from '../../src/loader/model-config-types.js';
import type { Backend } from '../../src/runner/batch.js';
import { createTsBackend } from '../../src/runner/ts-backend.js';
import { NativeCudaForwardModel } from '../../src/native/cuda-backend.js';
import { resolveCudaKvCacheDtype } from '../../src/native/cuda-engine-backend.js';
import type { KvCacheDtypeArg } from '../../src/config/kv-cache-dtype.js';
import type { WeightDtype } from '../../src/loader/model-config-types.js';

export interface SmallKvCudaOptions {
  modelDir: string;
  config: ModelConfig;
  numBlocks: number;
  blockSize: number;
  /** must cover the scheduler's token budget per step */
  maxNumTokens: number;
  seed: number;
  /** weights' storage type (default bfloat16) */
  dtype?: WeightDtype;
  /** --kv-cache-dtype, resolved as the engine resolves it (default auto) */
  kvCacheDtype?: KvCacheDtypeArg;
}

export function createSmallKvCudaBackend(o: SmallKvCudaOptions): Backend {
  const dtype = o.dtype ?? 'bfloat16';
  const kvCacheDtype = resolveCudaKvCacheDtype(o.kvCacheDtype ?? 'auto', dtype);
  const model = NativeCudaForwardModel.fromConfig(o.config, o.modelDir, {
    dtype,
    kvCacheDtype,
    numBlocks: o.numBlocks,
    blockSize: o.blockSize,
    loadFormat: 'auto',
    seed: o.seed,
    maxNumTokens: o.maxNumTokens,
    enforceEager: false,
  });
  const inner = createTsBackend(model, {
    numBlocks: o.numBlocks,
    blockSize: o.blockSize,
    seed: o.seed,
    kind: 'cuda',
    device: `${model.deviceName} (native CUDA, ${dtype}, ${kvCacheDtype} K/V cache, CUDA graphs, ${o.numBlocks} KV blocks)`,
  });
  return {
    info: inner.info,
    execute: (batch) => inner.execute(batch),
    async close() {
      await inner.close();
      model.close();
    },
  };
}
