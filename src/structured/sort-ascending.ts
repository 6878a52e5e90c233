// Sorting the short number lists of the mask path (a parser set's allowed lexemes, a lexer state's configurations).
// Array.prototype.sort copies the array into a work area on every call: in first-request masks that copy was 40 % of
// all the bytes the mask path allocated (bench/structured/mask-path-allocations.ts), and the collections it started
// paused the masks. Short lists are sorted by insertion, in place, allocating nothing.

const byValue = (a: number, b: number): number => a - b;

/**
 * sorts the first `n` numbers of `a` ascending in place (by insertion when short, most lists here: no allocation, no
 * comparator calls); a longer list is cut to its `n` numbers first
 */
export function sortAscending(a: number[], n = a.length): number[] {
  if (n > 16) {
    a.length = n;
    return a.sort(byValue);
  }
  for (let i = 1; i < n; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
  return a;
}
