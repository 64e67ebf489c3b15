import { noTarget, type GwError, type GwErrorCode } from '../../shared/errors.js';
import type { BaseExchange } from '../pipeline/types.js';
import { hashKeyOf, type KeySource } from './hash-key.js';
import type { AttemptOutcome, TargetRuntime, UpstreamRuntime } from './upstream-runtime.js';

/**
 * How one protocol sends its exchanges to a target: built once (a module
 * constant per protocol), so an attempt allocates no closures. The exchange
 * is passed to every method instead.
 */
export interface Forwarder<E extends BaseExchange & KeySource> {
  /**
   * Targets one exchange may try: 2 (the first and one retry) for requests;
   * a TCP connection tries each target once, as nothing was sent before it connected.
   */
  readonly maxAttempts: number;
  /** Sends `ex` to `target`; resolves when the exchange is over, rejects on failure (any error). */
  send(ex: E, target: TargetRuntime, upstream: UpstreamRuntime): Promise<void>;
  /** Maps what `send` threw into the gateway's error. */
  mapError(ex: E, err: unknown, target: TargetRuntime, upstream: UpstreamRuntime): GwError;
  /** True when the failure left nothing sent, and the exchange may go to another target. */
  mayRetry(ex: E, error: GwError, err: unknown): boolean;
  /** True once the client has gone: nobody is left to answer, so there is no retry. */
  clientGone(ex: E): boolean;
  /** True when the target answered, but with a failure (HTTP 5xx, gRPC UNAVAILABLE). */
  answeredFailure(ex: E): boolean;
}

/** At most this many targets per request: the first, and one retry elsewhere. */
export const MAX_ATTEMPTS = 2;

/**
 * The one attempt path of every protocol. Chooses a target with the
 * upstream's balancer (hashing on the configured key when the balance is
 * `hash`), counts it busy while `send` runs, ends every attempt with one
 * outcome record for the upstream's observers, and on a retryable failure
 * tries a different target (up to the forwarder's `maxAttempts`) while the
 * client is still there. An upstream's circuit breaker is asked first: an
 * open circuit throws GW_ERR_CIRCUIT_OPEN before any target is picked. With
 * breakers per target, the picked target's is asked instead: one that refuses
 * is left out and another picked, which counts as no attempt. When no target
 * is left the last failure is thrown, or GW_ERR_CIRCUIT_OPEN when every one
 * was refused by its circuit (or GW_ERR_NO_TARGET when there never was one).
 */
export async function tryTargets<E extends BaseExchange & KeySource>(
  upstream: UpstreamRuntime,
  ex: E,
  forwarder: Forwarder<E>,
): Promise<void> {
  const { config } = upstream;
  // An open circuit answers at once, before any target is picked (one field test when none).
  const { breaker, targetBreakers } = upstream.state;
  if (breaker !== undefined) breaker.admit(ex);
  const key = config.balance === 'hash' ? hashKeyOf(config.hashKey, ex) : undefined;
  let exclude: Set<string> | undefined;
  let lastError: GwError | undefined;
  for (;;) {
    const target = upstream.pick(key, exclude);
    // After a failed attempt with no other target left, the failure itself is the answer.
    if (target === undefined) {
      if (breaker !== undefined && lastError === undefined) breaker.noAttempt(ex);
      // With no failure, whatever was excluded was refused by its circuit.
      throw lastError ?? noTargetLeft(upstream, exclude !== undefined);
    }
    // The target's own circuit (perTarget): a refusal is no attempt; another target is picked.
    // A probe it admits gets its attempt right below, whose record ends the probe.
    if (targetBreakers !== undefined && !targetBreakers.admit(ex, target)) {
      // Every circuit open: the others would refuse too (panic mode serves them all).
      if (targetBreakers.allOpen()) throw lastError ?? targetBreakers.refusal();
      (exclude ??= new Set()).add(target.id);
      continue;
    }
    ex.target = target.id;
    ex.attempts++;
    target.active++;
    target.served++;
    // Timed only when someone hears of the outcome: no clock read per request otherwise.
    const startMs = upstream.state.observers.length === 0 ? 0 : performance.now();
    try {
      await forwarder.send(ex, target, upstream);
      record(upstream, ex, target, startMs, forwarder.answeredFailure(ex) ? 'status-5xx' : 'ok');
      return;
    } catch (err) {
      const error = forwarder.mapError(ex, err, target, upstream);
      const gone = forwarder.clientGone(ex);
      record(upstream, ex, target, startMs, gone ? 'aborted' : outcomeOf(error.code), error);
      if (ex.attempts < forwarder.maxAttempts && !gone && forwarder.mayRetry(ex, error, err)) {
        (exclude ??= new Set()).add(target.id);
        lastError = error;
        continue;
      }
      throw error;
    } finally {
      target.active--;
      if (target.drained) target.afterExchange();
    }
  }
}

/**
 * Why no target could be tried: GW_ERR_CIRCUIT_OPEN when targets' circuits
 * refused it (or every circuit is open, so none is in rotation), otherwise
 * GW_ERR_NO_TARGET.
 */
function noTargetLeft(upstream: UpstreamRuntime, refused: boolean): GwError {
  const { targetBreakers } = upstream.state;
  if (targetBreakers !== undefined && (refused || targetBreakers.allOpen())) {
    return targetBreakers.refusal();
  }
  return noTarget(upstream.config.name);
}

/** The outcome a failure counts as, by the error's code. */
export function outcomeOf(code: GwErrorCode): AttemptOutcome {
  switch (code) {
    case 'GW_ERR_UPSTREAM_CONNECT':
    case 'GW_ERR_NO_TARGET':
      return 'connect-failed';
    case 'GW_ERR_UPSTREAM_TIMEOUT':
      return 'timeout';
    case 'GW_ERR_UPSTREAM_RESET':
      return 'reset';
    default:
      // The request was refused or the client failed it (a bad body, too large, too slow).
      return 'aborted';
  }
}

/** Tells the upstream's observers how an attempt ended (nothing is made when none listen). */
function record(
  upstream: UpstreamRuntime,
  ex: BaseExchange,
  target: TargetRuntime,
  startMs: number,
  outcome: AttemptOutcome,
  error?: GwError,
): void {
  const { observers } = upstream.state;
  if (observers.length === 0) return;
  const entry = {
    upstream: upstream.config.name,
    target,
    exchange: ex,
    outcome,
    // 0: an observer that arrived during the attempt (a reload) has no start to measure from.
    durationMs: startMs === 0 ? 0 : performance.now() - startMs,
    error,
  };
  for (const observer of observers) observer(entry);
}
