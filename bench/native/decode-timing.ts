// Batch-1 decode time per token against the bandwidth floor (issue 6): dummy weights in a Qwen2.5 shape, a 32-token
// prompt, then the median of 64 one-token steps after 8 warm-up ones, timed from JavaScript. Floor = the bytes a
// decode step reads (in the storage dtype) / the measured device-to-device copy bandwidth. Used by cuda-check.ts and
// dtype-check.ts.
import { loadNativeAddon } from '../../src/native/addon.js';
import { NativeCudaForwardModel } from '../../src/native/cuda-backend.js';
import { createCudaSamplingBackend } from '../../src/native/cuda-sampling-backend.js';
import { resolveCudaKvCacheDtype } from '../../src/native/cuda-engine-backend.js';
import type { WeightDtype } from '../../src/loader/model-config-types.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { decodeReadBytes, QWEN25_SHAPES, weightBytes } from './model-shapes.js';

export interface DecodeTimingOptions {
  /** the GEMV decode path (false: cuBLASLt only) */
  skinnyGemm?: boolean;
  enforceEager?: boolean;
  /** the cuda backend's step (forward + greedy sampling on the GPU, only the token id comes back: what a greedy
   *  request runs); otherwise forward (the fp32 logits come back to the host) */
  greedy?: boolean;
  /** false builds the model with SERVAL_PDL=0 (plain launches in the decode layers) */
  pdl?: boolean;
  dtype?: WeightDtype;
  /** the K/V cache's type; default what the engine's --kv-cache-dtype auto gives for dtype */
  kvCacheDtype?: WeightDtype;
}

export async function measureBatch1Decode(shape: string, o: DecodeTimingOptions = {}) {
  const config = QWEN25_SHAPES[shape];
  if (!config) throw new Error(`unknown shape ${shape}`);
  const dtype = o.dtype ?? 'bfloat16';
  const kvCacheDtype = o.kvCacheDtype ?? resolveCudaKvCacheDtype('auto', dtype);
  const blockSize = 16, promptLen = 32, steps = 64;
  const numBlocks = Math.ceil((promptLen + steps + 16) / blockSize);
  const loadStart = performance.now();
  if (o.pdl === false) process.env['SERVAL_PDL'] = '0';
  let gpu: NativeCudaForwardModel;
  try {
    gpu = NativeCudaForwardModel.fromConfig(config, null, {
      numBlocks, blockSize, loadFormat: 'dummy', seed: 1, maxNumTokens: 512, skinnyGemm: o.skinnyGemm ?? true, enforceEager: o.enforceEager ?? false, dtype, kvCacheDtype,
    });
  } finally {
    if (o.pdl === false) delete process.env['SERVAL_PDL'];
  }
  const loadMs = performance.now() - loadStart;
  const backend = createCudaSamplingBackend(gpu, { numBlocks, blockSize, seed: 1 });
  const blockTable = Array.from({ length: numBlocks }, (_, i) => i);
  const prompt = Array.from({ length: promptLen }, (_, i) => (i * 7919) % 150000);
  gpu.forward(buildStepBatch([{ tokenIds: prompt, startPosition: 0, blockTable, sample: true }], blockSize));
  const times: number[] = [];
  for (let i = 0, pos = promptLen; i < steps + 8; i++) {
    const batch = buildStepBatch([{ tokenIds: [1000 + i], startPosition: pos++, blockTable, sample: true }], blockSize);
    const t0 = performance.now();
    if (o.greedy) {
      if ((await backend.execute(batch)).sampledTokenIds[0]! < 0) throw new Error('GPU greedy sampling returned no token');
    } else {
      gpu.forward(batch);
    }
    if (i >= 8) times.push(performance.now() - t0);
  }
  const memory = gpu.memory();
  gpu.close();
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const bandwidth = loadNativeAddon().cudaCopyBandwidth!(0, 1 << 30, 20);
  const elementBytes = dtype === 'float32' ? 4 : 2;
  const readBytes = (decodeReadBytes(config) * elementBytes) / 2; // decodeReadBytes counts 2-byte values
  const floorMs = (readBytes / bandwidth) * 1000;
  return {
    dtype,
    kvCacheDtype,
    weightGiB: ((weightBytes(config) * elementBytes) / 2) / 2 ** 30,
    decodeReadGiB: readBytes / 2 ** 30,
    copyBandwidthGBs: bandwidth / 1e9,
    floorMsPerToken: floorMs,
    medianMsPerToken: median,
    p10: times[Math.floor(times.length * 0.1)],
    p90: times[Math.floor(times.length * 0.9)],
    fractionOfFloorSpeed: floorMs / median,
    loadMs,
    memory,
  };
}
