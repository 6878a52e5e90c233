// Stop strings are matched on the detokenized text, so they are found even when split across tokens.

export interface StopMatch {
  stop: string;
  /** where the stop string starts in the text */
  index: number;
}

/** earliest stop string that ends inside the newly added text (the last `newChars` characters) */
export function findStopString(text: string, newChars: number, stops: readonly string[]): StopMatch | null {
  let best: StopMatch | null = null;
  for (const stop of stops) {
    const from = Math.max(0, text.length - newChars - stop.length + 1);
    const index = text.indexOf(stop, from);
    if (index >= 0 && (best === null || index < best.index)) best = { stop, index };
  }
  return best;
}

/** while streaming, this many trailing characters might still become a stop string and are held back */
export function stopHoldback(stops: readonly string[], includeStopStr: boolean): number {
  if (includeStopStr || stops.length === 0) return 0;
  let m = 0;
  for (const s of stops) m = Math.max(m, s.length);
  return m - 1;
}
