// Code point ranges → sequences of UTF-8 byte ranges, so character classes become byte-level automata.
// Surrogates (U+D800..U+DFFF) are never encodable and are always removed.

export type ByteRangeSeq = Array<[number, number]>;

const MAX_CP = 0x10ffff;

/** split [lo, hi] into byte-range sequences; every sequence matches exactly the UTF-8 encodings in the range */
export function utf8Sequences(lo: number, hi: number): ByteRangeSeq[] {
  const out: ByteRangeSeq[] = [];
  if (hi > MAX_CP) hi = MAX_CP;
  if (lo > hi) return out;
  // surrogates are not characters
  if (lo <= 0xdfff && hi >= 0xd800) {
    if (lo < 0xd800) out.push(...utf8Sequences(lo, 0xd7ff));
    if (hi > 0xdfff) out.push(...utf8Sequences(0xe000, hi));
    return out;
  }
  for (const bound of [0x7f, 0x7ff, 0xffff]) {
    if (lo <= bound && hi > bound) return [...utf8Sequences(lo, bound), ...utf8Sequences(bound + 1, hi)];
  }
  splitSameLength(lo, hi, out);
  return out;
}

function encLen(cp: number): number {
  return cp <= 0x7f ? 1 : cp <= 0x7ff ? 2 : cp <= 0xffff ? 3 : 4;
}

function splitSameLength(lo: number, hi: number, out: ByteRangeSeq[]): void {
  const n = encLen(lo);
  for (let i = 1; i < n; i++) {
    const m = (1 << (6 * i)) - 1;
    if ((lo & ~m) !== (hi & ~m)) {
      if ((lo & m) !== 0) {
        splitSameLength(lo, lo | m, out);
        splitSameLength((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) !== m) {
        splitSameLength(lo, (hi & ~m) - 1, out);
        splitSameLength(hi & ~m, hi, out);
        return;
      }
    }
  }
  const a = encode(lo);
  const b = encode(hi);
  const seq: ByteRangeSeq = [];
  for (let i = 0; i < a.length; i++) seq.push([a[i]!, b[i]!]);
  out.push(seq);
}

export function encode(cp: number): number[] {
  if (cp <= 0x7f) return [cp];
  if (cp <= 0x7ff) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp <= 0xffff) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}
