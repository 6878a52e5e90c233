// Who computes a posted row's mask: its worker or the engine thread. Each row of a fill has a word in a shared
// buffer; whoever moves it from UNCLAIMED first computes the mask, the other skips the row. The engine thread, idle
// once its cached rows are written, takes rows from the ends of the workers' lists (a worker reads its list from the
// front), so it covers the workers' time to wake up and the tail of the busiest one. A worker marks each row it has
// written (WRITTEN): the engine thread reads the marks rather than waiting for the worker's answer, which comes after
// the worker's last row and may wait behind other answers on the engine thread (~50 µs each); it then marks the row
// TOLD, so that the answer only brings what caching the mask needs.

export const UNCLAIMED = 0;
export const BY_WORKER = 1;
export const BY_ENGINE = 2;
/** the worker's mask is in the bitmask (set after its words: whoever reads it with Atomics.load sees them) */
export const WRITTEN = 3;
/** written, and the engine thread was told so before the worker's answer came */
export const TOLD = 4;

/** a fill's claim words (one int32 per row, over a SharedArrayBuffer) */
export function newClaims(rows: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, rows) * 4));
}

/** true if the caller now owns row k (`who`: BY_WORKER or BY_ENGINE); false if the other side took it first */
export function claimRow(claims: Int32Array, k: number, who: number): boolean {
  return Atomics.compareExchange(claims, k, UNCLAIMED, who) === UNCLAIMED;
}

/** the worker that claimed row k has written its mask */
export function markWritten(claims: Int32Array, k: number): void {
  Atomics.store(claims, k, WRITTEN);
}

/** true if row k is written and not yet taken as such: it is TOLD from now on */
export function takeWritten(claims: Int32Array, k: number): boolean {
  return Atomics.compareExchange(claims, k, WRITTEN, TOLD) === WRITTEN;
}

/**
 * the pool's progress word (one int32 over a SharedArrayBuffer): bumped by every worker after each row it marks
 * written, so that the engine thread can wait for the next mark (Atomics.waitAsync) instead of the next answer
 */
export function newProgress(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

export function bumpProgress(progress: Int32Array): void {
  Atomics.add(progress, 0, 1);
  Atomics.notify(progress, 0);
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
