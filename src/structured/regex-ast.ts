// The regex-like AST every lexeme is written in. Character classes hold code point ranges; how a character is
// spelled in bytes (raw UTF-8 or inside a JSON string literal) is decided when the lexeme is compiled.

export type RNode =
  | { k: 'cls'; r: number[] } // sorted, merged code point ranges [lo0, hi0, lo1, hi1, ...]
  | { k: 'seq'; xs: RNode[] }
  | { k: 'alt'; xs: RNode[] }
  | { k: 'rep'; x: RNode; min: number; max: number } // max = Infinity for unbounded
  | { k: 'json'; x: RNode } // x's characters spelled as inside a JSON string literal (canonical escapes)
  | { k: 'notOneOf'; names: string[] } // any JSON-spelled string except these (built as a trie, see lexemes.ts)
  | { k: 'and'; xs: RNode[] } // strings every operand matches (product construction, see lexemes.ts)
  | { k: 'len'; x: RNode; min: number; max: number }; // x's strings of min..max characters (one counter, see lexemes.ts)

export const MAX_CODE_POINT = 0x10ffff;
export const EMPTY: RNode = { k: 'seq', xs: [] };

export function cls(ranges: number[]): RNode {
  return { k: 'cls', r: normalizeRanges(ranges) };
}
export function ch(cp: number): RNode {
  return { k: 'cls', r: [cp, cp] };
}
export function seq(xs: RNode[]): RNode {
  const flat: RNode[] = [];
  for (const x of xs) {
    if (x.k === 'seq') flat.push(...x.xs);
    else flat.push(x);
  }
  return flat.length === 1 ? flat[0]! : { k: 'seq', xs: flat };
}
export function alt(xs: RNode[]): RNode {
  return xs.length === 1 ? xs[0]! : { k: 'alt', xs };
}
export function rep(x: RNode, min: number, max: number): RNode {
  return { k: 'rep', x, min, max };
}
export function opt(x: RNode): RNode {
  return rep(x, 0, 1);
}
export function lit(text: string): RNode {
  const xs: RNode[] = [];
  for (const c of text) xs.push(ch(c.codePointAt(0)!));
  return seq(xs);
}
export const ANY_CHAR: RNode = cls([0, MAX_CODE_POINT]);

export function normalizeRanges(r: number[]): number[] {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < r.length; i += 2) if (r[i]! <= r[i + 1]!) pairs.push([r[i]!, r[i + 1]!]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1]! + 1) out[n - 1] = Math.max(out[n - 1]!, hi);
    else out.push(lo, hi);
  }
  return out;
}

export function negateRanges(r: number[]): number[] {
  const n = normalizeRanges(r);
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < n.length; i += 2) {
    if (n[i]! > next) out.push(next, n[i]! - 1);
    next = n[i + 1]! + 1;
  }
  if (next <= MAX_CODE_POINT) out.push(next, MAX_CODE_POINT);
  return out;
}

export function subtractRanges(a: number[], b: number[]): number[] {
  return intersectRanges(a, negateRanges(b));
}

export function intersectRanges(a: number[], b: number[]): number[] {
  const out: number[] = [];
  const x = normalizeRanges(a);
  const y = normalizeRanges(b);
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const lo = Math.max(x[i]!, y[j]!);
    const hi = Math.min(x[i + 1]!, y[j + 1]!);
    if (lo <= hi) out.push(lo, hi);
    if (x[i + 1]! < y[j + 1]!) i += 2;
    else j += 2;
  }
  return out;
}

/** does the node match the empty string */
export function nullable(n: RNode): boolean {
  switch (n.k) {
    case 'cls':
      return false;
    case 'seq':
      return n.xs.every(nullable);
    case 'alt':
      return n.xs.some(nullable);
    case 'rep':
      return n.min === 0 || nullable(n.x);
    case 'json':
      return nullable(n.x);
    case 'notOneOf':
      return !n.names.includes('');
    case 'and':
      return n.xs.every(nullable);
    case 'len':
      return n.min === 0 && nullable(n.x);
  }
}

/** does the pattern hold a node of one of these kinds */
export function containsKind(n: RNode, kinds: ReadonlyArray<RNode['k']>): boolean {
  if (kinds.includes(n.k)) return true;
  switch (n.k) {
    case 'seq':
    case 'alt':
    case 'and':
      return n.xs.some((x) => containsKind(x, kinds));
    case 'rep':
    case 'json':
    case 'len':
      return containsKind(n.x, kinds);
    default:
      return false;
  }
}

export function jsonSpelled(x: RNode): RNode {
  return { k: 'json', x };
}

/**
 * An exact, compact identity of a node (equal keys: equal nodes). Every form is self-delimiting, so children
 * need no separators; a run of single characters is written as one JSON string.
 */
export function nodeKey(n: RNode): string {
  switch (n.k) {
    case 'cls':
      return `[${n.r.join(',')}]`;
    case 'seq': {
      if (n.xs.length > 0 && n.xs.every((x) => x.k === 'cls' && x.r.length === 2 && x.r[0] === x.r[1])) {
        return JSON.stringify(String.fromCodePoint(...n.xs.map((x) => (x as { r: number[] }).r[0]!)));
      }
      return `(${n.xs.map(nodeKey).join('')})`;
    }
    case 'alt':
      return `<${n.xs.map(nodeKey).join('')}>`;
    case 'rep':
      return `{${n.min},${n.max}}${nodeKey(n.x)}`;
    case 'json':
      return `J${nodeKey(n.x)}`;
    case 'len':
      return `L${n.min},${n.max}${nodeKey(n.x)}`;
    case 'notOneOf':
    case 'and':
      return JSON.stringify(n);
  }
}
