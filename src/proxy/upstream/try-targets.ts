import { noTarget, type GwError } from '../../shared/errors.js';
import type { Exchange } from '../pipeline/types.js';
import { hashKeyOf, type KeySource } from './hash-key.js';
import type { TargetRuntime, UpstreamRuntime } from './upstream-runtime.js';

/** How one protocol sends an exchange to one target. */
export interface Attempt {
  /** Sends to `target`; throws on failure (any error). */
  send(target: TargetRuntime): Promise<void>;
  /** Maps what `send` threw into the gateway's error. */
  mapError(err: unknown, target: TargetRuntime): GwError;
  /** True when the failure left nothing sent, and the exchange may go to another target. */
  mayRetry(error: GwError, err: unknown): boolean;
  /** True once the client has gone: nobody is left to answer, so there is no retry. */
  clientGone(): boolean;
}

/** At most this many targets per exchange: the first, and one retry elsewhere. */
const MAX_ATTEMPTS = 2;

/**
 * Chooses a target with the upstream's balancer (hashing on the configured
 * key when the balance is `hash`), counts it busy while `send` runs, and on a
 * retryable failure tries one different target, while the client is still there. When no target is left the
 * last failure is thrown (or GW_ERR_NO_TARGET when there never was one).
 */
export async function tryTargets(
  upstream: UpstreamRuntime,
  ex: Exchange,
  keySource: KeySource,
  attempt: Attempt,
): Promise<void> {
  const { config } = upstream;
  const key = config.balance === 'hash' ? hashKeyOf(config.hashKey, keySource) : undefined;
  let exclude: Set<string> | undefined;
  let lastError: GwError | undefined;
  for (;;) {
    const target = upstream.pick(key, exclude);
    // After a failed attempt with no other target left, the failure itself is the answer.
    if (target === undefined) throw lastError ?? noTarget(config.name);
    ex.target = target.id;
    ex.attempts++;
    target.active++;
    target.served++;
    try {
      await attempt.send(target);
      return;
    } catch (err) {
      const error = attempt.mapError(err, target);
      if (ex.attempts < MAX_ATTEMPTS && !attempt.clientGone() && attempt.mayRetry(error, err)) {
        (exclude ??= new Set()).add(target.id);
        lastError = error;
        continue;
      }
      throw error;
    } finally {
      target.active--;
    }
  }
}
