import type { Clock } from '../../../shared/clock.js';
import type { StopSweep, Sweeper } from '../../../shared/sweeper.js';
import type { Kept } from '../state-shelf.js';
import { gcra, type GcraPolicy, type GcraResult } from './gcra.js';

/**
 * Where the limiter keeps each key's state. The GCRA step runs inside the
 * store so that a shared store (Redis, with the scale-out work) can make the
 * read-and-update one atomic operation; the memory store answers at once,
 * a remote one with a promise.
 */
export interface RateLimitStore {
  /** Applies one request at `nowUs` to `key` under `policy`, storing the new state if admitted. */
  take(key: string, nowUs: number, policy: GcraPolicy): GcraResult | Promise<GcraResult>;
}

/** How many keys a memory store holds by default (each is a Map entry: a string and a number). */
export const DEFAULT_MAX_KEYS = 100_000;
/** How often idle keys are dropped. */
export const SWEEP_PERIOD_MS = 5_000;

/**
 * The process-local store: a Map of key → TAT (µs), bounded. A key whose TAT
 * has passed holds nothing a missing key would not (GCRA starts it afresh),
 * so the sweeper drops such idle keys. Each update moves the key to the end
 * of the Map's order, so when the Map is full the first key is the one
 * updated longest ago, and it is the one evicted: at worst that key gets a
 * fresh burst, never another key's state.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly tats = new Map<string, number>();
  private readonly maxKeys: number;
  /** Keys evicted while the store was full, since it was made. */
  evicted = 0;

  constructor(maxKeys = DEFAULT_MAX_KEYS) {
    this.maxKeys = maxKeys;
  }

  get size(): number {
    return this.tats.size;
  }

  take(key: string, nowUs: number, policy: GcraPolicy): GcraResult {
    const stored = this.tats.get(key);
    const result = gcra(stored, nowUs, policy);
    if (result.allowed) this.put(key, stored !== undefined, result.tatUs);
    return result;
  }

  /** What {@link take} would answer for `key` now, changing nothing. */
  peek(key: string, nowUs: number, policy: GcraPolicy): GcraResult {
    return gcra(this.tats.get(key), nowUs, policy);
  }

  /**
   * Counts an event that has already happened (a failed login) against
   * `key`, admitted or not: the TAT moves one interval on even past the
   * tolerance, so events beyond the burst are owed and the key stays refused
   * until the rate has paid them off. Returns what the key's next request
   * would get ({@link peek} after the charge).
   */
  charge(key: string, nowUs: number, policy: GcraPolicy): GcraResult {
    const stored = this.tats.get(key);
    const tatUs = (stored === undefined || stored < nowUs ? nowUs : stored) + policy.intervalUs;
    this.put(key, stored !== undefined, tatUs);
    return gcra(tatUs, nowUs, policy);
  }

  /** Stores `key`'s TAT last in the Map's order, evicting the stalest key when full. */
  private put(key: string, present: boolean, tatUs: number): void {
    const tats = this.tats;
    if (present) {
      tats.delete(key);
    } else if (tats.size >= this.maxKeys) {
      const stalest = tats.keys().next();
      if (stalest.done !== true) {
        tats.delete(stalest.value);
        this.evicted++;
      }
    }
    tats.set(key, tatUs);
  }

  /** Drops every key whose TAT is not after `nowUs` (idle long enough to be back to a full burst). */
  sweep(nowUs: number): number {
    let dropped = 0;
    for (const [key, tat] of this.tats) {
      if (tat <= nowUs) {
        this.tats.delete(key);
        dropped++;
      }
    }
    return dropped;
  }
}

/**
 * Has the shared sweeper drop `store`'s idle keys every SWEEP_PERIOD_MS
 * until the returned stop is called (the feature's `close`, when its config
 * is replaced).
 */
export function sweepIdleKeys(
  store: MemoryRateLimitStore,
  sweeper: Sweeper,
  nowUs: () => number,
): StopSweep {
  return sweeper.every(SWEEP_PERIOD_MS, () => store.sweep(nowUs()));
}

/**
 * A new memory store swept on `sweeper`, as `FeatureDeps.keep` takes it:
 * its close stops the sweep once no config holds the store. (A module
 * function, so the sweep holds the clock and the store, not the config
 * that first built them.)
 */
export function sweptStore(sweeper: Sweeper, clock: Clock): Kept<MemoryRateLimitStore> {
  const store = new MemoryRateLimitStore();
  const nowUs = (): number => Math.floor(clock.nowMs() * 1000);
  return { value: store, close: sweepIdleKeys(store, sweeper, nowUs) };
}
