// Helpers for the structured-output tests that walk random outputs through a mask: a seeded generator (the same
// token choices on every run) and the token ids a bitmask allows.

/** a seeded xorshift generator in [0, 1) */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** the token ids whose bits are set in a bitmask */
export function allowedIds(mask: Int32Array): number[] {
  const ids: number[] = [];
  for (let w = 0; w < mask.length; w++) for (let v = mask[w]!; v !== 0; v &= v - 1) ids.push(w * 32 + (31 - Math.clz32(v & -v)));
  return ids;
}
