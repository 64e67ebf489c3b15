import { checkTargets } from './check-targets.js';
import { defaultRandom } from './default-random.js';
import type { Balancer, BalancerOptions, BalancerTarget, PickContext } from './types.js';

/**
 * Power of two choices (P2C, Mitzenmacher 2001; Envoy's and Finagle's
 * least-request): draw two distinct targets at random and take the one with
 * the lower `options.load(id) / weight` (the first drawn on a tie). Nearly as
 * good as least-conn at spreading load, in O(1), and without least-conn's herd
 * behaviour when several gateways share stale load figures. The most loaded
 * of three or more targets is never chosen, since at least one of any two
 * drawn is less loaded. A load that is negative or NaN counts as 0; without
 * `options.load` every load is 0, and p2c degenerates to the draw itself.
 *
 * The draw is **weighted**: each target is drawn with probability
 * proportional to its weight (the second draw among the targets other than
 * the first). So idle targets, where every comparison ties, still receive
 * shares in proportion to their weights; with equal weights the draw is
 * uniform and takes O(1), with unequal weights a binary search over
 * cumulative weights, O(log n). With `exclude`, the draw is over the targets
 * not excluded, O(n). With one eligible target, it is returned.
 *
 * Randomness comes only from `options.random` (two numbers per pick; by
 * default `defaultRandom`, seeded from `Math.random`).
 * `pick` allocates nothing. There is no per-target state to keep in `update()`.
 */
export function p2c<T extends BalancerTarget>(
  targets: readonly T[],
  options: BalancerOptions = {},
): Balancer<T> {
  return new P2c(targets, options.random ?? defaultRandom(), options.load ?? idle);
}

function idle(): number {
  return 0;
}

class P2c<T extends BalancerTarget> implements Balancer<T> {
  private targets: T[] = [];
  private weights = new Float64Array(0);
  /** cumulative[i] = weights[0] + ... + weights[i]. */
  private cumulative = new Float64Array(0);
  private total = 0;
  private equalWeights = true;
  private readonly random: () => number;
  private readonly load: (targetId: string) => number;

  constructor(targets: readonly T[], random: () => number, load: (targetId: string) => number) {
    this.random = random;
    this.load = load;
    this.update(targets);
  }

  pick(_context: PickContext, exclude?: ReadonlySet<string>): T | undefined {
    if (exclude !== undefined && exclude.size > 0) return this.pickExcluding(exclude);
    const n = this.targets.length;
    if (n < 2) return this.targets[0];
    let a: number;
    let b: number;
    if (this.equalWeights) {
      a = Math.min(n - 1, Math.floor(this.random() * n));
      b = Math.min(n - 2, Math.floor(this.random() * (n - 1)));
      if (b >= a) b++; // uniform over the n - 1 targets other than a
    } else {
      a = this.indexAt(this.random() * this.total);
      const weightA = this.weights[a] ?? 0;
      const startA = (this.cumulative[a] ?? 0) - weightA;
      // Uniform over the weight line with a's segment cut out.
      const v = this.random() * (this.total - weightA);
      b = this.indexAt(v < startA ? v : v + weightA);
    }
    return this.targets[this.better(a, b)];
  }

  /** The index whose cumulative segment holds `v` in [0, total): first cumulative[i] > v. */
  private indexAt(v: number): number {
    const cumulative = this.cumulative;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] ?? 0) > v) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** `a` unless `b` is strictly less loaded relative to its weight. */
  private better(a: number, b: number): number {
    const { targets, weights } = this;
    const loadA = this.loadOf(targets[a]);
    const loadB = this.loadOf(targets[b]);
    return loadB * (weights[a] ?? 1) < loadA * (weights[b] ?? 1) ? b : a;
  }

  private loadOf(target: T | undefined): number {
    if (target === undefined) return Infinity;
    const load = this.load(target.id);
    return load > 0 ? load : 0;
  }

  /** The same weighted draw, over the targets not excluded: O(n). */
  private pickExcluding(exclude: ReadonlySet<string>): T | undefined {
    const { targets, weights } = this;
    let eligible = 0;
    let total = 0;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i];
      if (target === undefined || exclude.has(target.id)) continue;
      eligible++;
      total += weights[i] ?? 0;
    }
    if (eligible === 0) return undefined;
    const a = this.scan(this.random() * total, exclude, -1);
    if (eligible === 1) return targets[a];
    const b = this.scan(this.random() * (total - (weights[a] ?? 0)), exclude, a);
    return targets[this.better(a, b)];
  }

  /** The eligible index (not excluded, not `skip`) whose segment holds `v` on the line of their weights. */
  private scan(v: number, exclude: ReadonlySet<string>, skip: number): number {
    const { targets, weights } = this;
    let last = -1;
    let sum = 0;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i];
      if (i === skip || target === undefined || exclude.has(target.id)) continue;
      sum += weights[i] ?? 0;
      last = i;
      if (v < sum) return i;
    }
    return last; // v at the very end through rounding
  }

  update(targets: readonly T[]): void {
    const next = checkTargets(targets);
    this.targets = next;
    this.weights = Float64Array.from(next, (t) => t.weight);
    let sum = 0;
    this.cumulative = Float64Array.from(next, (t) => (sum += t.weight));
    this.total = sum;
    this.equalWeights = next.every((t) => t.weight === next[0]?.weight);
  }
}
