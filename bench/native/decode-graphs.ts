// CUDA graphs at padded decode batch sizes and the cuBLASLt algorithm buckets, on the GPU machine (dummy weights in a
// real Qwen2.5 shape; results in bench/native/results, README section "Decode graphs at padded batch sizes"):
//   node decode-graphs.mjs padding SHAPE OUT.json   decode step GPU time, rows 1..256 at context 512: graphs per exact
//                                                   size (before) vs padded to vLLM's sizes, captured at start-up
//                                                   (after); the capture's time and memory; one graph per size at
//                                                   max-model-len's block-table stride (SERVAL_GRAPH_STRIDE=max;
//                                                   skipped with a 4th argument no-max-stride)
//   node decode-graphs.mjs gemm-shapes SHAPE OUT.json   host time of a prefill step's first use of a new token count,
//                                                   cuBLASLt heuristic per exact T (SERVAL_GEMM_ALGOS=exact) vs per
//                                                   power-of-two bucket (default)
// The tokenizer folder is SERVAL_TOKENIZER_DIR (the dummy model folder copies it).
import { writeFileSync } from 'node:fs';
import { runDecodeScaling } from '../gpu/decode-scaling.js';
import { writeDummyModelDir } from '../gpu/dummy-model-dir.js';
import { loadModelConfig } from '../../src/loader/model-config.js';
import { cudaInfo } from '../../src/native/addon.js';
import { NativeCudaForwardModel } from '../../src/native/cuda-backend.js';
import { decodeBatchSizes } from '../../src/native/decode-batch-sizes.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';

const tokenizerDir = process.env['SERVAL_TOKENIZER_DIR'];
if (!tokenizerDir) throw new Error('set SERVAL_TOKENIZER_DIR to a folder with tokenizer.json and tokenizer_config.json');
const [mode, shape, out, option] = process.argv.slice(2);
if (!shape || !out) throw new Error('usage: decode-graphs.mjs padding|gemm-shapes SHAPE OUT.json');
const save = (value: unknown) => writeFileSync(out, JSON.stringify(value, null, 2) + '\n');
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

async function withEnv<T>(name: string, value: string, f: () => Promise<T>): Promise<T> {
  process.env[name] = value;
  try {
    return await f();
  } finally {
    delete process.env[name];
  }
}

if (mode === 'padding') {
  const context = 512;
  const maxModelLen = 32768;
  const rows = Array.from({ length: 256 }, (_, i) => i + 1);
  const sizes = decodeBatchSizes(256, 8192);
  const exact = await runDecodeScaling(shape, tokenizerDir, rows, [context]);
  const padded = await runDecodeScaling(shape, tokenizerDir, rows, [context], { decodeBatchSizes: sizes, maxModelLen, captureGraphs: true });
  const strideRows = [1, 2, 4, 8, 16, 32, 64, 128, 256];
  const maxStride =
    option === 'no-max-stride'
      ? null
      : await withEnv('SERVAL_GRAPH_STRIDE', 'max', () => runDecodeScaling(shape, tokenizerDir, strideRows, [context], { decodeBatchSizes: sizes, maxModelLen }));
  const byRows = (r: typeof exact) => new Map(r.points.map((p) => [p.rows, p.forwardGpuMs]));
  const e = byRows(exact);
  const p = byRows(padded);
  const m = maxStride ? byRows(maxStride) : null;
  const ratio = rows.map((n) => p.get(n)! / e.get(n)!);
  save({
    shape,
    device: padded.device,
    context,
    maxModelLen,
    decodeBatchSizes: sizes,
    capture: padded.capture,
    summary: {
      meanPaddedOverExact: ratio.reduce((a, b) => a + b, 0) / ratio.length,
      worstPaddedOverExact: Math.max(...ratio),
      worstRows: rows[ratio.indexOf(Math.max(...ratio))],
      exactSumMs: rows.reduce((a, n) => a + e.get(n)!, 0),
      paddedSumMs: rows.reduce((a, n) => a + p.get(n)!, 0),
    },
    ...(m ? { strideAtMaxModelLen: strideRows.map((n) => ({ rows: n, bucketMs: p.get(n)!, maxStrideMs: m.get(n)!, ratio: m.get(n)! / p.get(n)! })) } : {}),
    points: rows.map((n) => ({ rows: n, paddedTo: sizes.find((s) => s >= n), exactMs: e.get(n)!, paddedMs: p.get(n)! })),
  });
  console.log(`padded/exact decode GPU time over rows 1..256 at ${context}: mean ${(ratio.reduce((a, b) => a + b, 0) / ratio.length).toFixed(3)}, worst ${Math.max(...ratio).toFixed(3)}`);
  console.log(`capture: ${JSON.stringify(padded.capture)}`);
} else if (mode === 'gemm-shapes') {
  const dir = writeDummyModelDir(shape, `/tmp/serval-dummy-${shape}`, tokenizerDir);
  const config = loadModelConfig(dir);
  const bs = 16;
  const maxT = 8192;
  // 48 distinct prefill sizes between 9 (the first cuBLASLt size) and 8192, as mixed steps bring them
  const sizes = Array.from({ length: 48 }, (_, i) => 9 + Math.floor(((i * 2654435761) % 4294967296) / 4294967296 * (maxT - 9)));
  const results: Record<string, unknown> = {};
  for (const algos of ['exact', 'bucketed']) {
    await withEnv('SERVAL_GEMM_ALGOS', algos, async () => {
      const model = NativeCudaForwardModel.fromConfig(config, dir, { numBlocks: maxT / bs + 1, blockSize: bs, loadFormat: 'dummy', maxNumTokens: maxT, enforceEager: true });
      try {
        const step = (t: number) => buildStepBatch([{ tokenIds: Array.from({ length: t }, (_, i) => (i * 31) % 1000), startPosition: 0, blockTable: Array.from({ length: Math.ceil(t / bs) }, (_, b) => b), sample: true }], bs);
        model.forward(step(maxT));  // activations at their largest, so first uses below allocate nothing
        const timed = (t: number) => {
          const b = step(t);
          const t0 = performance.now();
          model.forward(b);
          return performance.now() - t0;
        };
        const points = sizes.map((t) => {
          const first = timed(t);
          const again = timed(t);
          return { tokens: t, firstMs: first, repeatMs: again, newShapeHostMs: first - again };
        });
        const extra = points.map((q) => q.newShapeHostMs);
        results[algos] = { medianNewShapeMs: median(extra), totalNewShapeMs: extra.reduce((a, b) => a + b, 0), points };
        console.log(`SERVAL_GEMM_ALGOS=${algos}: first use of a new T costs ${median(extra).toFixed(2)} ms median, ${extra.reduce((a, b) => a + b, 0).toFixed(0)} ms over ${sizes.length} sizes`);
      } finally {
        model.close();
      }
    });
  }
  save({ shape, device: cudaInfo().devices[0]?.name ?? 'unknown', sizes, ...results });
} else {
  throw new Error(`unknown mode "${mode}" (padding, gemm-shapes)`);
}
