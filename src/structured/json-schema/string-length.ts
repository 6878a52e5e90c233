// Combining a string pattern/format with minLength/maxLength without a general intersection of automata:
// either the pattern's own length bounds already satisfy the limits, or its one unbounded repetition of a
// single character class can absorb them. Anything else is refused by the caller.
import { RNode, rep, seq } from '../regex-ast.js';

/** fewest and most characters the pattern matches */
export function lengthBounds(n: RNode): [number, number] {
  switch (n.k) {
    case 'cls':
      return [1, 1];
    case 'json':
      return lengthBounds(n.x);
    case 'notOneOf':
      return [0, Infinity];
    case 'and': {
      const bs = n.xs.map(lengthBounds);
      return [Math.max(...bs.map((b) => b[0])), Math.min(...bs.map((b) => b[1]))];
    }
    case 'seq':
      return n.xs.reduce<[number, number]>(([a, b], x) => {
        const [c, d] = lengthBounds(x);
        return [a + c, b + d];
      }, [0, 0]);
    case 'alt': {
      const bs = n.xs.map(lengthBounds);
      return [Math.min(...bs.map((b) => b[0])), Math.max(...bs.map((b) => b[1]))];
    }
    case 'rep': {
      const [a, b] = lengthBounds(n.x);
      return [a * n.min, n.max === 0 ? 0 : b * n.max];
    }
    case 'len': {
      const [a, b] = lengthBounds(n.x);
      return [Math.max(a, n.min), Math.min(b, n.max)];
    }
  }
}

/** the pattern restricted to strings of minLength..maxLength characters, or null if this cannot be done exactly */
export function withLength(n: RNode, minLength: number, maxLength: number): RNode | null {
  const [lo, hi] = lengthBounds(n);
  if (lo >= minLength && hi <= maxLength) return n;
  const parts = n.k === 'seq' ? n.xs : [n];
  // exactly one part of variable length, a repetition of one character
  let variable = -1;
  let fixed = 0;
  for (let i = 0; i < parts.length; i++) {
    const [a, b] = lengthBounds(parts[i]!);
    if (a === b) fixed += a;
    else if (variable < 0 && parts[i]!.k === 'rep' && lengthBounds((parts[i] as { x: RNode }).x).join() === '1,1') variable = i;
    else return null;
  }
  if (variable < 0) return null;
  const r = parts[variable] as { k: 'rep'; x: RNode; min: number; max: number };
  const min = Math.max(r.min, minLength - fixed);
  const max = Math.min(r.max, maxLength - fixed);
  if (max < min || max < 0) return { k: 'alt', xs: [] };
  const out = [...parts];
  out[variable] = rep(r.x, Math.max(min, 0), max);
  return seq(out);
}
