// Nearly empty masks kept packed for writing. Writing a mask into a step's row copied its walk's mask whole: 19 KB
// (Qwen3's 151k ids) read from wherever that mask was, and a walk's mask is met again mostly after other masks
// pushed it out of the caches: a fifth of a first request's masks allow tokens in at most 48 of 4,740 words (inside
// a property name, between values), yet writing each took ~2 µs, as long as the rest of a cheap cold mask. Such a
// mask is also kept as its nonzero words, and written by clearing the row and setting those.

/** a mask's nonzero words as (word index, word) pairs */
export class PackedMask {
  constructor(
    private readonly width: number,
    private readonly pairs: Int32Array,
  ) {}

  writeTo(out: Int32Array, offset: number): void {
    out.fill(0, offset, offset + this.width);
    const pairs = this.pairs;
    const n = pairs.length;
    for (let k = 0; k < n; k += 2) {
      const w = pairs[k]!;
      out[offset + w] = pairs[k + 1]!;
    }
  }
}

/** masks with more nonzero words are copied whole (setting words one by one costs more than copying beyond this) */
const MAX_PACKED_WORDS = 64;

const packed = new WeakMap<Int32Array, PackedMask | null>();

/** `mask` packed (looked at once per mask object: it must not change afterwards), or null where it has too many words */
export function packedOf(mask: Int32Array): PackedMask | null {
  let p = packed.get(mask);
  if (p === undefined) {
    p = pack(mask);
    packed.set(mask, p);
  }
  return p;
}

function pack(mask: Int32Array): PackedMask | null {
  const pairs = new Int32Array(2 * MAX_PACKED_WORDS);
  let n = 0;
  const len = mask.length;
  const quads = len & ~3;
  let w = 0;
  for (; w < quads; w += 4) {
    // four words at a time: a sparse mask is nearly all zero quads
    if ((mask[w]! | mask[w + 1]! | mask[w + 2]! | mask[w + 3]!) === 0) continue;
    for (let v = w; v < w + 4; v++) {
      if (mask[v] === 0) continue;
      if (n === pairs.length) return null;
      pairs[n++] = v;
      pairs[n++] = mask[v]!;
    }
  }
  for (; w < len; w++) {
    if (mask[w] === 0) continue;
    if (n === pairs.length) return null;
    pairs[n++] = w;
    pairs[n++] = mask[w]!;
  }
  return new PackedMask(len, pairs.slice(0, n));
}
