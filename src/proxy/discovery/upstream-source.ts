/**
 * Where an upstream's targets come from. Every kind of discovery (the static
 * list in the config now; a file, DNS SRV and etcd later) is one of these, so
 * the data plane has one way to learn of targets: the registry lists them
 * once, then hears of every change through `watch`, and hands each set to the
 * upstream's balancer (`UpstreamState.setTargets` → `Balancer.update`).
 * Pure: a source that does I/O keeps it behind `start`/`close`.
 */
import type { TargetConfig, UpstreamConfig } from '../config/types.js';

export interface UpstreamSource {
  /** The targets known now (may be empty before a first answer). */
  list(): readonly TargetConfig[];
  /** Calls `changed` with each new target set; returns a function that stops it. */
  watch(changed: (targets: readonly TargetConfig[]) => void): () => void;
  /** Starts whatever the source polls or watches; resolves once it has a first answer. */
  start(): Promise<void>;
  /** Stops its timers and connections. */
  close(): Promise<void>;
}

/** The targets written in the config: listed once, never changing. */
export class StaticSource implements UpstreamSource {
  private readonly targets: readonly TargetConfig[];

  constructor(targets: readonly TargetConfig[]) {
    this.targets = targets;
  }

  list(): readonly TargetConfig[] {
    return this.targets;
  }

  watch(): () => void {
    return () => undefined;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The source an upstream's config names (only `targets:`, static, today). */
export function sourceFor(config: UpstreamConfig): UpstreamSource {
  return new StaticSource(config.targets);
}
