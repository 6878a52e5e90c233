// Counter-based RNG: the uniform number for a sequence's k-th output token is a pure function of (seed, k), so a
// seeded request samples the same tokens whatever else shares its batch, and no generator state has to be kept.

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** uniform in [0, 1) with 53 random bits, determined by (seed, counter) */
export function counterUniform(seed: number, counter: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  const k = counter >>> 0;
  const h = mix32(mix32(mix32(lo ^ 0x9e3779b9) ^ hi) ^ mix32(k + 0x632be5ab));
  const a = mix32(h ^ 0x85ebca6b) >>> 5; // 27 bits
  const b = mix32(h ^ 0xc2b2ae35 ^ mix32(k ^ lo)) >>> 6; // 26 bits
  return (a * 67108864 + b) / 9007199254740992;
}

/** a 32-bit seed derived from the engine seed and a request's arrival index (for requests without a seed) */
export function derivedSeed(engineSeed: number, index: number): number {
  return mix32(mix32((engineSeed >>> 0) ^ 0x27d4eb2f) ^ mix32(index >>> 0));
}
