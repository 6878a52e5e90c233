// Sizing the GPU's paged KV cache the way vLLM does: after the weights are loaded, one forward of the largest step
// has been profiled, the sampler has run its worst-case step and the decode CUDA graphs are captured, whatever
// `--gpu-memory-utilization` of the card is still unused becomes KV blocks (so every long-lived allocation is inside
// the budget). A --max-model-len the cache cannot hold is refused with what is needed and what to change.

export interface KvPlanInput {
  totalBytes: number;
  /** bytes in use on the device after loading, profiling, sampling's worst case and graph capture (total - free) */
  usedBytes: number;
  /** bytes of the temporary profiling cache included in usedBytes (freed before the real cache is made) */
  profileCacheBytes: number;
  gpuMemoryUtilization: number;
  /** K + V bytes of one block over all layers */
  bytesPerBlock: number;
  blockSize: number;
  maxModelLen: number;
  /** blocks the backend allocates beyond the usable ones (the cuda backend's scratch block for decode padding rows) */
  reservedBlocks?: number;
}

export interface KvPlan {
  numBlocks: number;
  kvCacheBytes: number;
  /** tokens the cache holds */
  capacityTokens: number;
  /** how many max-length requests fit at once */
  maxConcurrency: number;
}

const GiB = 2 ** 30;
const gib = (b: number) => `${(b / GiB).toFixed(2)} GiB`;

export function planKvCache(p: KvPlanInput): KvPlan {
  if (!(p.gpuMemoryUtilization > 0 && p.gpuMemoryUtilization <= 1)) {
    throw new Error(`gpu_memory_utilization must be in (0, 1], got ${p.gpuMemoryUtilization}`);
  }
  const budget = p.totalBytes * p.gpuMemoryUtilization;
  const kvBytes = budget - (p.usedBytes - p.profileCacheBytes);
  const numBlocks = Math.floor(Math.max(0, kvBytes) / p.bytesPerBlock) - (p.reservedBlocks ?? 0);
  if (numBlocks <= 0) {
    throw new Error(
      `No available memory for the cache blocks: the model and its activations use ${gib(p.usedBytes - p.profileCacheBytes)} ` +
        `of the ${gib(budget)} allowed by gpu_memory_utilization=${p.gpuMemoryUtilization} (of ${gib(p.totalBytes)}). ` +
        'Try increasing `gpu_memory_utilization` when initializing the engine.',
    );
  }
  const capacityTokens = numBlocks * p.blockSize;
  if (p.maxModelLen > capacityTokens) {
    const neededBytes = Math.ceil(p.maxModelLen / p.blockSize) * p.bytesPerBlock;
    throw new Error(
      `The model's max seq len (${p.maxModelLen}) is larger than the maximum number of tokens that can be stored in KV ` +
        `cache (${capacityTokens}). ${gib(neededBytes)} KV cache is needed, which is larger than the available KV cache ` +
        `memory (${gib(numBlocks * p.bytesPerBlock)}). Try increasing \`gpu_memory_utilization\` or decreasing ` +
        '`max_model_len` when initializing the engine.',
    );
  }
  return {
    numBlocks,
    kvCacheBytes: numBlocks * p.bytesPerBlock,
    capacityTokens,
    maxConcurrency: capacityTokens / p.maxModelLen,
  };
}

/** K and V of one block over all layers, elementBytes per value (2: bf16/fp16, 4: fp32 --dtype) */
export function cudaKvBytesPerBlock(numLayers: number, blockSize: number, numKvHeads: number, headDim: number, elementBytes = 2): number {
  return 2 * numLayers * blockSize * numKvHeads * headDim * elementBytes;
}

/** the plan for a user-given block count: it may be smaller than the profile allows (tests force preemption), never larger */
export function overridePlan(profiled: KvPlan, numBlocks: number, blockSize: number, maxModelLen: number): KvPlan {
  if (!Number.isInteger(numBlocks) || numBlocks < 1) throw new Error(`num_kv_blocks must be a positive integer, got ${numBlocks}`);
  if (numBlocks > profiled.numBlocks) {
    throw new Error(`num_kv_blocks ${numBlocks} is more than the GPU memory allows (${profiled.numBlocks} blocks at this --gpu-memory-utilization)`);
  }
  const bytesPerBlock = profiled.kvCacheBytes / profiled.numBlocks;
  return { numBlocks, kvCacheBytes: numBlocks * bytesPerBlock, capacityTokens: numBlocks * blockSize, maxConcurrency: (numBlocks * blockSize) / maxModelLen };
}

/** the device memory a started cuda backend holds, by owner (bytes) */
export interface MemorySplit {
  weightBytes: number;
  /** activation buffers at the profiled step's peak, plus the GEMM and split-KV workspaces */
  activationBytes: number;
  samplingBytes: number;
  graphBytes: number;
  kvCacheBytes: number;
  /** device bytes in use after the profile (total - free), profiling cache excluded */
  usedBeforeKvBytes: number;
  totalBytes: number;
  gpuMemoryUtilization: number;
}

/** one log line: each owner's share, and what is left unnamed (CUDA context, allocator rounding, cuBLASLt) */
export function describeMemorySplit(m: MemorySplit): string {
  const named = m.weightBytes + m.activationBytes + m.samplingBytes + m.graphBytes;
  const other = Math.max(0, m.usedBeforeKvBytes - named);
  const inUse = m.usedBeforeKvBytes + m.kvCacheBytes;
  return (
    `weights ${gib(m.weightBytes)}, activations peak ${gib(m.activationBytes)}, sampling ${gib(m.samplingBytes)}, ` +
    `CUDA graphs ${gib(m.graphBytes)}, other ${gib(other)}, KV cache ${gib(m.kvCacheBytes)}: ` +
    `${gib(inUse)} of the ${gib(m.totalBytes * m.gpuMemoryUtilization)} allowed by gpu_memory_utilization=${m.gpuMemoryUtilization}`
  );
}
