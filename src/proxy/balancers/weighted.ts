import { checkTargets } from './check-targets.js';
import type { Balancer, BalancerTarget, PickContext } from './types.js';

/**
 * Weighted round-robin (加权轮询), the "smooth" variant nginx uses
 * (`ngx_http_upstream_get_peer` in ngx_http_upstream_round_robin.c). Each
 * target carries a counter `current`, all starting at 0. On every pick:
 *
 * 1. every eligible target's `current` grows by its weight;
 * 2. the target with the largest `current` is chosen (the first in target
 *    order on a tie);
 * 3. the chosen target's `current` drops by the total weight of the eligible
 *    targets.
 *
 * In each cycle of `total` picks, counted from the start, each target is
 * chosen exactly `weight` times, and its picks are spread through the cycle
 * instead of coming in a burst: weights 5, 1, 1 for a, b, c give
 * `a a b a c a a`, where naive weighted round-robin gives `a a a a a b c`.
 *
 * Excluded targets take no part in a pick: their counters stay as they are,
 * and the total subtracted counts only the eligible targets, so the counters
 * keep summing to the same value and the rotation resumes where it was once
 * the exclusion ends. nginx's `effective_weight` (lowered on failures) is not
 * modelled: failures reach the balancer as `exclude` or as `update()`.
 *
 * `update()` keeps the counter of every target whose id persists (a weight
 * change applies from the next pick); new targets start at 0.
 *
 * `pick` is O(n) in the number of targets (one pass, as nginx) and allocates
 * nothing. It takes no options: it needs neither randomness nor load.
 */
export function weighted<T extends BalancerTarget>(targets: readonly T[]): Balancer<T> {
  return new Weighted(targets);
}

class Weighted<T extends BalancerTarget> implements Balancer<T> {
  private targets: T[] = [];
  private weights = new Float64Array(0);
  private current = new Float64Array(0);
  private total = 0;

  constructor(targets: readonly T[]) {
    this.update(targets);
  }

  pick(_context: PickContext, exclude?: ReadonlySet<string>): T | undefined {
    if (exclude !== undefined && exclude.size > 0) return this.pickExcluding(exclude);
    const { weights, current } = this;
    const n = weights.length;
    let best = -1;
    let bestCurrent = -Infinity;
    for (let i = 0; i < n; i++) {
      const c = (current[i] ?? 0) + (weights[i] ?? 0);
      current[i] = c;
      if (c > bestCurrent) {
        best = i;
        bestCurrent = c;
      }
    }
    if (best < 0) return undefined;
    current[best] = bestCurrent - this.total;
    return this.targets[best];
  }

  /** The same pass over the targets not excluded, with their total weight. */
  private pickExcluding(exclude: ReadonlySet<string>): T | undefined {
    const { targets, weights, current } = this;
    let total = 0;
    let best = -1;
    let bestCurrent = -Infinity;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i];
      if (target === undefined || exclude.has(target.id)) continue;
      const weight = weights[i] ?? 0;
      const c = (current[i] ?? 0) + weight;
      current[i] = c;
      total += weight;
      if (c > bestCurrent) {
        best = i;
        bestCurrent = c;
      }
    }
    if (best < 0) return undefined;
    current[best] = bestCurrent - total;
    return targets[best];
  }

  update(targets: readonly T[]): void {
    const next = checkTargets(targets);
    const kept = new Map<string, number>();
    this.targets.forEach((target, i) => kept.set(target.id, this.current[i] ?? 0));
    this.targets = next;
    this.weights = Float64Array.from(next, (t) => t.weight);
    this.current = Float64Array.from(next, (t) => kept.get(t.id) ?? 0);
    this.total = next.reduce((sum, t) => sum + t.weight, 0);
  }
}
