// The native `cpu` backend: the C++ forward (fp32 compute, weights mmapped in their file dtype, multithreaded, run
// off the event loop) composed with the host sampler exactly as the ts backend composes the TypeScript model.
import { availableParallelism } from 'node:os';
import type { ModelConfig } from '../loader/model-config-types.js';
import { loadModelConfig } from '../loader/model-config.js';
import { Checkpoint } from '../loader/safetensors.js';
import type { Backend, StepBatch } from '../runner/batch.js';
import type { ForwardOutput } from '../runner/ts/ts-model.js';
import { loadNativeAddon, type NativeCpuModel } from './addon.js';
import { createNativeBackend } from './native-backend.js';
import { nativeForward, nativeForwardAsync } from './native-forward.js';
import { nativeModelSpec, nativeTensorRefs } from './native-spec.js';

export interface CpuModelOptions {
  numBlocks: number;
  blockSize: number;
  /** worker threads (default: all cores) */
  numThreads?: number;
}

/** The C++ model with the ts model's forward contract (ForwardOutput). */
export class NativeCpuForwardModel {
  readonly vocabSize: number;
  private constructor(
    readonly config: ModelConfig,
    private readonly model: NativeCpuModel,
    readonly numBlocks: number,
    readonly blockSize: number,
  ) {
    this.vocabSize = config.vocabSize;
  }

  static load(dir: string, opts: CpuModelOptions): NativeCpuForwardModel {
    const config = loadModelConfig(dir);
    const addon = loadNativeAddon();
    // The addon maps the files itself; the checkpoint is only needed for the tensor locations.
    const checkpoint = Checkpoint.open(dir);
    try {
      const model = new addon.CpuModel(nativeModelSpec(config), nativeTensorRefs(config, checkpoint), {
        numBlocks: opts.numBlocks,
        blockSize: opts.blockSize,
        numThreads: opts.numThreads ?? availableParallelism(),
      });
      return new NativeCpuForwardModel(config, model, opts.numBlocks, opts.blockSize);
    } finally {
      checkpoint.close();
    }
  }

  get numThreads(): number {
    return this.model.numThreads();
  }

  forward(batch: StepBatch): ForwardOutput {
    return nativeForward(this.model, batch, this.vocabSize);
  }

  /** the forward on a worker thread: the event loop keeps running */
  forwardAsync(batch: StepBatch): Promise<ForwardOutput> {
    return nativeForwardAsync(this.model, batch, this.vocabSize);
  }
}

export interface CpuBackendOptions extends CpuModelOptions {
  /** engine seed for rows without their own seed */
  seed: number;
  /** --load-format; the cpu backend reads safetensors only */
  loadFormat?: 'auto' | 'safetensors' | 'dummy';
}

export function createCpuBackend(dir: string, opts: CpuBackendOptions): Backend {
  if (opts.loadFormat === 'dummy') {
    throw new Error('--load-format dummy is not implemented for the native cpu backend (use --device ts or cuda)');
  }
  const model = NativeCpuForwardModel.load(dir, opts);
  // the forward runs on the addon's worker thread while the engine computes the grammar masks on its own; the
  // sampler needs both, so the step's logits count as ready once the masks are too (the engine is told when the
  // forward is done: its deadline for late masks starts then)
  const withMasks = {
    vocabSize: model.vocabSize,
    forwardAsync: async (batch: StepBatch) => {
      const out = await model.forwardAsync(batch);
      batch.logitsReady?.();
      if (batch.masksReady) await batch.masksReady;
      return out;
    },
  };
  return createNativeBackend(withMasks, {
    numBlocks: opts.numBlocks,
    blockSize: opts.blockSize,
    seed: opts.seed,
    kind: 'cpu',
    device: `cpu (native C++, fp32 compute, ${model.numThreads} threads)`,
  });
}
