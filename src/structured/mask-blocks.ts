// Token bitmasks cut from shared blocks. A mask is ~19 KB (Qwen3's 151k ids) and a first request computes
// hundreds (one per new lexer walk and one per new mask-cache entry), nearly all kept in caches. Allocated one by
// one, each is an ArrayBuffer whose backing store V8 counts as external memory, and that growth is what starts
// garbage collections, which then pause whichever mask is running. Cut MASKS_PER_BLOCK at a time from one buffer.
// A new block costs the mask that needs it 30-150 µs on a first request (2-core box: the allocation, not the size),
// so blocks hold 32 masks (600 KB; 8 before: one new lexer walk in eight paid it). A block lives as long as any mask
// cut from it: a long-lived mask keeps at most 31 dead ones.

const MASKS_PER_BLOCK = 32;

/** per mask width (a process may serve vocabularies of several sizes): the block being cut and how far */
const blocks = new Map<number, { block: Int32Array; used: number }>();

/** a zeroed mask of `words` 32-bit words (a view into a shared block: never transfer its buffer) */
export function newMask(words: number): Int32Array {
  let b = blocks.get(words);
  if (!b || b.used === MASKS_PER_BLOCK) {
    b = { block: new Int32Array(words * MASKS_PER_BLOCK), used: 0 };
    blocks.set(words, b);
  }
  const at = words * b.used++;
  return b.block.subarray(at, at + words);
}

/** a copy of `mask` cut from a block */
export function copyMask(mask: Int32Array): Int32Array {
  const out = newMask(mask.length);
  out.set(mask);
  return out;
}

/** ints per block of cutInts (a mask's diff is a few dozen) */
const INTS_PER_BLOCK = 16384;
let intBlock = new Int32Array(INTS_PER_BLOCK);
let intsUsed = 0;

/**
 * `n` zeroed ints cut from a shared block (a stored mask's diff): a typed array of its own was a backing store
 * allocated per mask, about half of storing a cold mask; a block lives as long as any array cut from it
 */
export function cutInts(n: number): Int32Array {
  if (n > INTS_PER_BLOCK / 4) return new Int32Array(n);
  if (intsUsed + n > INTS_PER_BLOCK) {
    intBlock = new Int32Array(INTS_PER_BLOCK);
    intsUsed = 0;
  }
  const at = intsUsed;
  intsUsed += n;
  return intBlock.subarray(at, at + n);
}
