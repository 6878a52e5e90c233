// Cached masks kept as the lexer walk's mask they were computed from plus the words where they differ. A cold
// mask used to be a new 19 KB copy (Qwen3's 151k ids): its first touch costs ~20 µs of page faults, most of a
// typical cold mask's time, and the copies kept by the caches are what grows the heap until collections pause a
// mask. Most masks differ from their walk's mask in a few words (tokens crossing a lexeme end), and the walk's mask
// is kept anyway (shared by every mask from that lexer state), so masks are computed in one scratch buffer that
// notes the words tokens were added to, and kept as a short diff; those that differ in more than a third of their
// words are kept whole.
import { copyMask, cutInts } from './mask-blocks.js';
import { type PackedMask, packedOf } from './packed-mask.js';

const NO_DIFF = new Int32Array(0);

export class StoredMask {
  /** `base` packed where it is nearly empty (packed-mask.ts): written from that, not copied */
  private readonly packed: PackedMask | null;

  /** `diff`: pairs (word index, word) where the mask differs from `base`; `whole`: base is this mask's own copy */
  constructor(
    private readonly base: Int32Array,
    private readonly diff: Int32Array,
    private readonly whole: boolean,
  ) {
    this.packed = packedOf(base);
  }

  /**
   * the words where this mask differs from its lexer walk's mask, as (word index, word) pairs; null when it is kept
   * whole. A worker sends them with its answer: the engine thread's walk of the same state has the same mask, so
   * it stores the worker's mask from them without comparing every word (mask-adoption.ts).
   */
  get walkDiff(): Int32Array | null {
    return this.whole ? null : this.diff;
  }

  /** how many 32-bit words this mask holds of its own (tests read this) */
  get ownWords(): number {
    return this.whole ? this.base.length : this.diff.length;
  }

  writeTo(out: Int32Array, offset: number): void {
    if (this.packed) this.packed.writeTo(out, offset);
    else out.set(this.base, offset);
    const d = this.diff;
    const n = d.length;
    for (let k = 0; k < n; k += 2) {
      const w = d[k]!;
      out[offset + w] = d[k + 1]!;
    }
  }
}

/**
 * The one buffer masks are computed in (per width; the engine thread computes one mask at a time): a mask starts as
 * the walk's mask without copying it, and only the words tokens are added to are held here (each copied from the
 * base when first touched), so storing it looks at those words only (a compare of every word costs about what the
 * page faults of a new copy did) and the whole mask is written once, by the stored mask into the step's row.
 */
export class MaskScratch {
  private readonly words: Int32Array;
  private readonly isTouched: Uint8Array;
  private readonly touched: Int32Array;
  private touchedCount = 0;
  private base: Int32Array;

  constructor(readonly width: number) {
    this.words = new Int32Array(width);
    this.isTouched = new Uint8Array(width);
    this.touched = new Int32Array(width);
    this.base = this.words;
  }

  /** start a mask from `base` (same width); the previous mask is gone */
  start(base: Int32Array): void {
    if (base.length !== this.width) throw new Error(`internal: a mask of ${this.width} words from a base of ${base.length}`);
    for (let k = 0; k < this.touchedCount; k++) this.isTouched[this.touched[k]!] = 0;
    this.touchedCount = 0;
    this.base = base;
  }

  /** allow token `t` */
  add(t: number): void {
    const w = t >>> 5;
    if (this.isTouched[w] === 0) {
      this.isTouched[w] = 1;
      this.touched[this.touchedCount++] = w;
      this.words[w] = this.base[w]!;
    }
    this.words[w] |= 1 << (t & 31);
  }

  /** the mask as it is now, kept apart from this buffer: a diff against its base, or a whole copy */
  store(): StoredMask {
    const { words, base, touched } = this;
    let n = 0;
    for (let k = 0; k < this.touchedCount; k++) if (words[touched[k]!] !== base[touched[k]!]) n++;
    if (n === 0) return new StoredMask(base, NO_DIFF, false);
    if (3 * n > words.length) {
      const whole = copyMask(base);
      for (let k = 0; k < this.touchedCount; k++) whole[touched[k]!] = words[touched[k]!]!;
      return new StoredMask(whole, NO_DIFF, true);
    }
    const diff = cutInts(2 * n);
    let j = 0;
    for (let k = 0; k < this.touchedCount; k++) {
      const w = touched[k]!;
      if (words[w] !== base[w]) {
        diff[j++] = w;
        diff[j++] = words[w]!;
      }
    }
    return new StoredMask(base, diff, false);
  }
}

/** a mask kept as `base` (a walk's mask) plus `walkDiff` pairs (a StoredMask's, from another thread): copied here */
export function maskFromWalkDiff(base: Int32Array, walkDiff: Int32Array): StoredMask {
  if (walkDiff.length === 0) return new StoredMask(base, NO_DIFF, false);
  const diff = cutInts(walkDiff.length);
  diff.set(walkDiff);
  for (let k = 0; k < diff.length; k += 2) {
    if (!(diff[k]! >= 0 && diff[k]! < base.length)) throw new Error(`internal: a mask diff names word ${diff[k]} of ${base.length}`);
  }
  return new StoredMask(base, diff, false);
}

/**
 * `mask` (computed elsewhere: a worker's) kept as a diff against `base`, the walk's mask it was computed from, or
 * whole when more than a third of the words differ; every word is compared (the mask's scratch notes are not here)
 */
export function diffMask(mask: Int32Array, base: Int32Array): StoredMask {
  if (mask.length !== base.length) throw new Error(`internal: a ${mask.length}-word mask against a ${base.length}-word base`);
  let n = 0;
  for (let w = 0; w < mask.length; w++) if (mask[w] !== base[w]) n++;
  if (n === 0) return new StoredMask(base, NO_DIFF, false);
  if (3 * n > mask.length) return wholeMask(mask);
  const diff = cutInts(2 * n);
  let j = 0;
  for (let w = 0; w < mask.length; w++) {
    if (mask[w] !== base[w]) {
      diff[j++] = w;
      diff[j++] = mask[w]!;
    }
  }
  return new StoredMask(base, diff, false);
}

const walkMasks = new WeakMap<Int32Array, StoredMask>();

/** a lexer walk's own mask as a stored mask (one per walk mask: a parser-free class's masks, CompiledGrammar.maskKey) */
export function walkMaskOf(inner: Int32Array): StoredMask {
  let m = walkMasks.get(inner);
  if (!m) walkMasks.set(inner, (m = new StoredMask(inner, NO_DIFF, false)));
  return m;
}

/** a copy of `mask` kept whole */
export function wholeMask(mask: Int32Array): StoredMask {
  return new StoredMask(copyMask(mask), NO_DIFF, true);
}

const scratch = new Map<number, MaskScratch>();

/** the scratch buffer of this width */
export function maskScratch(words: number): MaskScratch {
  let s = scratch.get(words);
  if (!s) scratch.set(words, (s = new MaskScratch(words)));
  return s;
}
