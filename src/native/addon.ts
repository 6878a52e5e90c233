// Loads the native addon (C++ CPU backend + CUDA backend) built by scripts/build-native.mjs.
// SERVAL_NATIVE_ADDON=/path/serval_native.node overrides the location (the GPU machine builds with plain cmake).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelConfig, WeightDtype } from '../loader/model-config-types.js';

/** the model shape the addon needs: the same fields as ModelConfig */
export type NativeModelSpec = Pick<
  ModelConfig,
  | 'hiddenSize'
  | 'intermediateSize'
  | 'numLayers'
  | 'numHeads'
  | 'numKvHeads'
  | 'headDim'
  | 'vocabSize'
  | 'rmsNormEps'
  | 'ropeTheta'
  | 'ropeScaling'
  | 'tieWordEmbeddings'
  | 'attentionBias'
  | 'qkNorm'
>;

/** where one weight tensor's bytes live; the addon mmaps the file */
export interface NativeTensorRef {
  name: string;
  file: string;
  offset: number;
  dtype: string;
  shape: number[];
}

/** the flat step the native forward consumes (views of StepBatch arrays + which tokens need logits) */
export interface NativeForwardBatch {
  numTokens: number;
  tokenIds: Int32Array;
  positions: Int32Array;
  slotMapping: Int32Array;
  numRows: number;
  queryStartLoc: Int32Array;
  contextLens: Int32Array;
  blockTables: Int32Array;
  maxBlocksPerRow: number;
  /** flat token indices whose logits are returned, in this order */
  logitTokenIndices: Int32Array;
}

export interface NativeForwardModel {
  /** logits [logitTokenIndices.length, vocab], row-major; blocks the calling thread */
  forward(batch: NativeForwardBatch): Float32Array;
  /** the same on a worker thread (the batch is copied first); one forward per model at a time */
  forwardAsync(batch: NativeForwardBatch): Promise<Float32Array>;
}

export interface NativeCpuModel extends NativeForwardModel {
  numThreads(): number;
}

export interface CudaMemoryReport {
  weightBytes: number;
  kvCacheBytes: number;
  activationBytes: number;
  workspaceBytes: number;
  /** device memory the sampler's worst case took (reserveSampling) and the decode graphs hold (captureDecodeGraphs),
   *  measured as free-memory deltas; 0 until those ran */
  samplingBytes: number;
  graphBytes: number;
}

/** what CudaModel.captureDecodeGraphs did */
export interface CudaGraphCaptureReport {
  graphs: number;
  milliseconds: number;
  bytes: number;
}

/**
 * One step's GPU sampling request (native/cuda/sampling_api.h): sample row i is logit row i of the forward begun
 * last. Built by src/native/cuda-sampling.ts.
 */
export interface NativeSampleRequest {
  numRows: number;
  /** [numRows, ROW_INT_FIELDS] (field order: cuda-sampling.ts RowInt) */
  rowInts: Int32Array;
  /** [numRows, ROW_FLOAT_FIELDS] (field order: cuda-sampling.ts RowFloat) */
  rowFloats: Float64Array;
  /** rows of ceil(vocab / 32) words, bit set = allowed: the grammar masks, and the allowed/banned-id masks */
  grammarMasks: Int32Array;
  listMasks: Int32Array;
  /** logit bias entries of all rows (each row names its range) */
  biasIds: Int32Array;
  biasValues: Float64Array;
  /** per penalty row: its prompt ids then its output ids */
  penaltyIds: Int32Array;
  /** logit rows copied back (prompt logprobs), in this order */
  copyRows: Int32Array;
}

/** GPU timings of one step (cudaEvents) and the host time of the sampling call on the worker thread */
export interface NativeSampleTiming {
  forwardGpuMs: number;
  /** GPU idle between the forward's end and the sampling's start (waiting for masks / the host) */
  gpuGapMs: number;
  sampleGpuMs: number;
  hostPrepMs: number;
  /** the worker waiting for the stream (forward remainder + sampling + copies) */
  hostWaitMs: number;
}

export interface NativeSampleResult {
  /** per row: the token, -1 when the row's masks left none */
  tokens: Int32Array;
  /** per row asking for logprobs: the sampled token's raw logprob and rank */
  logprob: Float64Array;
  rank: Int32Array;
  /** stride of topIds / topLogprobs: the largest N asked this step */
  topN: number;
  /** [numRows, topN], best first; -1 past the vocabulary */
  topIds: Int32Array;
  topLogprobs: Float64Array;
  /** [copyRows.length, vocab] */
  logits: Float32Array;
  timing: NativeSampleTiming;
}

