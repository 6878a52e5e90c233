// vLLM's human-readable integers for --max-model-len / --max-num-batched-tokens: lowercase suffixes are decimal
// (1k = 1000, 25.6k = 25600), uppercase ones binary and whole (1K = 1024); -1 and 'auto' mean "derive it".

const DECIMAL: Record<string, number> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
const BINARY: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

export class HumanReadableIntError extends Error {}

/** Parses 10240, 10k, 25.6k, 32K; returns null for -1 / auto (the model decides). */
export function parseHumanReadableInt(raw: string): number | null {
  const s = raw.trim();
  if (s === '-1' || s.toLowerCase() === 'auto') return null;
  const m = /^(\d+(?:\.\d+)?)([kmgtKMGT]?)$/.exec(s);
  if (!m) {
    throw new HumanReadableIntError(`'${raw}' is not a whole number; use e.g. 10240, 10k (= 10000) or 32K (= 32768)`);
  }
  const [, num, suffix] = m;
  if (suffix === '') {
    if (num.includes('.')) throw new HumanReadableIntError(`'${raw}' must be a whole number, e.g. ${Math.round(Number(num))}`);
    return Number(num);
  }
  if (suffix in BINARY) {
    if (num.includes('.')) {
      throw new HumanReadableIntError(
        `'${raw}': binary suffixes (K, M, G) take whole numbers; use a lowercase decimal suffix such as '${num}${suffix.toLowerCase()}'`,
      );
    }
    return Number(num) * BINARY[suffix];
  }
  const value = Number(num) * DECIMAL[suffix];
  if (!Number.isInteger(Math.round(value * 1e6) / 1e6)) {
    throw new HumanReadableIntError(`'${raw}' is not a whole number of tokens`);
  }
  return Math.round(value);
}
