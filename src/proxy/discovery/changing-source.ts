import type { TargetConfig } from '../config/types.js';
import type { UpstreamSource } from './upstream-source.js';

/**
 * The shared half of a discovering source: the current list, who watches
 * it, and telling them only when the set really changed (ids or weights).
 */
export abstract class ChangingSource implements UpstreamSource {
  abstract readonly label: string;
  private current: readonly TargetConfig[] = [];
  private readonly watchers = new Set<(targets: readonly TargetConfig[]) => void>();
  /** Set once a first answer came (even an empty one). */
  protected answered = false;

  list(): readonly TargetConfig[] {
    return this.current;
  }

  watch(changed: (targets: readonly TargetConfig[]) => void): () => void {
    this.watchers.add(changed);
    return () => this.watchers.delete(changed);
  }

  abstract start(): Promise<void>;
  abstract close(): Promise<void>;

  /** Takes a new answer; tells the watchers when it differs from the last. */
  protected publish(targets: readonly TargetConfig[]): void {
    const first = !this.answered;
    this.answered = true;
    if (!first && sameTargetSet(this.current, targets)) return;
    this.current = targets;
    for (const changed of this.watchers) changed(targets);
  }
}

/** Same ids with the same weights, in any order. */
export function sameTargetSet(a: readonly TargetConfig[], b: readonly TargetConfig[]): boolean {
  if (a.length !== b.length) return false;
  const weights = new Map(a.map((t) => [t.id, t.weight]));
  return b.every((t) => weights.get(t.id) === t.weight);
}
