// MASK_BENCH_DETACH_FIRST=1: detach one ArrayBuffer in this thread before our grammar provider exists, so that V8
// compiles our mask path with its detach checks, as in a process where a fetch() ran first (web-xgrammar-peer.ts and
// src/hub/resolve-off-thread.ts say why that matters). Under tsx it changes nothing: tsx detaches one at start-up.

/** detaches a buffer when MASK_BENCH_DETACH_FIRST=1; returns whether it did */
export function detachFirstFromEnv(): boolean {
  if (process.env.MASK_BENCH_DETACH_FIRST !== '1') return false;
  const buffer = new ArrayBuffer(8);
  structuredClone(buffer, { transfer: [buffer] });
  return true;
}
