import { rateLimited } from '../../../shared/errors.js';
import type { Clock } from '../../../shared/clock.js';
import type { Sweeper } from '../../../shared/sweeper.js';
import type { ProxyConfig } from '../../config/types.js';
import { addReplyField, traceStep, type Exchange, type Handler } from '../../pipeline/types.js';
import type { SharedStore } from '../../store/shared-store.js';
import { ceilSeconds, policyField, sfString, stateField } from './fields.js';
import { gcraPolicy, type GcraPolicy, type GcraResult } from './gcra.js';
import {
  isPending,
  limiterStore,
  type LimiterStore,
  type LimiterStoreDeps,
} from './limiter-store.js';
import type { RateLimitStore } from './store.js';

/**
 * Each consumer's own `rateLimit` (`consumers[].rateLimit`), counted across
 * every route the consumer authenticates on: one store per config load,
 * shared by the auth middleware of every route. Checked right after a
 * request is authenticated, before the route's own `rateLimit`.
 */
export interface ConsumerLimits {
  /**
   * Rejects with 429 (and its fields) when `consumer` is over its limit;
   * undefined when it is within it, known at once. A limit kept in Redis
   * may need Redis's answer first: then the promise goes on to `next` when
   * the consumer is within it.
   */
  check(ex: Exchange, consumer: string, next: Handler): Promise<void> | undefined;
  /** Stops the idle-key sweep (every route's auth calls it; the first call does it). */
  close(): void;
}

interface Limit {
  readonly store: RateLimitStore;
  readonly policy: GcraPolicy;
  readonly policyValue: string;
  readonly reason: string;
}

/** One set of limits per config: every route's auth of that load shares it. */
const perConfig = new WeakMap<ProxyConfig, ConsumerLimits>();

const QUOTED = sfString('consumer');

/** The consumer limits of `config` (built once per config load). */
export function consumerLimits(
  config: ProxyConfig,
  clock: Clock,
  sweeper: Sweeper,
  sharedStore?: SharedStore,
): ConsumerLimits {
  let limits = perConfig.get(config);
  if (limits === undefined) {
    const deps = { clock, sweeper, ...(sharedStore === undefined ? {} : { sharedStore }) };
    limits = buildLimits(config, deps);
    perConfig.set(config, limits);
  }
  return limits;
}

/**
 * The limits of every consumer with a `rateLimit`, each in its store: one
 * memory store for those counted here, one Redis-backed store (keys
 * `consumer:NAME`) for those with `store: redis`.
 */
function buildLimits(config: ProxyConfig, deps: LimiterStoreDeps): ConsumerLimits {
  const stores = new Map<'memory' | 'redis', LimiterStore>();
  const storeFor = (kind: 'memory' | 'redis'): RateLimitStore => {
    let limiter = stores.get(kind);
    if (limiter === undefined) {
      limiter = limiterStore(kind, 'consumer', false, deps);
      stores.set(kind, limiter);
    }
    return limiter.store;
  };
  const byName = new Map<string, Limit>();
  for (const consumer of config.consumers) {
    const limit = consumer.rateLimit;
    if (limit === undefined) continue;
    const burst = limit.burst ?? Math.ceil(limit.rps);
    byName.set(consumer.name, {
      store: storeFor(limit.store ?? 'memory'),
      policy: gcraPolicy(limit.rps, burst),
      policyValue: policyField('consumer', limit.rps),
      reason: `consumer ${consumer.name} over ${limit.rps}/s (burst ${burst})`,
    });
  }
  // No consumer has a limit: nothing to count, nothing to check.
  if (byName.size === 0) return { check: () => undefined, close: () => undefined };
  const clock = deps.clock;
  const nowUs = (): number => Math.floor(clock.nowMs() * 1000);
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
      for (const limiter of stores.values()) limiter.close();
    },
    check(ex, consumer, next) {
      const limit = byName.get(consumer);
      if (limit === undefined) return undefined;
      const result = limit.store.take(consumer, nowUs(), limit.policy);
      if (isPending(result)) return checkLater(ex, limit, next, result);
      return result.allowed ? undefined : refuse(ex, limit, result);
    },
  };
}
