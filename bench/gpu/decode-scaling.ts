// Where a decode step's GPU time goes, without touching the forward's code: the forward's GPU time (cudaEvents, via
// the cuda backend's sample() timing) of synthetic decode steps on a dummy-weight model, over batch rows × context
// length. Time that grows with the context is attention's (KV reads); the part at a short context is mostly the
// GEMMs, norms and the LM head. Each shape runs a few times after a warm-up (graph capture) and reports the median.
//   node run-gpu.mjs decode-scaling SHAPE OUT.json   (SERVAL_ATTENTION=legacy selects the legacy attention path)
// `model` options pick the graph policy (bench/native/decode-graphs.ts: exact-size graphs vs padded batch sizes
// captured at start-up, whose capture report comes back as `capture`).
import type { CudaGraphCaptureReport } from '../../src/native/addon.js';
import { loadModelConfig } from '../../src/loader/model-config.js';
import { NativeCudaForwardModel, type CudaModelOptions } from '../../src/native/cuda-backend.js';
import { buildSampleRequest } from '../../src/native/cuda-sampling.js';
import { logitLayout, toNativeBatch } from '../../src/native/native-forward.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { writeDummyModelDir } from './dummy-model-dir.js';

export interface DecodePoint {
  rows: number;
  context: number;
  forwardGpuMs: number;
  sampleGpuMs: number;
}

export interface DecodeScalingModel {
  decodeBatchSizes?: CudaModelOptions['decodeBatchSizes'];
  maxModelLen?: number;
  /** captureDecodeGraphs() before the first step (needs decodeBatchSizes and maxModelLen) */
  captureGraphs?: boolean;
}

export async function runDecodeScaling(
  shape: string,
  tokenizerDir: string,
  rowsList: number[],
  contexts: number[],
  modelOptions: DecodeScalingModel = {},
): Promise<{ device: string; attention: string; points: DecodePoint[]; capture?: CudaGraphCaptureReport }> {
  const dir = writeDummyModelDir(shape, `/tmp/serval-dummy-${shape}`, tokenizerDir);
  const config = loadModelConfig(dir);
  const bs = 16;
  const maxRows = Math.max(...rowsList);
  const maxCtx = Math.max(...contexts);
  const perRow = Math.ceil(maxCtx / bs);
  const { captureGraphs, ...graphOptions } = modelOptions;
  const model = NativeCudaForwardModel.fromConfig(config, dir, { numBlocks: maxRows * perRow, blockSize: bs, loadFormat: 'dummy', maxNumTokens: 8192, ...graphOptions });
  const points: DecodePoint[] = [];
  try {
    const capture = captureGraphs ? model.captureDecodeGraphs() : undefined;
    if (capture) console.error(`[${shape}] captured ${capture.graphs} graphs in ${capture.milliseconds.toFixed(0)} ms, ${(capture.bytes / 2 ** 20).toFixed(1)} MiB`);
    for (const rows of rowsList) {
      for (const context of contexts) {
        const batch = buildStepBatch(
          Array.from({ length: rows }, (_, r) => ({ tokenIds: [(r * 31) % 1000], startPosition: context - 1, blockTable: Array.from({ length: perRow }, (_, b) => r * perRow + b), sample: true })),
          bs,
        );
        const layout = logitLayout(batch);
        const req = buildSampleRequest(batch, layout, config.vocabSize, { seed: 0, counter: 0 });
        const fwd: number[] = [];
        const smp: number[] = [];
        for (let i = 0; i < 6; i++) {
          await model.forwardBegin(toNativeBatch(batch, layout.tokenIndices));
          const out = await model.sample(req);
          if (i >= 1) {
            fwd.push(out.timing.forwardGpuMs);
            smp.push(out.timing.sampleGpuMs);
          }
        }
        const median = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!;
        points.push({ rows, context, forwardGpuMs: median(fwd), sampleGpuMs: median(smp) });
        console.error(`[${shape}] rows ${rows} context ${context}: forward ${median(fwd).toFixed(2)} ms GPU, sampling ${median(smp).toFixed(3)} ms`);
      }
    }
    return { device: model.deviceName, attention: process.env['SERVAL_ATTENTION'] ?? 'auto', points, ...(capture ? { capture } : {}) };
  } finally {
    model.close();
  }
}
