import type { UpstreamConfig } from '../config/types.js';
import { UpstreamRuntime, UpstreamState } from './upstream-runtime.js';

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

  constructor(log: (line: string) => void = () => undefined) {
    this.log = log;
  }

  /** Applies a config's upstreams; returns their runtimes for that config. */
  reconcile(configs: ReadonlyMap<string, UpstreamConfig>): Reconciled {
    const upstreams = new Map<string, UpstreamRuntime>();
    const dropped: Promise<void>[] = [];
    for (const config of configs.values()) {
      let state = this.states.get(config.name);
      if (state === undefined) {
        state = new UpstreamState(config, this.log);
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
