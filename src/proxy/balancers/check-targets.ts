import { invalidArgument } from '../../shared/errors.js';
import type { BalancerTarget } from './types.js';

/**
 * The largest weight accepted. Far above any useful ratio, and low enough that
 * sums of weights and the smooth weighted round-robin counters stay exact
 * integers in a double for any realistic number of targets.
 */
export const MAX_WEIGHT = 1_000_000;

/**
 * Checks a target set before a balancer adopts it, and returns a private copy
 * (so a caller that later mutates its array cannot change the balancer's view).
 * Every weight must be a whole number in 1..{@link MAX_WEIGHT} and every id unique: the
 * balancers keep per-target state by id, and the arithmetic of smooth weighted
 * round-robin and of the hash ring assumes integer weights.
 *
 * Balancers call this first in their constructor and in `update()`, so a bad
 * set is refused before any state changes: after a throw from `update()` the
 * balancer keeps serving the previous set.
 *
 * @throws GwError `GW_ERR_INVALID_ARGUMENT` naming the offending target.
 */
export function checkTargets<T extends BalancerTarget>(targets: readonly T[]): T[] {
  const seen = new Set<string>();
  for (const target of targets) {
    if (!Number.isInteger(target.weight) || target.weight < 1 || target.weight > MAX_WEIGHT) {
      throw invalidArgument(
        `weight of target ${target.id}`,
        target.weight,
        `a whole number from 1 to ${MAX_WEIGHT}`,
      );
    }
    if (seen.has(target.id)) {
      throw invalidArgument('target id', target.id, 'each target may appear only once');
    }
    seen.add(target.id);
  }
  return [...targets];
}
