// Regexes for bounded numbers in canonical decimal form (no leading zeros, no exponent when bounded).
import { RNode, alt, ch, cls, lit, opt, rep, seq } from '../regex-ast.js';
import { UnsupportedSchemaError } from './keywords.js';

const D = cls([0x30, 0x39]);
const digitRange = (a: number, b: number): RNode => cls([0x30 + a, 0x30 + b]);

/** non-negative integers n with lo <= n <= hi (hi may be Infinity), written without leading zeros */
export function intRange(lo: number, hi: number): RNode | null {
  if (lo < 0 || hi < lo) return null;
  // exact integer values of the (double) bounds, so bounds beyond 2^53 work too
  const a0 = BigInt(lo);
  const parts: RNode[] = [];
  if (hi === Infinity) {
    // lo .. (10^len(lo) - 1), then every longer number
    const len = a0.toString().length;
    parts.push(...rangeSameLen(a0.toString(), '9'.repeat(len)));
    parts.push(seq([digitRange(1, 9), rep(D, len, Infinity)]));
    return alt(parts);
  }
  const h = BigInt(hi);
  let a = a0;
  while (a <= h) {
    const len = a.toString().length;
    const top = 10n ** BigInt(len) - 1n;
    const b = top < h ? top : h;
    parts.push(...rangeSameLen(a.toString(), b.toString()));
    a = b + 1n;
  }
  return alt(parts);
}

/** decimal strings of equal length, a <= b */
function rangeSameLen(a: string, b: string): RNode[] {
  if (a.length === 1) return [digitRange(Number(a), Number(b))];
  if (a[0] === b[0]) return rangeSameLen(a.slice(1), b.slice(1)).map((r) => seq([lit(a[0]!), r]));
  const out: RNode[] = [];
  const n = a.length - 1;
  const allZero = /^0*$/.test(a.slice(1));
  const allNine = /^9*$/.test(b.slice(1));
  const fa = Number(a[0]);
  const fb = Number(b[0]);
  let from = fa;
  let to = fb;
  if (!allZero) {
    out.push(...rangeSameLen(a.slice(1), '9'.repeat(n)).map((r) => seq([lit(a[0]!), r])));
    from = fa + 1;
  }
  if (!allNine) to = fb - 1;
  if (from <= to) out.push(seq([digitRange(from, to), rep(D, n, n)]));
  if (!allNine) out.push(...rangeSameLen('0'.repeat(n), b.slice(1)).map((r) => seq([lit(b[0]!), r])));
  return out;
}

export interface Bounds {
  lo: number; // -Infinity when absent
  loExclusive: boolean;
  hi: number; // Infinity when absent
  hiExclusive: boolean;
}

/** integers within bounds (bounds may be fractional) */
export function integerRegex(b: Bounds): RNode | null {
  const lo = b.lo === -Infinity ? -Infinity : b.loExclusive ? Math.floor(b.lo) + 1 : Math.ceil(b.lo);
  const hi = b.hi === Infinity ? Infinity : b.hiExclusive ? Math.ceil(b.hi) - 1 : Math.floor(b.hi);
  if (lo > hi) return null;
  const parts: RNode[] = [];
  // non-negative part
  if (hi >= 0) {
    const r = intRange(Math.max(lo, 0), hi);
    if (r) parts.push(r);
  }
  // negative part: -(1 .. -lo)
  if (lo < 0) {
    const r = intRange(Math.max(1, hi === Infinity ? 1 : -Math.min(hi, -1)), -lo);
    if (r) parts.push(seq([ch(0x2d), r]));
  }
  return parts.length ? alt(parts) : null;
}

const FRACTION = seq([ch(0x2e), rep(D, 1, Infinity)]);
const ZERO_FRACTION = opt(seq([ch(0x2e), rep(ch(0x30), 1, Infinity)]));
const NONZERO_FRACTION = seq([ch(0x2e), rep(D, 0, Infinity), digitRange(1, 9), rep(D, 0, Infinity)]);
export const UNBOUNDED_NUMBER: RNode = seq([
  opt(ch(0x2d)),
  alt([ch(0x30), seq([digitRange(1, 9), rep(D, 0, Infinity)])]),
  opt(FRACTION),
  opt(seq([cls([0x45, 0x45, 0x65, 0x65]), opt(cls([0x2b, 0x2b, 0x2d, 0x2d])), rep(D, 1, Infinity)])),
]);

/**
 * Numbers within integer-valued bounds, written as decimals without exponent. Fractional bounds are not
 * supported (the caller reports them).
 */
export function numberRegex(b: Bounds): RNode | null {
  if (b.lo === -Infinity && b.hi === Infinity) return UNBOUNDED_NUMBER;
  for (const v of [b.lo, b.hi]) {
    if (Number.isFinite(v) && !Number.isInteger(v)) throw new UnsupportedSchemaError(v === b.lo ? 'minimum' : 'maximum', `fractional bound ${v} on type number`);
  }
  const parts: RNode[] = [];
  // magnitude m = I.F; for value v >= 0: v in [I, I+1). For v < 0: -v in [I, I+1).
  // non-negative values: integer part I with I >= lo' and the pieces at the edges
  const addPositive = (loV: number, loEx: boolean, hiV: number, hiEx: boolean) => {
    // values v with v >= 0 in the interval
    const lo = Math.max(loV, 0);
    const loExcl = loV >= 0 ? loEx : false;
    if (hiV < lo || (hiV === lo && (hiEx || loExcl))) return;
    // full units [I, I+1) entirely inside: I from (lo or lo+... ) to (hi-1)
    const firstFull = loExcl ? lo + 1 : lo;
    const lastFull = hiV === Infinity ? Infinity : hiV - 1;
    const full = intRange(firstFull, lastFull);
    if (full) parts.push(seq([full, opt(FRACTION)]));
    if (loExcl) parts.push(seq([lit(String(lo)), NONZERO_FRACTION])); // (lo, lo+1)
    if (hiV !== Infinity && !hiEx && hiV >= firstFull) parts.push(seq([lit(String(hiV)), ZERO_FRACTION]));
  };
  addPositive(b.lo, b.loExclusive, b.hi, b.hiExclusive);
  if (b.lo < 0) {
    // negative values: magnitude in (max(0,-hi) .. -lo]
    const magHi = -b.lo;
    const magHiEx = b.loExclusive;
    const magLo = b.hi === Infinity || b.hi >= 0 ? 0 : -b.hi;
    const magLoEx = b.hi === Infinity || b.hi >= 0 ? true : b.hiExclusive;
    const before = parts.length;
    addPositive(magLo, magLoEx, magHi, magHiEx);
    const neg = parts.splice(before);
    if (neg.length) parts.push(seq([ch(0x2d), alt(neg)]));
  }
  return parts.length ? alt(parts) : null;
}
