// The fp32 building blocks of the reference forward pass. Inputs and outputs are flat row-major Float32Arrays;
// loops index typed arrays directly (no per-element allocation) because the test suite runs many steps.

/**
 * y[t, o] = sum_i x[t, i] * w[o, i] (+ bias[o]), for w in PyTorch's [out, in] layout.
 * Four rows share each pass over a weight row (weights are the memory traffic). Every output is summed in the same
 * order, in float64, whether its row is in a group of four or left over, so a token's result never depends on
 * which other tokens share the batch.
 */
export function linear(
  x: Float32Array,
  rows: number,
  w: Float32Array,
  bias: Float32Array | null,
  inDim: number,
  outDim: number,
  y: Float32Array = new Float32Array(rows * outDim),
): Float32Array {
  let t = 0;
  for (; t + 4 <= rows; t += 4) {
    const x0 = t * inDim;
    const x1 = x0 + inDim;
    const x2 = x1 + inDim;
    const x3 = x2 + inDim;
    for (let o = 0; o < outDim; o++) {
      const wOff = o * inDim;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let i = 0; i < inDim; i++) {
        const wi = w[wOff + i]!;
        a0 += x[x0 + i]! * wi;
        a1 += x[x1 + i]! * wi;
        a2 += x[x2 + i]! * wi;
        a3 += x[x3 + i]! * wi;
      }
      const b = bias ? bias[o]! : 0;
      y[t * outDim + o] = a0 + b;
      y[(t + 1) * outDim + o] = a1 + b;
      y[(t + 2) * outDim + o] = a2 + b;
      y[(t + 3) * outDim + o] = a3 + b;
    }
  }
  for (; t < rows; t++) {
    const xOff = t * inDim;
    for (let o = 0; o < outDim; o++) {
      const wOff = o * inDim;
      let acc = 0;
      for (let i = 0; i < inDim; i++) acc += x[xOff + i]! * w[wOff + i]!;
      y[t * outDim + o] = acc + (bias ? bias[o]! : 0);
    }
  }
  return y;
}

/** RMSNorm over each consecutive group of `dim` values (rows of hidden states, or heads for q/k norm) */
export function rmsNorm(x: Float32Array, groups: number, dim: number, weight: Float32Array, eps: number, out: Float32Array = new Float32Array(x.length)): Float32Array {
  for (let g = 0; g < groups; g++) {
    const off = g * dim;
    let sumSq = 0;
    for (let i = 0; i < dim; i++) sumSq += x[off + i]! * x[off + i]!;
    const inv = 1 / Math.sqrt(sumSq / dim + eps);
    for (let i = 0; i < dim; i++) out[off + i] = weight[i]! * Math.fround(x[off + i]! * inv);
  }
  return out;
}

/** SwiGLU: out = silu(gate) * up, elementwise */
export function swiGlu(gate: Float32Array, up: Float32Array, out: Float32Array = new Float32Array(gate.length)): Float32Array {
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
  return out;
}

export function addInPlace(acc: Float32Array, x: Float32Array): void {
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + x[i]!;
}
