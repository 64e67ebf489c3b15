import type { UpstreamConfig } from '../config/types.js';
import {
  UpstreamRuntime,
  UpstreamState,
  type UpstreamControl,
  type UpstreamSnapshot,
} from './upstream-runtime.js';

/** How a registry takes part in `--workers` (neither: a single process, which does everything). */
export interface RegistryOptions {
  /**
   * A worker's: targets and health verdicts come from the primary through
   * {@link TargetRegistry.follow}; its upstreams never probe nor watch a source.
   */
  readonly controlled?: boolean;
  /**
   * A primary's: called (synchronously) after any upstream's availability
   * was recomputed: a verdict, a new target set. It reads {@link TargetRegistry.snapshot}.
   */
  readonly changed?: () => void;
}

/** What a reconcile made: the runtimes of the new config, and the draining of what left it. */
export interface Reconciled {
  readonly upstreams: ReadonlyMap<string, UpstreamRuntime>;
  /** Resolves once the targets and upstreams the config dropped have closed their connections. */
  readonly drained: Promise<void>;
}

/**
 * The gateway's lasting state about upstreams and their targets, across
 * config loads (Caddy keeps its hosts the same way). Each load is
 * reconciled against it: an upstream that remains keeps its state (targets,
 * balancer, observers) and takes the new settings; a target that remains
 * keeps its in-flight count and connections; what the config dropped is
 * drained (no new exchanges; those in flight finish; then its connections close).
 */
export class TargetRegistry {
  private readonly states = new Map<string, UpstreamState>();
  /** Where state changes are told (health verdicts, ejections, discovery): one line each. */
  readonly log: (line: string) => void;

  private readonly options: RegistryOptions;
  /** A worker's: the primary's last snapshot of each upstream. */
  private readonly snapshots = new Map<string, UpstreamSnapshot>();
  private readonly control: UpstreamControl = { snapshot: (name) => this.snapshots.get(name) };

  constructor(log: (line: string) => void = () => undefined, options: RegistryOptions = {}) {
    this.log = log;
    this.options = options;
  }

  /**
   * A worker's: the primary's snapshot of every upstream, applied to those in
   * the config in force and kept for the next config load.
   */
  follow(snapshots: readonly UpstreamSnapshot[]): void {
    for (const snapshot of snapshots) {
      this.snapshots.set(snapshot.name, snapshot);
      this.states.get(snapshot.name)?.follow(snapshot);
    }
  }

  /** A primary's: what its workers should know of every upstream now. */
  snapshot(): UpstreamSnapshot[] {
    return [...this.states.values()].map((s) => s.snapshot());
  }

  /** Applies a config's upstreams; returns their runtimes for that config. */
  reconcile(configs: ReadonlyMap<string, UpstreamConfig>): Reconciled {
    const upstreams = new Map<string, UpstreamRuntime>();
    const dropped: Promise<void>[] = [];
    for (const config of configs.values()) {
      let state = this.states.get(config.name);
      if (state === undefined) {
        state = new UpstreamState(config, this.log, {
          ...(this.options.controlled === true ? { control: this.control } : {}),
          ...(this.options.changed === undefined ? {} : { changed: this.options.changed }),
        });
        this.states.set(config.name, state);
      }
      dropped.push(state.configure(config));
      upstreams.set(config.name, new UpstreamRuntime(config, state));
    }
    for (const [name, state] of this.states) {
      if (configs.has(name)) continue;
      this.states.delete(name);
      dropped.push(state.drain());
    }
    return { upstreams, drained: Promise.allSettled(dropped).then(() => undefined) };
  }

  /**
   * Resolves once every upstream's discovery source has given its first
   * answer or the bounded wait for it ran out (DISCOVERY_START_WAIT_MS).
   */
  async ready(): Promise<void> {
    await Promise.allSettled([...this.states.values()].map((s) => s.starting));
  }

  /** The lasting state of an upstream in the current config. */
  state(name: string): UpstreamState | undefined {
    return this.states.get(name);
  }

  /** Closes every connection (shutting down); busy HTTP/2 ones are cut after `forceAfterMs`. */
  async close(forceAfterMs?: number): Promise<void> {
    await Promise.allSettled([...this.states.values()].map((s) => s.close(forceAfterMs)));
  }
}
