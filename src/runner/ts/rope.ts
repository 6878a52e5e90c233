// Rotary position embedding as Hugging Face applies it: `rotate_half` pairs dimension i with i + headDim/2
// (not adjacent pairs), and the frequencies come from rope_theta, optionally rescaled by Llama 3's scheme.
import type { RopeScaling } from '../../loader/model-config-types.js';

const f32 = Math.fround;

/**
 * inverse frequencies [headDim / 2], computed step by step in float32 exactly as transformers does, so they match
 * bit for bit (at position 100k a one-ulp difference in a frequency already moves the angle by ~1e-3).
 */
export function ropeInverseFrequencies(headDim: number, theta: number, scaling: RopeScaling): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = f32(1 / f32(f32(theta) ** f32((2 * i) / headDim)));
  if (scaling.type === 'llama3') applyLlama3Scaling(inv, scaling);
  return inv;
}

/** Llama 3: long wavelengths slow down by `factor`, short ones stay, the band between is interpolated */
function applyLlama3Scaling(inv: Float64Array, s: Extract<RopeScaling, { type: 'llama3' }>): void {
  const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < inv.length; i++) {
    const f = inv[i]!;
    const wavelen = f32(f32(2 * Math.PI) / f);
    if (wavelen < highFreqWavelen) continue;
    if (wavelen > lowFreqWavelen) {
      inv[i] = f32(f / s.factor);
      continue;
    }
    const smooth = f32(f32(f32(s.originalMaxPositionEmbeddings / wavelen) - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
    inv[i] = f32(f32(f32(f32(1 - smooth) * f) / s.factor) + f32(smooth * f));
  }
}

/** rotates `heads` consecutive vectors of length headDim at `offset` in place, for one token position */
export function applyRope(x: Float32Array, offset: number, heads: number, headDim: number, position: number, invFreq: Float64Array, cos: Float64Array, sin: Float64Array): void {
  const half = headDim / 2;
  for (let i = 0; i < half; i++) {
    const angle = Math.fround(position * invFreq[i]!);
    cos[i] = Math.fround(Math.cos(angle));
    sin[i] = Math.fround(Math.sin(angle));
  }
  for (let h = 0; h < heads; h++) {
    const base = offset + h * headDim;
    for (let i = 0; i < half; i++) {
      const a = x[base + i]!;
      const b = x[base + i + half]!;
      x[base + i] = a * cos[i]! - b * sin[i]!;
      x[base + i + half] = b * cos[i]! + a * sin[i]!;
    }
  }
}
