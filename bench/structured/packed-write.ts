// Writing a nearly empty mask from its nonzero words (packed-mask.ts) against copying the whole mask, by how many
// words are set: where the break-even lies. Masks of Qwen3's width (4,740 words) with `nonzero` random words set;
// 600 of them cycled (11 MB: out of the caches, as a walk's mask met again after other masks), written into the
// rows of a 128-row bitmask as an engine step does, and into one row as mask-bench does.
// Usage: node --import tsx bench/structured/packed-write.ts [outFile]
import { machineName, writeResult } from './run-facts.js';
import { PackedMask } from '../../src/structured/packed-mask.js';

const WORDS = 4740;
const MASKS = 600;
const WRITES = 20000;
const out = new Int32Array(WORDS * 128);

function maskWith(nonzero: number): Int32Array {
  const m = new Int32Array(WORDS);
  const at = new Set<number>();
  while (at.size < nonzero) at.add(Math.floor(Math.random() * WORDS));
  for (const w of at) m[w] = (Math.random() * 2 ** 31) | 1;
  return m;
}

function packed(m: Int32Array): PackedMask {
  const pairs: number[] = [];
  for (let w = 0; w < m.length; w++) if (m[w] !== 0) pairs.push(w, m[w]!);
  return new PackedMask(m.length, Int32Array.from(pairs));
}

/** µs per write, the last of 4 repetitions (the first ones let V8 compile the loops) */
function perWrite(write: (i: number) => void): number {
  let us = 0;
  for (let rep = 0; rep < 4; rep++) {
    const t = performance.now();
    for (let i = 0; i < WRITES; i++) write(i);
    us = ((performance.now() - t) * 1000) / WRITES;
  }
  return +us.toFixed(2);
}

const rows = [];
for (const nonzero of [16, 32, 64, 128, 256, 512]) {
  const masks = Array.from({ length: MASKS }, () => maskWith(nonzero));
  const packs = masks.map(packed);
  const pick = (i: number) => (i * 7) % MASKS;
  rows.push({
    nonzeroWords: nonzero,
    stepRowsCopyUs: perWrite((i) => out.set(masks[pick(i)]!, (i % 128) * WORDS)),
    stepRowsPackedUs: perWrite((i) => packs[pick(i)]!.writeTo(out, (i % 128) * WORDS)),
    oneRowCopyUs: perWrite((i) => out.set(masks[pick(i)]!, 0)),
    oneRowPackedUs: perWrite((i) => packs[pick(i)]!.writeTo(out, 0)),
  });
}
writeResult(process.argv[2], { machine: machineName(), node: process.version, words: WORDS, rows });
