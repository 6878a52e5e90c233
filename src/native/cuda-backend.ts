// The native `cuda` backend: weights and paged KV cache in the --dtype storage type (bf16, fp16, fp32) on one GPU, cuBLASLt GEMMs, custom kernels
// (native/cuda). Every row is sampled on the GPU (cuda-sampling.ts, cuda-sampling-backend.ts); the forward and the
// sampling run from the addon's worker threads, so the event loop never waits on the GPU.
import type { ModelConfig, WeightDtype } from '../loader/model-config-types.js';
import { loadModelConfig } from '../loader/model-config.js';
import { Checkpoint } from '../loader/safetensors.js';
import type { Backend, StepBatch } from '../runner/batch.js';
import type { ForwardOutput } from '../runner/ts/ts-model.js';
import {
  loadNativeAddon,
  type CudaGraphCaptureReport,
  type CudaMemoryReport,
  type NativeCudaModel,
  type NativeForwardBatch,
  type NativeSampleRequest,
  type NativeSampleResult,
  type NativeTensorRef,
} from './addon.js';
import { nativeForward, nativeForwardAsync } from './native-forward.js';
import { createCudaSamplingBackend } from './cuda-sampling-backend.js';
import { nativeModelSpec, nativeTensorRefs } from './native-spec.js';

export interface CudaModelOptions {
  numBlocks: number;
  blockSize: number;
  device?: number;
  /** 'dummy' fills seeded random bf16 weights on the GPU (benchmarks with real shapes, no files needed) */
  loadFormat?: 'auto' | 'safetensors' | 'dummy';
  seed?: number;
  /** most tokens one step may carry (sizes activation buffers; default 8192) */
  maxNumTokens?: number;
  /** decode-sized steps (<= 8 tokens) on the GEMV kernels and the fused decode layer (default true; false: cuBLASLt) */
  skinnyGemm?: boolean;
  /** --enforce-eager: never replay decode steps from CUDA graphs */
  enforceEager?: boolean;
  /** ascending sizes decode-only steps are padded up to, graph replay or eager alike (decode-batch-sizes.ts); none:
   *  no padding, a graph per exact size up to 256 rows, captured on first use */
  decodeBatchSizes?: number[];
  /** the longest context (bounds the block-table strides captureDecodeGraphs captures) */
  maxModelLen?: number;
  /** storage type of weights, KV cache and low-precision activations, fp32 accumulate (default bfloat16) */
  dtype?: WeightDtype;
  /** the K/V cache's type when it is not dtype (--kv-cache-dtype): float16 with bfloat16 weights (default: dtype) */
  kvCacheDtype?: WeightDtype;
}

/** Throws a clear error when CUDA cannot be used (addon built without nvcc, no driver, no GPU). */
export function requireCuda(): void {
  const addon = loadNativeAddon();
  const info = addon.cudaInfo();
  if (!addon.CudaModel || info.deviceCount === 0) {
    throw new Error(`the cuda backend is unavailable: ${info.error ?? 'no CUDA device'}`);
  }
}

export class NativeCudaForwardModel {
  readonly vocabSize: number;
  private constructor(
    readonly config: ModelConfig,
    private readonly model: NativeCudaModel,
    private blocks: number,
    readonly blockSize: number,
    readonly device: number,
    readonly deviceName: string,
  ) {
    this.vocabSize = config.vocabSize;
  }

  get numBlocks(): number {
    return this.blocks;
  }

  /** replaces the KV cache by one of numBlocks blocks (after memory profiling) */
  allocateKvCache(numBlocks: number): void {
    this.model.allocateKvCache(numBlocks);
    this.blocks = numBlocks;
  }

  static load(dir: string, opts: CudaModelOptions): NativeCudaForwardModel {
    return NativeCudaForwardModel.fromConfig(loadModelConfig(dir), dir, opts);
  }

  /** `dir` may be null with loadFormat 'dummy' (shapes from the config alone). */
  static fromConfig(config: ModelConfig, dir: string | null, opts: CudaModelOptions): NativeCudaForwardModel {
    requireCuda();
    const addon = loadNativeAddon();
    const dummy = opts.loadFormat === 'dummy';
    let tensors: NativeTensorRef[] = [];
    if (!dummy) {
      if (dir === null) throw new Error('cuda backend: a model directory is needed unless loadFormat is "dummy"');
      const checkpoint = Checkpoint.open(dir);
      try {
        tensors = nativeTensorRefs(config, checkpoint);
      } finally {
        checkpoint.close();
      }
    }
    const device = opts.device ?? 0;
    const model = new addon.CudaModel!(nativeModelSpec(config), tensors, {
      numBlocks: opts.numBlocks,
      blockSize: opts.blockSize,
      device,
      dummyWeights: dummy,
      seed: opts.seed ?? 0,
      maxNumTokens: opts.maxNumTokens ?? 8192,
      skinnyGemm: opts.skinnyGemm ?? true,
      cudaGraphs: !(opts.enforceEager ?? false),
      ...(opts.decodeBatchSizes ? { decodeBatchSizes: opts.decodeBatchSizes } : {}),
      ...(opts.maxModelLen !== undefined ? { maxModelLen: opts.maxModelLen } : {}),
      dtype: opts.dtype ?? 'bfloat16',
      ...(opts.kvCacheDtype !== undefined ? { kvCacheDtype: opts.kvCacheDtype } : {}),
    });
    const name = addon.cudaInfo().devices[device]?.name ?? `cuda:${device}`;
    return new NativeCudaForwardModel(config, model, opts.numBlocks, opts.blockSize, device, name);
  }

  forward(batch: StepBatch): ForwardOutput {
    return nativeForward(this.model, batch, this.vocabSize);
  }

  /** enqueues the forward from a worker thread without waiting for the GPU; sample() must follow */
  forwardBegin(batch: NativeForwardBatch): Promise<{ hostMs: number }> {
    return this.model.forwardBegin(batch);
  }

  /** resolves once the GPU has finished the begun step's forward, no later than its sample() (addon.ts) */
  forwardDone(): Promise<void> {
    return this.model.forwardDone();
  }

  /** GPU sampling of the forward begun last (cuda-sampling.ts builds the request) */
  sample(request: NativeSampleRequest): Promise<NativeSampleResult> {
    return this.model.sample(request);
  }

  /** the forward on a worker thread, all logits back (tests; the backends sample on the GPU instead) */
  forwardAsync(batch: StepBatch): Promise<ForwardOutput> {
    return nativeForwardAsync(this.model, batch, this.vocabSize);
  }

  memory(): CudaMemoryReport {
    return this.model.memory();
  }

  /** captures the decode graphs of every padded batch size and stride bucket (start-up, after the memory profile) */
  captureDecodeGraphs(): CudaGraphCaptureReport {
    return this.model.captureDecodeGraphs();
  }

  /** grows the GPU sampler's buffers to a worst-case step of `rows` rows (start-up, inside the memory profile) */
  reserveSampling(rows: number, penaltyIdsPerRow: number): number {
    return this.model.reserveSampling(rows, penaltyIdsPerRow);
  }

  close(): void {
    this.model.close();
  }
}

export interface CudaBackendOptions extends CudaModelOptions {
  seed: number;
}

export function createCudaBackend(dir: string, opts: CudaBackendOptions): Backend {
  const model = NativeCudaForwardModel.load(dir, opts);
  const inner = createCudaSamplingBackend(model, {
    numBlocks: opts.numBlocks,
    blockSize: opts.blockSize,
    seed: opts.seed,
    kind: 'cuda',
    device: `${model.deviceName} (native CUDA, bf16)`,
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
