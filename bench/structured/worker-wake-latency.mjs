// Wake-up latency of idle worker threads (bench/structured/results/README.md, round 10): every GAP ms the main thread
// signals N idle workers and times when the last of them reads it. MODE post: postMessage (a worker asleep in its event
// loop, as the mask workers are); wait: Atomics.wait/notify; spin: workers poll a SharedArrayBuffer word (no sleep).
// Usage: node bench/structured/worker-wake-latency.mjs [N=14] [rounds=200] [gapMs=8] [post|wait|spin]
import { Worker } from 'node:worker_threads';
const N = Number(process.argv[2] ?? 14), rounds = Number(process.argv[3] ?? 200), gap = Number(process.argv[4] ?? 8), mode = process.argv[5] ?? 'post';
const ctrl = new Int32Array(new SharedArrayBuffer(4 * (2 + N)));
const times = new Float64Array(new SharedArrayBuffer(8 * N));
const src = `
const { parentPort, workerData } = require('node:worker_threads');
const { ctrl, times, i, mode } = workerData;
if (mode === 'spin') {
  let seen = 0;
  for (;;) { const s = Atomics.load(ctrl, 0); if (s !== seen) { seen = s; times[i] = performance.timeOrigin + performance.now(); Atomics.add(ctrl, 1, 1); if (s < 0) break; } }
} else if (mode === 'wait') {
  let seen = 0;
  for (;;) { Atomics.wait(ctrl, 0, seen); const s = Atomics.load(ctrl, 0); seen = s; times[i] = performance.timeOrigin + performance.now(); Atomics.add(ctrl, 1, 1); if (s < 0) break; }
} else parentPort.on('message', (m) => { times[i] = performance.timeOrigin + performance.now(); parentPort.postMessage(0); });
`;
const ws = Array.from({ length: N }, (_, i) => new Worker(src, { eval: true, workerData: { ctrl, times, i, mode } }));
await new Promise((r) => setTimeout(r, 500));
const lat = [], post = [];
for (let r = 1; r <= rounds; r++) {
  await new Promise((res) => setTimeout(res, gap));
  const t0 = performance.timeOrigin + performance.now();
  if (mode === 'post') {
    const done = Promise.all(ws.map((w) => new Promise((res) => w.once('message', res))));
    for (const w of ws) w.postMessage({ type: 'fill', id: r, rows: [{ key: 1, tokens: [1, 2, 3], offset: 0 }] });
    post.push(performance.timeOrigin + performance.now() - t0);
    await done;
  } else {
    Atomics.store(ctrl, 1, 0);
    Atomics.store(ctrl, 0, r);
    if (mode === 'wait') Atomics.notify(ctrl, 0);
    post.push(performance.timeOrigin + performance.now() - t0);
    while (Atomics.load(ctrl, 1) < N) await new Promise((res) => setImmediate(res));
  }
  let mx = 0; for (let i = 0; i < N; i++) mx = Math.max(mx, times[i] - t0);
  lat.push(mx);
}
const q = (a, p) => [...a].sort((x, y) => x - y)[Math.floor(p * a.length)].toFixed(3);
console.log(`${mode} N=${N} gap=${gap}ms: latest start p50 ${q(lat, 0.5)} p90 ${q(lat, 0.9)} p99 ${q(lat, 0.99)} ms; post p50 ${q(post, 0.5)} ms`);
if (mode !== 'post') { Atomics.store(ctrl, 0, -1); Atomics.notify(ctrl, 0); }
for (const w of ws) w.terminate();
process.exit(0);
