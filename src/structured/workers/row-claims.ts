// Who computes a posted row's mask: its worker or the engine thread. Each row of a fill has a word in a shared
// buffer; whoever moves it from UNCLAIMED first computes the mask, the other skips the row. The engine thread, idle
// once its cached rows are written, takes rows from the ends of the workers' lists (a worker reads its list from the
// front), so it covers the workers' time to wake up and the tail of the busiest one.

export const UNCLAIMED = 0;
export const BY_WORKER = 1;
export const BY_ENGINE = 2;

/** a fill's claim words (one int32 per row, over a SharedArrayBuffer) */
export function newClaims(rows: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, rows) * 4));
}

/** true if the caller now owns row k (`who`: BY_WORKER or BY_ENGINE); false if the other side took it first */
export function claimRow(claims: Int32Array, k: number, who: number): boolean {
  return Atomics.compareExchange(claims, k, UNCLAIMED, who) === UNCLAIMED;
}

export function claimedByEngine(claims: Int32Array, k: number): boolean {
  return Atomics.load(claims, k) === BY_ENGINE;
}

/**
 * the rows of the workers' lists, last ones first and across lists in turn (each list's last row, then each one's
 * second to last, ...): the order the engine thread takes them in, furthest from where each worker is reading
 */
export function tailFirst(lists: ReadonlyArray<readonly number[]>): number[] {
  const order: number[] = [];
  const longest = lists.reduce((n, l) => Math.max(n, l.length), 0);
  for (let d = 1; d <= longest; d++) for (const l of lists) if (l.length >= d) order.push(l[l.length - d]!);
  return order;
}
