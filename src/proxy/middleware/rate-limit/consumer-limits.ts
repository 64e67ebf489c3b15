import { rateLimited } from '../../../shared/errors.js';
import type { Clock } from '../../../shared/clock.js';
import type { Sweeper } from '../../../shared/sweeper.js';
import type { ProxyConfig } from '../../config/types.js';
import { addReplyField, traceStep, type Exchange } from '../../pipeline/types.js';
import { ceilSeconds, policyField, sfString, stateField } from './fields.js';
import { gcraPolicy, type GcraPolicy } from './gcra.js';
import { MemoryRateLimitStore, sweepIdleKeys } from './store.js';

/**
 * Each consumer's own `rateLimit` (`consumers[].rateLimit`), counted across
 * every route the consumer authenticates on: one store per config load,
 * shared by the auth middleware of every route. Checked right after a
 * request is authenticated, before the route's own `rateLimit`.
 */
export interface ConsumerLimits {
  /** Rejects with 429 (and its fields) when `consumer` is over its limit; else undefined. */
  check(ex: Exchange, consumer: string): Promise<never> | undefined;
  /** Stops the idle-key sweep (every route's auth calls it; the first call does it). */
  close(): void;
}

interface Limit {
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
): ConsumerLimits {
  let limits = perConfig.get(config);
  if (limits === undefined) {
    limits = buildLimits(config, clock, sweeper);
    perConfig.set(config, limits);
  }
  return limits;
}

function buildLimits(config: ProxyConfig, clock: Clock, sweeper: Sweeper): ConsumerLimits {
  const byName = new Map<string, Limit>();
  for (const consumer of config.consumers) {
    const limit = consumer.rateLimit;
    if (limit === undefined) continue;
    const burst = limit.burst ?? Math.ceil(limit.rps);
    byName.set(consumer.name, {
      policy: gcraPolicy(limit.rps, burst),
      policyValue: policyField('consumer', limit.rps),
      reason: `consumer ${consumer.name} over ${limit.rps}/s (burst ${burst})`,
    });
  }
  // No consumer has a limit: nothing to count, nothing to check.
  if (byName.size === 0) return { check: () => undefined, close: () => undefined };
  const store = new MemoryRateLimitStore();
  const nowUs = (): number => Math.floor(clock.nowMs() * 1000);
  const stopSweep = sweepIdleKeys(store, sweeper, nowUs);
  return {
    close: stopSweep,
    check(ex, consumer) {
      const limit = byName.get(consumer);
      if (limit === undefined) return undefined;
      const result = store.take(consumer, nowUs(), limit.policy);
      if (result.allowed) return undefined;
      addReplyField(ex, 'retry-after', String(ceilSeconds(result.retryAfterUs)));
      addReplyField(ex, 'ratelimit-policy', limit.policyValue);
      addReplyField(ex, 'ratelimit', stateField(QUOTED, result));
      traceStep(ex, `rateLimit: refused, ${limit.reason}`);
      return Promise.reject(rateLimited(limit.reason));
    },
  };
}
