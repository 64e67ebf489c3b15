import { checkTargets } from './check-targets.js';
import { defaultRandom } from './default-random.js';
import type { Balancer, BalancerOptions, BalancerTarget, PickContext } from './types.js';

/**
 * Random (随机): every pick is an independent uniform choice among the
 * targets not excluded, **ignoring weights**: the classic strategy, which
 * needs no shared state and so behaves the same in every worker process.
 * Over many requests each of n targets gets about 1/n of them, but short runs
 * are uneven by chance (unlike round-robin). Use `weighted` for proportional
 * shares.
 *
 * Randomness comes only from `options.random` (default: see
 * `defaultRandom`, a fast generator seeded from `Math.random`); a
 * value of 1 or more from a faulty source is clamped to the last target.
 * `pick` is O(1) and allocates nothing without `exclude`; with `exclude` it
 * is O(n) and still draws exactly one random number.
 */
export function random<T extends BalancerTarget>(
  targets: readonly T[],
  options: BalancerOptions = {},
): Balancer<T> {
  return new RandomBalancer(targets, options.random ?? defaultRandom());
}

class RandomBalancer<T extends BalancerTarget> implements Balancer<T> {
  private targets: T[];
  private readonly random: () => number;

  constructor(targets: readonly T[], random: () => number) {
    this.targets = checkTargets(targets);
    this.random = random;
  }

  pick(_context: PickContext, exclude?: ReadonlySet<string>): T | undefined {
    const targets = this.targets;
    const n = targets.length;
    if (exclude === undefined || exclude.size === 0) {
      const i = Math.floor(this.random() * n);
      return targets[i < n ? i : n - 1];
    }
    let eligible = 0;
    for (const target of targets) if (!exclude.has(target.id)) eligible++;
    if (eligible === 0) return undefined;
    // The rank-th eligible target, rank uniform in [0, eligible).
    let rank = Math.min(eligible - 1, Math.floor(this.random() * eligible));
    for (const target of targets) {
      if (exclude.has(target.id)) continue;
      if (rank === 0) return target;
      rank--;
    }
    return undefined;
  }

  update(targets: readonly T[]): void {
    this.targets = checkTargets(targets);
  }
}
