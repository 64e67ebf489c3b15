import { checkTargets } from './check-targets.js';
import type { Balancer, BalancerOptions, BalancerTarget, PickContext } from './types.js';

/**
 * Least connections (最少连接), as nginx's `least_conn`: the target with the
 * fewest requests in flight relative to its weight, `options.load(id) /
 * weight` (compared by cross-multiplying, so no division). A load that is
 * negative or NaN counts as 0; without `options.load` every load is 0.
 *
 * Ties are frequent (at low traffic every target is idle) and are broken by
 * smooth weighted round-robin among the tied targets, as nginx does, not by
 * taking the first: equal loads and weights rotate a, b, c, a, ..., and equal
 * loads with weights 2, 1 give a twice as many requests as b.
 *
 * `pick` calls `load` once per eligible target: O(n), which is inherent to
 * the strategy with a load function (use `p2c` for O(1) with nearly the same
 * effect). It allocates nothing. `update()` keeps the tie-break counters of
 * targets whose ids persist.
 */
export function leastConn<T extends BalancerTarget>(
  targets: readonly T[],
  options: BalancerOptions = {},
): Balancer<T> {
  return new LeastConn(targets, options.load ?? idle);
}

function idle(): number {
  return 0;
}

class LeastConn<T extends BalancerTarget> implements Balancer<T> {
  private targets: T[] = [];
  private weights = new Float64Array(0);
  /** Smooth weighted round-robin counters for breaking ties. */
  private current = new Float64Array(0);
  /** Scratch: each target's load in the pick under way, NaN when excluded. */
  private loads = new Float64Array(0);
  private readonly load: (targetId: string) => number;

  constructor(targets: readonly T[], load: (targetId: string) => number) {
    this.load = load;
    this.update(targets);
  }

  pick(_context: PickContext, exclude?: ReadonlySet<string>): T | undefined {
    const { targets, weights, loads } = this;
    const excluding = exclude !== undefined && exclude.size > 0;
    let best = -1;
    let bestLoad = 0;
    let bestWeight = 1;
    let ties = 0;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i];
      if (target === undefined || (excluding && exclude.has(target.id))) {
        loads[i] = NaN; // never equal to anything: skipped by the tie-break
        continue;
      }
      const raw = this.load(target.id);
      const load = raw > 0 ? raw : 0;
      const weight = weights[i] ?? 1;
      loads[i] = load;
      // load / weight < bestLoad / bestWeight, without dividing.
      if (best < 0 || load * bestWeight < bestLoad * weight) {
        best = i;
        bestLoad = load;
        bestWeight = weight;
        ties = 1;
      } else if (load * bestWeight === bestLoad * weight) {
        ties++;
      }
    }
    if (ties > 1) best = this.breakTie(best, bestLoad, bestWeight);
    return best < 0 ? undefined : targets[best];
  }

  /** Smooth weighted round-robin over the targets tied at bestLoad / bestWeight, from `first` on. */
  private breakTie(first: number, bestLoad: number, bestWeight: number): number {
    const { weights, current, loads } = this;
    let total = 0;
    let chosen = first;
    let chosenCurrent = -Infinity;
    for (let i = first; i < weights.length; i++) {
      const weight = weights[i] ?? 1;
      if ((loads[i] ?? NaN) * bestWeight !== bestLoad * weight) continue;
      const c = (current[i] ?? 0) + weight;
      current[i] = c;
      total += weight;
      if (c > chosenCurrent) {
        chosen = i;
        chosenCurrent = c;
      }
    }
    current[chosen] = chosenCurrent - total;
    return chosen;
  }

  update(targets: readonly T[]): void {
    const next = checkTargets(targets);
    const kept = new Map<string, number>();
    this.targets.forEach((target, i) => kept.set(target.id, this.current[i] ?? 0));
    this.targets = next;
    this.weights = Float64Array.from(next, (t) => t.weight);
    this.current = Float64Array.from(next, (t) => kept.get(t.id) ?? 0);
    this.loads = new Float64Array(next.length);
  }
}
