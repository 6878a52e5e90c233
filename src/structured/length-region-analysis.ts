// Which counts leave each state of a length region (lexemes.ts, buildLengthRegion) a completion within the
// region's bounds. From the region's end backwards, layer L holds the states that reach the end with exactly L
// characters (up to max; up to min when max is Infinity, past which counts saturate); a state at count c can finish
// if some layer in [min - c, max - c] holds it. States with equal answers at every count share one row, and counts
// at which every row answers alike, at the count and the next, share a class (the lexer DFA's guard signature).
// Small functions: V8 optimizes them at once, where one long function ran its loops unoptimized (35 against 20 ms
// for an email under maxLength 1000 on the 2-core box).

export interface LengthRegionAnalysis {
  /** distinct feasibility rows: entry c is 1 where count c can still finish (entry top + 1: the count after top) */
  rows: Uint8Array[];
  /** per node: its row */
  rowOf: Int32Array;
  /** per count 0..top: its class; how many classes */
  countClass: Int32Array;
  classCount: number;
  /** the most characters any node needs at least to reach the end */
  maxMinLen: number;
}

/**
 * `k` nodes with edges as (from, to) index pairs: `plain` ones read no character, `ticks` start one; `end`: the
 * region's last node; `min` / `max`: its bounds in characters.
 */
export function analyzeLengthRegion(k: number, plain: number[], ticks: number[], end: number, min: number, max: number): LengthRegionAnalysis {
  const unbounded = max === Infinity;
  const top = unbounded ? min : max;
  const [rev0Start, rev0] = reverseCsr(plain, k);
  const [rev1Start, rev1] = reverseCsr(ticks, k);
  const has = lengthLayers(rev0Start, rev0, rev1Start, rev1, end, top, unbounded);
  const sums = runningSums(has, k, top);
  const rows: Uint8Array[] = [];
  const rowOf = new Int32Array(k);
  const byHash = new Map<number, number[]>();
  for (let i = 0; i < k; i++) {
    const row = feasibleCounts(sums, k, i, min, unbounded ? -1 : max, top);
    const h = hashBytes(row);
    let bucket = byHash.get(h);
    if (!bucket) byHash.set(h, (bucket = []));
    let id = bucket.find((r) => sameBytes(rows[r]!, row));
    if (id === undefined) {
      id = rows.push(row) - 1;
      bucket.push(id);
    }
    rowOf[i] = id;
  }
  const countClass = new Int32Array(top + 1);
  const representative: number[] = [];
  const alike = (a: number, b: number) => rows.every((row) => row[a] === row[b] && row[a + 1] === row[b + 1]);
  for (let c = 0; c <= top; c++) {
    let id = c > 0 && alike(c, c - 1) ? countClass[c - 1]! : representative.findIndex((d) => alike(c, d));
    if (id < 0) id = representative.push(c) - 1;
    countClass[c] = id;
  }
  return { rows, rowOf, countClass, classCount: representative.length, maxMinLen: maxOfShortest(has, k, top) };
}

/** the edges (from, to pairs over k nodes) reversed, in CSR: starts per node, and each node's sources */
function reverseCsr(pairs: number[], k: number): [Int32Array, Int32Array] {
  const start = new Int32Array(k + 1);
  for (let e = 0; e < pairs.length; e += 2) start[pairs[e + 1]! + 1]++;
  for (let i = 0; i < k; i++) start[i + 1] += start[i]!;
  const at = start.slice(0, k);
  const sources = new Int32Array(pairs.length >> 1);
  for (let e = 0; e < pairs.length; e += 2) sources[at[pairs[e + 1]!]!++] = pairs[e]!;
  return [start, sources];
}

/**
 * has[L * k + i]: node i reaches node `end` over the reversed graphs' edges with exactly L of weight 1 (rev1; rev0:
 * weight 0); L = top stands for at least top when unbounded
 */
function lengthLayers(rev0Start: Int32Array, rev0: Int32Array, rev1Start: Int32Array, rev1: Int32Array, end: number, top: number, unbounded: boolean): Uint8Array {
  const k = rev0Start.length - 1;
  const has = new Uint8Array((top + 1) * k);
  const stack = new Int32Array(k);
  /** layer L: what ticks into layer `from` (or the seed), then all that reaches those without a character; grew? */
  const layer = (L: number, from: number, seed: number): boolean => {
    const base = L * k;
    let sp = 0;
    if (seed >= 0 && !has[base + seed]) (has[base + seed] = 1), (stack[sp++] = seed);
    for (let i = 0; from >= 0 && i < k; i++) {
      if (!has[from * k + i]) continue;
      for (let j = rev1Start[i]!; j < rev1Start[i + 1]!; j++) {
        const p = rev1[j]!;
        if (!has[base + p]) (has[base + p] = 1), (stack[sp++] = p);
      }
    }
    const grew = sp > 0;
    while (sp > 0) {
      const i = stack[--sp]!;
      for (let j = rev0Start[i]!; j < rev0Start[i + 1]!; j++) {
        const p = rev0[j]!;
        if (!has[base + p]) (has[base + p] = 1), (stack[sp++] = p);
      }
    }
    return grew;
  };
  layer(0, -1, end);
  for (let L = 1; L <= top; L++) {
    layer(L, L - 1, -1);
    // each layer follows from the one before alone: once two are equal (or empty), so are all after them
    if (sameLayer(has, (L - 1) * k, L * k, k)) {
      for (let M = L + 1; M <= top; M++) has.copyWithin(M * k, L * k, (L + 1) * k);
      break;
    }
  }
  // unbounded: lengths past min all count as min, so the last layer also takes what ticks into itself
  if (unbounded) while (layer(top, top, -1)) {}
  return has;
}

/** over the k nodes that reach the end at all: the most characters one of them needs at least */
function maxOfShortest(has: Uint8Array, k: number, top: number): number {
  let most = 0;
  for (let i = 0; i < k; i++) {
    let L = 0;
    while (L <= top && !has[L * k + i]) L++;
    if (L <= top && L > most) most = L;
  }
  return most;
}

/** sums[L * k + i]: how many of the layers before L hold state i (small functions: V8 optimizes them at once) */
function runningSums(has: Uint8Array, k: number, top: number): Int32Array {
  const sums = new Int32Array((top + 2) * k);
  for (let L = 0; L <= top; L++) for (let i = 0; i < k; i++) sums[(L + 1) * k + i] = sums[L * k + i]! + has[L * k + i]!;
  return sums;
}

/**
 * Per count 0..top, 1 where state i reaches the end with a length in [min - count, max - count] (max -1: unbounded,
 * the top layer standing for every length from top on); entry top + 1: none past max, saturated past min.
 */
function feasibleCounts(sums: Int32Array, k: number, i: number, min: number, max: number, top: number): Uint8Array {
  const row = new Uint8Array(top + 2);
  for (let c = 0; c <= top; c++) {
    const lo = min > c ? min - c : 0;
    const hi = max < 0 ? top : max - c;
    row[c] = lo <= hi && sums[(hi + 1) * k + i]! - sums[lo * k + i]! > 0 ? 1 : 0;
  }
  row[top + 1] = max < 0 ? row[top]! : 0;
  return row;
}

function hashBytes(a: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i]!, 0x01000193);
  return h & 0x3fffffff;
}

function sameLayer(has: Uint8Array, a: number, b: number, k: number): boolean {
  for (let i = 0; i < k; i++) if (has[a + i] !== has[b + i]) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
