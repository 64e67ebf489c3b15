import { rateLimited } from '../../../shared/errors.js';
import type { ProxyConfig } from '../../config/types.js';
import { addReplyField, traceStep, type Exchange, type Handler } from '../../pipeline/types.js';
import type { FeatureDeps } from '../feature.js';
import { ceilSeconds, policyField, sfString, stateField } from './fields.js';
import { gcraPolicy, type GcraPolicy, type GcraResult } from './gcra.js';
import { isPending, limiterStore, type LimiterStore } from './limiter-store.js';
import { sweptStore, type RateLimitStore } from './store.js';

/**
 * Each consumer's own `rateLimit` (`consumers[].rateLimit`), counted across
 * every route the consumer authenticates on, and checked right after a
 * request is authenticated, before the route's own `rateLimit`. Limits
 * counted here share one memory store, kept by a reload (a consumer whose
 * limit the new config changed starts afresh; the others keep their counts);
 * limits with `store: redis` share one Redis-backed store per config load
 * (keys `consumer:NAME`, which outlive reloads in Redis).
 */
export interface ConsumerLimits {
  /**
   * Rejects with 429 (and its fields) when `consumer` is over its limit;
   * undefined when it is within it, known at once. A limit kept in Redis
   * may need Redis's answer first: then the promise goes on to `next` when
   * the consumer is within it.
   */
  check(ex: Exchange, consumer: string, next: Handler): Promise<void> | undefined;
  /** Ends the Redis store's sweep (every route's auth calls it; the first call does it). */
  close(): void;
}

interface Limit {
  readonly shared: boolean;
  readonly policy: GcraPolicy;
  /**
   * The consumer's key in its store: in memory its name with its limit, so a
   * changed limit starts afresh; in Redis its name, the same for every gateway.
   */
  readonly storeKey: string;
  readonly policyValue: string;
  readonly reason: string;
}

/** Each config's limits by consumer name, worked out once for every route of that config. */
const perConfig = new WeakMap<ProxyConfig, ReadonlyMap<string, Limit>>();
/** Each config's Redis-backed store for consumers with `store: redis`, shared by its routes. */
const sharedPerConfig = new WeakMap<ProxyConfig, LimiterStore>();

const QUOTED = sfString('consumer');

const NO_LIMITS: ConsumerLimits = { check: () => undefined, close: () => undefined };

/** The consumer limits of `deps.config` for one route's auth (the stores are shared). */
export function consumerLimits(
  deps: Pick<FeatureDeps, 'config' | 'clock' | 'sweeper' | 'keep' | 'sharedStore'>,
): ConsumerLimits {
  let byName = perConfig.get(deps.config);
  if (byName === undefined) {
    byName = limitsOf(deps.config);
    perConfig.set(deps.config, byName);
  }
  // No consumer has a limit: nothing to count, nothing to check.
  if (byName.size === 0) return NO_LIMITS;
  const limits = byName;
  const { clock, sweeper, config } = deps;
  const nowUs = (): number => Math.floor(clock.nowMs() * 1000);
  // Asked by every route's auth: the first of a config load takes it (over), the rest share it.
  const local = deps.keep('consumer limits', () => sweptStore(sweeper, clock));
  let shared = sharedPerConfig.get(config);
  if (shared === undefined && [...limits.values()].some((l) => l.shared)) {
    shared = limiterStore('redis', 'consumer', false, deps);
    sharedPerConfig.set(config, shared);
  }
  const sharedStore: RateLimitStore | undefined = shared?.store;
  const refuse = (ex: Exchange, limit: Limit, result: GcraResult): Promise<never> => {
    addReplyField(ex, 'retry-after', String(ceilSeconds(result.retryAfterUs)));
    addReplyField(ex, 'ratelimit-policy', limit.policyValue);
    addReplyField(ex, 'ratelimit', stateField(QUOTED, result));
    traceStep(ex, `rateLimit: refused, ${limit.reason}`);
    return Promise.reject(rateLimited(limit.reason));
  };
  const checkLater = async (
    ex: Exchange,
    limit: Limit,
    next: Handler,
    later: Promise<GcraResult>,
  ): Promise<void> => {
    const result = await later;
    return result.allowed ? next(ex) : refuse(ex, limit, result);
  };
  return {
    close() {
      shared?.close();
    },
    check(ex, consumer, next) {
      const limit = limits.get(consumer);
      if (limit === undefined) return undefined;
      const store = limit.shared && sharedStore !== undefined ? sharedStore : local;
      const result = store.take(limit.storeKey, nowUs(), limit.policy);
      if (isPending(result)) return checkLater(ex, limit, next, result);
      return result.allowed ? undefined : refuse(ex, limit, result);
    },
  };
}

function limitsOf(config: ProxyConfig): ReadonlyMap<string, Limit> {
  const byName = new Map<string, Limit>();
  for (const consumer of config.consumers) {
    const limit = consumer.rateLimit;
    if (limit === undefined) continue;
    const burst = limit.burst ?? Math.ceil(limit.rps);
    const shared = limit.store === 'redis';
    byName.set(consumer.name, {
      shared,
      policy: gcraPolicy(limit.rps, burst),
      storeKey: shared ? consumer.name : JSON.stringify([consumer.name, limit.rps, burst]),
      policyValue: policyField('consumer', limit.rps),
      reason: `consumer ${consumer.name} over ${limit.rps}/s (burst ${burst})`,
    });
  }
  return byName;
}
