// The first requests of a workload (pickWorkload: each schema new to the provider) through one provider, mask by
// mask, as mask-bench.ts times them: the fill alone. The benches that look at first-request masks share this walk.
import type { StructuredConstraint } from '../../src/engine/types.js';
import type { GrammarMatcher } from '../../src/structured/matcher.js';
import type { WorkloadItem } from './step-masks.js';

/**
 * For each mask of each item's output: `onMask(fill, m, item, k)` (k: the mask's position in the output), where
 * `fill()` fills the mask into `out` and answers its time in µs (a callback may look at the matcher before it); then
 * the output's token is accepted (a rejected one throws: the workload's outputs are valid).
 */
export function forEachFirstRequestMask(
  work: readonly WorkloadItem[],
  provider: { create(constraint: StructuredConstraint): GrammarMatcher },
  out: Int32Array,
  onMask: (fill: () => number, m: GrammarMatcher, item: WorkloadItem, k: number) => void,
): void {
  for (const item of work) {
    const m = provider.create(item.constraint);
    const fill = (): number => {
      const t = performance.now();
      m.fillNextTokenBitmask(out, 0);
      return (performance.now() - t) * 1000;
    };
    item.ids.forEach((id, k) => {
      onMask(fill, m, item, k);
      if (!m.acceptToken(id)) throw new Error(`${item.name}: token ${id} rejected`);
    });
  }
}
