import { checkTargets } from './check-targets.js';
import type { Balancer, BalancerTarget, PickContext } from './types.js';

/**
 * Round-robin (轮询): targets in strict rotation, in the order given, one
 * request each, ignoring weights (use `weighted` for proportional shares).
 * The rotation starts at the first target.
 *
 * An excluded target is skipped and the rotation continues after the target
 * actually chosen, so a retry that excludes the failed target goes to the
 * next one. `update()` keeps the rotation's place: the target that was due
 * next is still due next if it persists; otherwise the target now at that
 * position is.
 *
 * `pick` is O(1) without `exclude` (O(n) worst case with it) and allocates
 * nothing. It takes no options: it needs neither randomness nor load.
 */
export function roundRobin<T extends BalancerTarget>(targets: readonly T[]): Balancer<T> {
  return new RoundRobin(targets);
}

class RoundRobin<T extends BalancerTarget> implements Balancer<T> {
  private targets: T[];
  /** Index of the target due next; always < targets.length (or 0 when empty). */
  private next = 0;

  constructor(targets: readonly T[]) {
    this.targets = checkTargets(targets);
  }

  pick(_context: PickContext, exclude?: ReadonlySet<string>): T | undefined {
    const targets = this.targets;
    const n = targets.length;
    let i = this.next;
    if (exclude === undefined || exclude.size === 0) {
      this.next = i + 1 < n ? i + 1 : 0;
      return targets[i];
    }
    for (let step = 0; step < n; step++) {
      const target = targets[i];
      i = i + 1 < n ? i + 1 : 0;
      if (target !== undefined && !exclude.has(target.id)) {
        this.next = i;
        return target;
      }
    }
    return undefined;
  }

  update(targets: readonly T[]): void {
    const next = checkTargets(targets);
    const due = this.targets[this.next]?.id;
    const at = due === undefined ? -1 : next.findIndex((t) => t.id === due);
    this.targets = next;
    this.next = at >= 0 ? at : next.length > 0 ? this.next % next.length : 0;
  }
}