export interface NativeCudaModel extends NativeForwardModel {
  /** enqueues the forward on a worker thread; resolves without waiting for the GPU; sample() must follow */
  forwardBegin(batch: NativeForwardBatch): Promise<{ hostMs: number }>;
  /**
   * resolves once the GPU has finished the begun step's forward (a CUDA event waited for on a worker thread); the same
   * promise for every call of one step. Settles no later than the step's sample(): resolved first when sample()
   * succeeds, rejected when it fails first; rejected with the CUDA error when the forward failed on the GPU. Throws
   * without a begun step (before forwardBegin resolves, after sample() settles) and once closed.
   */
  forwardDone(): Promise<void>;
  /** GPU sampling of the forward begun last, on a worker thread (releases the model) */
  sample(request: NativeSampleRequest): Promise<NativeSampleResult>;
  memory(): CudaMemoryReport;
  /** replaces the paged KV cache (created with numBlocks 0 = none yet) */
  allocateKvCache(numBlocks: number): void;
  /** captures every decode graph (decodeBatchSizes x block-table stride buckets up to maxModelLen) at start-up */
  captureDecodeGraphs(): CudaGraphCaptureReport;
  /** grows the GPU sampler's buffers to a worst-case step of `rows` rows; returns the device bytes that took */
  reserveSampling(rows: number, penaltyIdsPerRow: number): number;
  close(): void;
}

export interface CudaDeviceInfo {
  name: string;
  totalMemory: number;
  freeMemory: number;
  computeCapability: string;
  multiprocessors: number;
}

export interface CudaInfo {
  /** whether the addon was built with nvcc */
  compiled: boolean;
  deviceCount: number;
  /** why there is no usable device ("no CUDA device: ..."), null when devices were found */
  error: string | null;
  devices: CudaDeviceInfo[];
}

export interface NativeAddon {
  CpuModel: new (
    spec: NativeModelSpec,
    tensors: NativeTensorRef[],
    options: { numBlocks: number; blockSize: number; numThreads?: number },
  ) => NativeCpuModel;
  /** present only when the addon was compiled with CUDA */
  CudaModel?: new (
    spec: NativeModelSpec,
    tensors: NativeTensorRef[],
    options: {
      numBlocks: number;
      blockSize: number;
      device?: number;
      dummyWeights?: boolean;
      seed?: number;
      maxNumTokens?: number;
      /** decode-sized GEMMs through the custom skinny kernel (default true; false = cuBLASLt for all) */
      skinnyGemm?: boolean;
      /** replay decode-only steps from captured CUDA graphs (default true; false = --enforce-eager) */
      cudaGraphs?: boolean;
      /** ascending sizes decode-only steps are padded up to (graph or eager); none: exact-size graphs up to 256 rows */
      decodeBatchSizes?: number[];
      /** bounds the block-table strides captureDecodeGraphs captures */
      maxModelLen?: number;
      /** storage type of weights, KV cache and low-precision activations (default bfloat16) */
      dtype?: WeightDtype;
      /** K/V cache type when not dtype (only float16 with bfloat16 weights is built; others are refused by name) */
      kvCacheDtype?: WeightDtype;
    },
  ) => NativeCudaModel;
  cudaInfo(): CudaInfo;
  /** present only with CUDA: device-to-device copy bandwidth in bytes/s (read + write) */
  cudaCopyBandwidth?: (device: number, bytes: number, iterations: number) => number;
  /** present only with CUDA: the GPU sampler alone on given logits [rows, vocab], synchronously (tests and tools) */
  cudaSampleLogits?: (device: number, vocab: number, logits: Float32Array, request: NativeSampleRequest) => NativeSampleResult;
  /** present only with CUDA: cudaMemGetInfo of a device */
  cudaMemoryInfo?: (device: number) => { free: number; total: number };
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_ADDON_PATH = join(repoRoot, 'build', 'native', 'Release', 'serval_native.node');

let cached: NativeAddon | null = null;

export function addonPath(): string {
  return process.env['SERVAL_NATIVE_ADDON'] ?? DEFAULT_ADDON_PATH;
}

/** The addon, loaded once. Throws naming the missing file and the command that builds it. */
export function loadNativeAddon(): NativeAddon {
  if (cached) return cached;
  const path = addonPath();
  if (!existsSync(path)) {
    throw new Error(
      `serval native addon not built: ${path} is missing. Build it with \`node scripts/build-native.mjs\` ` +
        '(runs on `npm install`; needs cmake and a C++17 compiler), or point SERVAL_NATIVE_ADDON at a built serval_native.node',
    );
  }
  const require = createRequire(import.meta.url);
  cached = require(path) as NativeAddon;
  return cached;
}

/** whether the addon file exists (it may still fail to load) */
export function nativeAddonBuilt(): boolean {
  return existsSync(addonPath());
}

export function cudaInfo(): CudaInfo {
  return loadNativeAddon().cudaInfo();
}

/** number of usable CUDA devices; 0 without GPU, driver, or a CUDA build */
export function cudaDeviceCount(): number {
  return cudaInfo().deviceCount;
}
