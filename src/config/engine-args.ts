// Engine configuration shared by `serval serve`, `LLM`, `run-batch` and the benchmarks.
// Names mirror vLLM's engine arguments (camelCase); defaults are vLLM's unless a comment says otherwise.
import { DEFAULT_STRUCTURED_OUTPUT_MASK_GRACE_MS } from '../engine/mask-deadline.js';
import type { KvCacheDtypeArg } from './kv-cache-dtype.js';

export type DeviceKind = 'auto' | 'cpu' | 'cuda' | 'ts';
export type DtypeArg = 'auto' | 'bfloat16' | 'float16' | 'float32';

export interface EngineArgs {
  /** HF id or local directory; undefined = built-in demo model */
  model?: string;
  tokenizer?: string;
  revision?: string;
  downloadDir?: string;
  dtype: DtypeArg;
  /** the K/V cache's type: 'auto' = the model's dtype (vLLM's default); 'float16' under bfloat16 weights is the one
   *  mixed pair (cuda backend only) */
  kvCacheDtype: KvCacheDtypeArg;
  /** null = the model's max_position_embeddings */
  maxModelLen: number | null;
  gpuMemoryUtilization: number;
  tensorParallelSize: number;
  maxNumSeqs: number;
  /** null = vLLM's default for the usage context (8192 for serve with chunked prefill) */
  maxNumBatchedTokens: number | null;
  blockSize: number;
  enablePrefixCaching: boolean;
  schedulingPolicy: 'fcfs' | 'priority';
  seed: number;
  device: DeviceKind;
  loadFormat: 'auto' | 'safetensors' | 'dummy';
  /** 'auto' = read generation_config.json from the model; 'vllm' = ignore it; else a folder holding one */
  generationConfig: string;
  chatTemplate?: string;
  maxLogprobs: number;
  enforceEager: boolean;
  /** KV blocks for the CPU/ts backends (they have no GPU memory to size from); null = derive from a memory budget */
  numKvBlocks: number | null;
  /** bytes of host memory the CPU/ts KV cache may use when numKvBlocks is null (vLLM's VLLM_CPU_KVCACHE_SPACE) */
  cpuKvCacheBytes: number;
  /** worker threads computing the grammar masks of large steps; 0 = off; null = min(4, cores - 1) (serval's own) */
  structuredOutputWorkers: number | null;
  /**
   * how long after a step's logits are ready the engine waits for grammar masks still being computed on the mask
   * workers before deferring those rows by one step (milliseconds, >= 0; serval's own)
   */
  structuredOutputMaskGraceMs: number;
  /** worker threads encoding prompt texts off the engine's thread; 0 = off; null = min(8, cores - 1) (serval's own) */
  tokenizerPoolSize: number | null;
}

export const DEFAULT_ENGINE_ARGS: EngineArgs = {
  dtype: 'auto',
  kvCacheDtype: 'auto',
  maxModelLen: null,
  gpuMemoryUtilization: 0.9,
  tensorParallelSize: 1,
  maxNumSeqs: 256,
  maxNumBatchedTokens: null,
  blockSize: 16,
  enablePrefixCaching: true,
  schedulingPolicy: 'fcfs',
  seed: 0,
  device: 'auto',
  loadFormat: 'auto',
  generationConfig: 'auto',
  maxLogprobs: 20,
  enforceEager: false,
  numKvBlocks: null,
  cpuKvCacheBytes: 1 << 30,
  structuredOutputWorkers: null,
  structuredOutputMaskGraceMs: DEFAULT_STRUCTURED_OUTPUT_MASK_GRACE_MS,
  tokenizerPoolSize: null,
};
