import type { Clock } from '../../../shared/clock.js';
import type { Sweeper } from '../../../shared/sweeper.js';
import type { LimitStoreKind } from '../../store/schema.js';
import type { SharedStore } from '../../store/shared-store.js';
import type { GcraResult } from './gcra.js';
import { SharedRateLimitStore, sweepSharedStore } from './shared-store.js';
import { MemoryRateLimitStore, sweepIdleKeys, type RateLimitStore } from './store.js';

/** A limit's store and what ends its background work (the feature's `close`). */
export interface LimiterStore {
  readonly store: RateLimitStore;
  readonly close: () => void;
}

/** What building a store needs from the feature's deps. */
export interface LimiterStoreDeps {
  readonly clock: Clock;
  readonly sweeper: Sweeper;
  /** The gateway's shared store, given when the config has a top-level `store`. */
  readonly sharedStore?: SharedStore;
}

/**
 * The store for a limit: this process's memory, or Redis (`store: redis`),
 * keyed under `scope` (`web/api` for a route, `consumer` for consumers'
 * own limits). With `hashKeys`, keys are kept in Redis by their SHA-256
 * (they may be credentials). Validation guarantees a top-level `store` for
 * `redis`; built without one (a runtime made outside a gateway), that is a
 * bug, not a config error.
 */
export function limiterStore(
  kind: LimitStoreKind,
  scope: string,
  hashKeys: boolean,
  deps: LimiterStoreDeps,
): LimiterStore {
  const clock = deps.clock;
  const nowUs = (): number => Math.floor(clock.nowMs() * 1000);
  if (kind === 'memory') {
    const store = new MemoryRateLimitStore();
    return { store, close: sweepIdleKeys(store, deps.sweeper, nowUs) };
  }
  if (deps.sharedStore === undefined) {
    throw new Error(`rateLimit ${scope}: store: redis built without the gateway's store`);
  }
  const store = new SharedRateLimitStore(deps.sharedStore, scope, { hashKeys, nowUs });
  const stopSweep = sweepSharedStore(store, deps.sweeper, nowUs);
  return {
    store,
    close() {
      stopSweep();
      store.flushNow();
    },
  };
}

/** `web/api` for `listener web, route api` (a feature's `where`); other places as they are. */
export function routeScope(where: string): string {
  const match = /^listener (\S+), route (\S+)$/.exec(where);
  return match === null ? where : `${match[1] ?? ''}/${match[2] ?? ''}`;
}

/** True for a store's answer still on its way (Redis), false for one given at once. */
export function isPending(result: GcraResult | Promise<GcraResult>): result is Promise<GcraResult> {
  return result instanceof Promise;
}
