// Request arrival schedule of `bench serve`, as vLLM draws it: with --request-rate inf every request is sent at once;
// otherwise the gaps follow a gamma distribution with shape = burstiness and mean 1/rate (burstiness 1 = Poisson
// process), and the cumulative times are rescaled so the last request is sent at exactly num_requests / rate.
import type { SeededRandom } from './rng.js';

/** seconds from the benchmark start at which each request is sent */
export function arrivalTimes(numRequests: number, requestRate: number, burstiness: number, rng: SeededRandom): number[] {
  if (!(burstiness > 0)) throw new RangeError(`--burstiness must be > 0, got ${burstiness}`);
  if (!(requestRate > 0)) throw new RangeError(`--request-rate must be > 0 or inf, got ${requestRate}`);
  if (requestRate === Infinity) return new Array<number>(numRequests).fill(0);
  const times: number[] = [];
  let t = 0;
  for (let i = 0; i < numRequests; i++) {
    const gap = burstiness === Infinity ? 1 / requestRate : rng.gamma(burstiness, 1 / (requestRate * burstiness));
    t += gap;
    times.push(t);
  }
  const last = times[times.length - 1];
  if (last !== undefined && last > 0) {
    // vLLM closes the 1-2% gap between the sampled sum and the target so throughput is stable across seeds
    const factor = numRequests / requestRate / last;
    for (let i = 0; i < times.length; i++) times[i] = times[i]! * factor;
  }
  return times;
}
