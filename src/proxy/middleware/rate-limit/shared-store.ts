import { createHash } from 'node:crypto';
import { storeUnavailable } from '../../../shared/errors.js';
import type { StopSweep, Sweeper } from '../../../shared/sweeper.js';
import type { SharedStore } from '../../store/shared-store.js';
import { gcra, type GcraPolicy, type GcraResult } from './gcra.js';
import { redisGcra, type GcraReply, type RedisGcra } from './redis-gcra.js';
import {
  DEFAULT_MAX_KEYS,
  MemoryRateLimitStore,
  SWEEP_PERIOD_MS,
  type RateLimitStore,
} from './store.js';

/**
 * What this instance knows of one key kept in Redis: the key's TAT as of
 * Redis's last answer about it, moved to this process's clock and advanced
 * by what this instance admitted since.
 */
interface View {
  readonly redisKey: string;
  /** The TAT in this process's µs. */
  tatUs: number;
  /** Requests admitted here on this view and not yet sent to Redis. */
  pending: number;
  policy: GcraPolicy;
}

/** A view whose TAT passed this long ago is forgotten (the next request asks Redis). */
const VIEW_KEEP_US = 60_000_000;

/**
 * A rate-limit store whose keys live in Redis (the top-level `store`),
 * shared by every gateway instance using it, with local pre-admission so
 * that most requests do not wait for Redis.
 *
 * Each decision is the GCRA script (redis-gcra.ts), atomic in Redis on
 * Redis's clock. To keep the round trip off the request path where the
 * limit allows it, the store keeps a view of each key it has asked about
 * (Redis's TAT as of its last answer, plus what this instance admitted
 * since) and, per request:
 *
 * - view says refused: refused here. Redis can only know of more requests
 *   than the view (other instances'), never fewer, so it would refuse too.
 * - view says admitted with at least half the burst left after it: admitted
 *   here at once, and charged to Redis in the background (all charges of one
 *   event-loop turn in one write, one script call per key with a count).
 *   Each answer refreshes the view with every instance's requests.
 * - otherwise (a key never seen, or near its limit): the request waits for
 *   the script's `take`, the exact shared decision.
 *
 * Why this keeps the cluster's totals exact: every admission, local or
 * not, is charged to the key in Redis, and a charge is stored even past the
 * limit, so a key that N instances over-admitted together (each saw half a
 * burst left before hearing of the others) owes it back and is refused
 * until it has paid. Over any stretch of time the admitted count is what
 * Redis counted, rps × t + burst, give or take the charges still in flight
 * at its end (a few milliseconds' worth). What pre-admission can cost is a
 * short-term overshoot: at most half a burst per instance (plus what one
 * round trip's worth of time earns back) before the answers arrive. With a
 * burst of 1 nothing is ever admitted locally.
 *
 * While the connection is down, the store applies the failure mode: `open`
 * limits with a memory store of its own (the same policy, counted by this
 * instance alone, so a flood stays bounded per instance); `closed` refuses
 * with GW_ERR_STORE_UNAVAILABLE (503). Charges that could not be sent are
 * lost (the instance limited locally meanwhile). When the connection comes
 * back every view is dropped, as Redis may have lost its keys.
 */
export class SharedRateLimitStore implements RateLimitStore {
  private readonly shared: SharedStore;
  private readonly prefix: string;
  private readonly hashKeys: boolean;
  private readonly nowUs: () => number;
  private readonly gcraCall: RedisGcra;
  private readonly views = new Map<string, View>();
  private readonly maxKeys: number;
  /** Used while Redis is down and the failure mode is open. */
  readonly local: MemoryRateLimitStore;
  private generation = 0;
  private dirty: View[] = [];
  private flushScheduled = false;

  /**
   * `scope` names the limit (`web/api`, `consumer`): its keys are
   * `keyPrefix + "rl:" + scope + ":" + key`. With `hashKeys` (keys taken
   * from a header, which may be a credential) the key is stored as its
   * SHA-256, never as written.
   */
  constructor(
    shared: SharedStore,
    scope: string,
    options: { hashKeys: boolean; nowUs: () => number; maxKeys?: number },
  ) {
    this.shared = shared;
    this.prefix = `${shared.settings.keyPrefix}rl:${scope}:`;
    this.hashKeys = options.hashKeys;
    this.nowUs = options.nowUs;
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.local = new MemoryRateLimitStore(this.maxKeys);
    this.gcraCall = redisGcra(shared.connection);
  }

