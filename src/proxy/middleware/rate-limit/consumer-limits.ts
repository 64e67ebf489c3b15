import { rateLimited } from '../../../shared/errors.js';
import type { ProxyConfig } from '../../config/types.js';
import { addReplyField, traceStep, type Exchange } from '../../pipeline/types.js';
import type { FeatureDeps } from '../feature.js';
import { ceilSeconds, policyField, sfString, stateField } from './fields.js';
import { gcraPolicy, type GcraPolicy } from './gcra.js';
import { sweptStore } from './store.js';

/**
 * Each consumer's own `rateLimit` (`consumers[].rateLimit`), counted across
 * every route the consumer authenticates on: one store, shared by the auth
 * middleware of every route, and kept by a reload (a consumer whose limit
 * the new config changed starts afresh; the others keep their counts).
 * Checked right after a request is authenticated, before the route's own
 * `rateLimit`.
 */
export interface ConsumerLimits {
  /** Rejects with 429 (and its fields) when `consumer` is over its limit; else undefined. */
  check(ex: Exchange, consumer: string): Promise<never> | undefined;
}

interface Limit {
  readonly policy: GcraPolicy;
  /** The consumer's key in the store: its name with its limit, so a changed limit starts afresh. */
  readonly storeKey: string;
  readonly policyValue: string;
  readonly reason: string;
}

/** Each config's limits by consumer name, worked out once for every route of that config. */
const perConfig = new WeakMap<ProxyConfig, ReadonlyMap<string, Limit>>();

const QUOTED = sfString('consumer');

const NO_LIMITS: ConsumerLimits = { check: () => undefined };

/** The consumer limits of `deps.config` for one route's auth (the store is shared). */
export function consumerLimits(
  deps: Pick<FeatureDeps, 'config' | 'clock' | 'sweeper' | 'keep'>,
): ConsumerLimits {
  let byName = perConfig.get(deps.config);
  if (byName === undefined) {
    byName = limitsOf(deps.config);
    perConfig.set(deps.config, byName);
  }
  // No consumer has a limit: nothing to count, nothing to check.
  if (byName.size === 0) return NO_LIMITS;
  const limits = byName;
  const { clock, sweeper } = deps;
  const nowUs = (): number => Math.floor(clock.nowMs() * 1000);
  // Asked by every route's auth: the first of a config load takes it (over), the rest share it.
  const store = deps.keep('consumer limits', () => sweptStore(sweeper, clock));
  return {
    check(ex, consumer) {
      const limit = limits.get(consumer);
      if (limit === undefined) return undefined;
      const result = store.take(limit.storeKey, nowUs(), limit.policy);
      if (result.allowed) return undefined;
      addReplyField(ex, 'retry-after', String(ceilSeconds(result.retryAfterUs)));
      addReplyField(ex, 'ratelimit-policy', limit.policyValue);
      addReplyField(ex, 'ratelimit', stateField(QUOTED, result));
      traceStep(ex, `rateLimit: refused, ${limit.reason}`);
      return Promise.reject(rateLimited(limit.reason));
    },
  };
}

function limitsOf(config: ProxyConfig): ReadonlyMap<string, Limit> {
  const byName = new Map<string, Limit>();
  for (const consumer of config.consumers) {
    const limit = consumer.rateLimit;
    if (limit === undefined) continue;
    const burst = limit.burst ?? Math.ceil(limit.rps);
    byName.set(consumer.name, {
      policy: gcraPolicy(limit.rps, burst),
      storeKey: JSON.stringify([consumer.name, limit.rps, burst]),
      policyValue: policyField('consumer', limit.rps),
      reason: `consumer ${consumer.name} over ${limit.rps}/s (burst ${burst})`,
    });
  }
  return byName;
}
