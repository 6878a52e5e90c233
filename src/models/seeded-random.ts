// Deterministic pseudo-random numbers for test models: every tensor gets its own stream derived from
// (seed, tensor name), so values do not depend on tensor order or on how the model is sharded.

/** 32-bit FNV-1a of a string */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32: small, fast, good enough for weights */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function tensorRandom(seed: number, tensorName: string): () => number {
  return mulberry32(hashString(`${seed >>> 0}:${tensorName}`));
}

/** values uniform in [-a, a] with standard deviation `std` */
export function fillUniform(out: Float32Array, rand: () => number, std: number, mean = 0): Float32Array {
  const a = std * Math.sqrt(3);
  for (let i = 0; i < out.length; i++) out[i] = mean + (2 * rand() - 1) * a;
  return out;
}
