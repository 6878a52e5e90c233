// What a new token mask costs in memory alone: 4,000 masks of Qwen3's width (4,740 words) allocated 8 per block
// (mask-blocks.ts), 64 per block, or one ArrayBuffer each, then each page written once. On a VM the first write to
// a fresh page (a page fault) dominates: a cold mask pays it for the 19 KB it fills, whatever the engine does.
// Usage: node bench/structured/mask-page-faults.mjs
const words = 4740;
const masks = 4000;
for (const perBlock of [8, 64, 1]) {
  const blocks = [];
  const t0 = performance.now();
  for (let i = 0; i < masks; i += perBlock) blocks.push(new Int32Array(words * perBlock));
  const t1 = performance.now();
  for (const b of blocks) for (let j = 0; j < b.length; j += 1024) b[j] = 1;
  const t2 = performance.now();
  const us = (ms) => ((ms / masks) * 1000).toFixed(2);
  console.log(`${perBlock} per block: allocation ${us(t1 - t0)} µs/mask, first touch ${us(t2 - t1)} µs/mask (${blocks.length} buffers)`);
}