  /** The Redis key for `key`. */
  redisKey(key: string): string {
    return this.prefix + (this.hashKeys ? sha256Key(key) : key);
  }

  take(key: string, nowUs: number, policy: GcraPolicy): GcraResult | Promise<GcraResult> {
    const connection = this.shared.connection;
    if (!connection.up) return this.whileDown(key, nowUs, policy);
    if (this.generation !== connection.generation) {
      this.views.clear();
      this.generation = connection.generation;
    }
    const view = this.views.get(key);
    if (view !== undefined) {
      const result = gcra(view.tatUs, nowUs, policy);
      if (!result.allowed) return result;
      if (result.remaining >= Math.ceil(policy.burst / 2)) {
        view.tatUs = result.tatUs;
        view.policy = policy;
        this.charge(view);
        return result;
      }
    }
    return this.takeShared(key, view, policy);
  }

  /** Sends the charges not sent yet (the feature's close, when its config is replaced). */
  flushNow(): void {
    this.flush();
  }

  /** Drops views idle for a minute, and the local store's idle keys; the number dropped. */
  sweep(nowUs: number): number {
    let dropped = this.local.sweep(nowUs);
    for (const [key, view] of this.views) {
      if (view.pending === 0 && view.tatUs + VIEW_KEEP_US <= nowUs) {
        this.views.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.views.size;
  }

  private whileDown(key: string, nowUs: number, policy: GcraPolicy): GcraResult | Promise<never> {
    const { connection, settings } = this.shared;
    if (settings.failureMode === 'open') return this.local.take(key, nowUs, policy);
    return Promise.reject(storeUnavailable(connection.name, connection.reason));
  }

  /** The exact decision: one `take` in Redis, waited for. */
  private async takeShared(
    key: string,
    view: View | undefined,
    policy: GcraPolicy,
  ): Promise<GcraResult> {
    const redisKey = view?.redisKey ?? this.redisKey(key);
    if (view !== undefined && view.pending > 0) {
      // This instance's own admissions go first (one connection keeps order): the answer counts them.
      const n = view.pending;
      view.pending = 0;
      void this.sendCharge(view, n);
    }
    let reply: GcraReply;
    try {
      reply = await this.gcraCall(redisKey, policy, 1, 'take');
    } catch (err) {
      this.shared.connection.failed(err);
      return this.whileDown(key, this.nowUs(), policy);
    }
    const nowUs = this.nowUs();
    const known = view ?? this.views.get(key);
    const tatUs = nowUs + reply.resetUs + (known?.pending ?? 0) * policy.intervalUs;
    if (known !== undefined) {
      known.tatUs = tatUs;
      known.policy = policy;
    } else {
      this.remember(key, { redisKey, tatUs, pending: 0, policy });
    }
    return {
      allowed: reply.allowed,
      tatUs,
      remaining: reply.remaining,
      retryAfterUs: reply.retryAfterUs,
      resetUs: reply.resetUs,
    };
  }

  private remember(key: string, view: View): void {
    if (this.views.size >= this.maxKeys) {
      // The oldest view makes room; its pending charges are still in `dirty`.
      const oldest = this.views.keys().next();
      if (oldest.done !== true) this.views.delete(oldest.value);
    }
    this.views.set(key, view);
  }

  /** Counts one local admission on `view`, to be sent at the end of this event-loop turn. */
  private charge(view: View): void {
    if (view.pending++ === 0) this.dirty.push(view);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const dirty = this.dirty;
    this.dirty = [];
    for (const view of dirty) {
      const n = view.pending;
      view.pending = 0;
      if (n > 0 && this.shared.connection.up) void this.sendCharge(view, n);
    }
  };

  /** One script call charging `n` admissions; its answer refreshes the view. */
  private async sendCharge(view: View, n: number): Promise<void> {
    try {
      const reply = await this.gcraCall(view.redisKey, view.policy, n, 'charge');
      view.tatUs = this.nowUs() + reply.resetUs + view.pending * view.policy.intervalUs;
    } catch (err) {
      this.shared.connection.failed(err);
    }
  }
}

/**
 * Has `sweeper` drop the store's idle views and local keys every
 * SWEEP_PERIOD_MS until the returned stop is called.
 */
export function sweepSharedStore(
  store: SharedRateLimitStore,
  sweeper: Sweeper,
  nowUs: () => number,
): StopSweep {
  return sweeper.every(SWEEP_PERIOD_MS, () => store.sweep(nowUs()));
}

function sha256Key(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('base64url')}`;
}
