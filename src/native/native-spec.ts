// ModelConfig + checkpoint → what the native addon needs: the model shape and each weight's file location (mmapped
// by the addon, so weights never pass through the JS heap).
import type { ModelConfig } from '../loader/model-config-types.js';
import { Checkpoint } from '../loader/safetensors.js';
import { weightLayout } from '../models/weight-layout.js';
import type { NativeModelSpec, NativeTensorRef } from './addon.js';

export function nativeModelSpec(config: ModelConfig): NativeModelSpec {
  const rs = config.ropeScaling;
  return {
    hiddenSize: config.hiddenSize,
    intermediateSize: config.intermediateSize,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    numKvHeads: config.numKvHeads,
    headDim: config.headDim,
    vocabSize: config.vocabSize,
    rmsNormEps: config.rmsNormEps,
    ropeTheta: config.ropeTheta,
    ropeScaling:
      rs.type === 'llama3'
        ? {
            type: 'llama3',
            factor: rs.factor,
            lowFreqFactor: rs.lowFreqFactor,
            highFreqFactor: rs.highFreqFactor,
            originalMaxPositionEmbeddings: rs.originalMaxPositionEmbeddings,
          }
        : { type: 'default' },
    tieWordEmbeddings: config.tieWordEmbeddings,
    attentionBias: config.attentionBias,
    qkNorm: config.qkNorm,
  };
}

/** Locations of every tensor the architecture needs (shape-checked by the addon against the layout). */
export function nativeTensorRefs(config: ModelConfig, checkpoint: Checkpoint): NativeTensorRef[] {
  return weightLayout(config).map((w) => {
    const loc = checkpoint.location(w.name);
    return { name: w.name, file: loc.file, offset: loc.offset, dtype: loc.dtype, shape: loc.shape };
  });
}
