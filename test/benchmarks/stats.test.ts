import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mean, median, percentile, std } from '../../src/benchmarks/stats.js';
import { arrivalTimes } from '../../src/benchmarks/arrivals.js';
import { SeededRandom } from '../../src/benchmarks/rng.js';

test('stats follow numpy (linear percentile, population std, empty = 0)', () => {
  const xs = [1, 2, 3, 4, 10];
  assert.equal(mean(xs), 4);
  assert.equal(median(xs), 3);
  // np.percentile([1,2,3,4,10], 99) = 4 + 0.96 * 6 = 9.76
  assert.ok(Math.abs(percentile(xs, 99) - 9.76) < 1e-12);
  assert.ok(Math.abs(percentile([1, 2, 3, 4], 50) - 2.5) < 1e-12);
  assert.ok(Math.abs(std(xs) - Math.sqrt(10)) < 1e-12);
  assert.equal(mean([]), 0);
  assert.equal(percentile([], 99), 0);
  assert.throws(() => percentile(xs, 101), /within \[0, 100\]/);
});

test('seeded random is reproducible and gamma has the right mean', () => {
  const a = new SeededRandom(7);
  const b = new SeededRandom(7);
  assert.deepEqual([a.next(), a.next(), a.int(0, 10)], [b.next(), b.next(), b.int(0, 10)]);
  assert.notEqual(new SeededRandom(8).next(), new SeededRandom(7).next());
  const r = new SeededRandom(1);
  for (const shape of [0.5, 1, 3]) {
    const xs = Array.from({ length: 20000 }, () => r.gamma(shape, 2));
    assert.ok(Math.abs(mean(xs) - shape * 2) < 0.1 * shape * 2, `gamma(${shape}, 2) mean ${mean(xs)}`);
  }
});

test('arrival times: inf sends at once; a finite rate ends at n/rate; burstiness shapes the gaps', () => {
  assert.deepEqual(arrivalTimes(3, Infinity, 1, new SeededRandom(0)), [0, 0, 0]);
  const t = arrivalTimes(200, 4, 1, new SeededRandom(0));
  assert.equal(t.length, 200);
  assert.ok(Math.abs(t[199]! - 50) < 1e-9, 'last arrival is rescaled to n / rate');
  for (let i = 1; i < t.length; i++) assert.ok(t[i]! >= t[i - 1]!);
  const gaps = (xs: number[]): number[] => xs.map((x, i) => x - (xs[i - 1] ?? 0));
  const cv = (xs: number[]): number => std(xs) / mean(xs);
  // Poisson gaps have coefficient of variation ~1; gamma with burstiness k has 1/sqrt(k)
  assert.ok(Math.abs(cv(gaps(arrivalTimes(5000, 10, 1, new SeededRandom(2)))) - 1) < 0.1);
  assert.ok(Math.abs(cv(gaps(arrivalTimes(5000, 10, 4, new SeededRandom(2)))) - 0.5) < 0.07);
  const uniform = gaps(arrivalTimes(10, 2, Infinity, new SeededRandom(0)));
  for (const g of uniform) assert.ok(Math.abs(g - 0.5) < 1e-9);
  assert.throws(() => arrivalTimes(3, 1, 0, new SeededRandom(0)), /burstiness/);
});
