// One grammar mask row per distinct mask. Rows of one schema in the same grammar state have equal masks (a 256-row
// step of the JSON-extraction workload has a handful of distinct ones), and the GPU sampler reads each row's mask
// through an index (sampling_api.h kRowGrammarMask), so only the distinct rows need the host copy into the pinned
// staging buffer and the upload that runs right after the forward (4.9 MB for 256 rows of a 152k vocabulary).

/** words of the fingerprint: the first ones (single bytes and ASCII punctuation, where JSON states differ most) */
const HEAD_WORDS = 8;
/** and every STRIDE-th word after them */
const STRIDE = 61;

/** a hash of a few words of the row: equal masks have equal fingerprints (unequal ones usually differ) */
function fingerprint(m: Int32Array, at: number, words: number): number {
  let h = 0x811c9dc5;
  const head = Math.min(HEAD_WORDS, words);
  for (let w = 0; w < head; w++) h = Math.imul(h ^ m[at + w]!, 16777619);
  for (let w = head; w < words; w += STRIDE) h = Math.imul(h ^ m[at + w]!, 16777619);
  return h >>> 0;
}

export interface DistinctMasks {
  /** the distinct masks, row after row: `bitmask` itself when every row has its own mask and all differ */
  masks: Int32Array;
  /** per row: its row in `masks`, or -1 for a row without a grammar mask */
  index: Int32Array;
}

/**
 * `bitmask` holds `rows.length` rows of `words` words; rows[i] = 1 marks a row with a grammar mask. A row the engine
 * pointed at an earlier one (sameAs[i] >= 0, StepBatch.grammarSameAs: its part of the bitmask is not written) takes
 * that row's mask; other equal masks are found by fingerprint and confirmed by a byte compare.
 */
export function distinctMasks(bitmask: Int32Array, rows: ArrayLike<number>, words: number, sameAs?: Int32Array | null): DistinctMasks {
  const n = rows.length;
  if (bitmask.length !== n * words) throw new Error(`grammar masks: the bitmask holds ${bitmask.length} words, expected ${n} rows × ${words}`);
  const index = new Int32Array(n).fill(-1);
  /** source row of each distinct mask */
  const source: number[] = [];
  const byPrint = new Map<number, number[]>();
  const bytes = Buffer.from(bitmask.buffer, bitmask.byteOffset, bitmask.byteLength);
  const rowBytes = words * 4;
  for (let i = 0; i < n; i++) {
    if (rows[i] !== 1) continue;
    const shares = sameAs ? sameAs[i]! : -1;
    if (shares >= 0) {
      if (!(shares < i && index[shares]! >= 0)) throw new Error(`grammar masks: row ${i} shares row ${shares}, which holds no earlier mask`);
      index[i] = index[shares]!;
      continue;
    }
    const print = fingerprint(bitmask, i * words, words);
    let same = byPrint.get(print);
    let k = -1;
    if (same) {
      for (const d of same) {
        const s = source[d]!;
        if (bytes.compare(bytes, s * rowBytes, (s + 1) * rowBytes, i * rowBytes, (i + 1) * rowBytes) === 0) {
          k = d;
          break;
        }
      }
    } else {
      byPrint.set(print, (same = []));
    }
    if (k < 0) {
      k = source.length;
      source.push(i);
      same.push(k);
    }
    index[i] = k;
  }
  if (source.length === n) return { masks: bitmask, index }; // every row has its own mask, in order
  const masks = new Int32Array(source.length * words);
  source.forEach((s, k) => masks.set(bitmask.subarray(s * words, (s + 1) * words), k * words));
  return { masks, index };
}
