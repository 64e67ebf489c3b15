/**
 * The circuit breaker wired to an upstream: `UpstreamState.breaker` (one
 * field, undefined when the config sets no `circuitBreaker`, so the check in
 * tryTargets costs one field test) and an observer on
 * `UpstreamState.observers` that feeds every attempt's outcome to the pure
 * {@link CircuitBreaker}. Configured from `UpstreamState.configure` on every
 * config load: unchanged settings keep the breaker and its state.
 */
import { monotonicClock, type Clock } from '../../shared/clock.js';
import { circuitOpen, type GwError } from '../../shared/errors.js';
import type { BaseExchange } from '../pipeline/types.js';
import type { AttemptRecord, UpstreamState } from '../upstream/upstream-runtime.js';
import type { BreakerSettings } from './schema.js';
import { CircuitBreaker, transitionText } from './state.js';

export class BreakerMonitor {
  readonly breaker: CircuitBreaker<BaseExchange>;
  /** The settings as JSON, to tell a reload that changed them. */
  readonly key: string;
  private readonly state: UpstreamState;
  /** The observer registered on the upstream (one function, made once). */
  readonly observe = (record: AttemptRecord): void => {
    this.breaker.record(record.exchange, record.outcome, record.durationMs);
  };

  constructor(state: UpstreamState, settings: BreakerSettings, clock: Clock) {
    this.state = state;
    this.key = JSON.stringify(settings);
    this.breaker = new CircuitBreaker<BaseExchange>(settings, clock, (t) =>
      state.log(`upstream ${state.name}: ${transitionText(t, settings)}`),
    );
    state.observers.push(this.observe);
  }

  /**
   * Lets `ex` through, or throws GW_ERR_CIRCUIT_OPEN (503, gRPC UNAVAILABLE)
   * when the circuit is open or half-open with its probes out.
   */
  admit(ex: BaseExchange): void {
    if (this.breaker.allow(ex)) return;
    throw this.refusal();
  }

  refusal(): GwError {
    return circuitOpen(this.state.name, this.breaker.refusal());
  }

  /**
   * `ex`'s session with a target is established (TCP connected, WebSocket
   * upgraded): if it is a half-open probe, it succeeded (see settleProbe).
   */
  established(ex: BaseExchange): void {
    this.breaker.settleProbe(ex);
  }

  /** The exchange ended before any attempt (no target): a probe among them failed. */
  noAttempt(ex: BaseExchange): void {
    this.breaker.failProbe(ex);
  }

  close(): void {
    const at = this.state.observers.indexOf(this.observe);
    if (at >= 0) this.state.observers.splice(at, 1);
  }
}

/**
 * Applies an upstream's `circuitBreaker` (from `UpstreamState.configure`):
 * returns the breaker the upstream keeps (the same one when the settings did
 * not change), a new one, or undefined when the config has none (or has one
 * per target).
 */
export function configureBreaker(
  state: UpstreamState,
  current: BreakerMonitor | undefined,
  settings: BreakerSettings | undefined,
  clock: Clock = monotonicClock,
): BreakerMonitor | undefined {
  // Breakers per target are configureTargetBreakers' (target-breakers.ts).
  if (settings === undefined || settings.perTarget) {
    if (current !== undefined) {
      current.close();
      if (current.breaker.state !== 'closed') {
        state.log(
          settings === undefined
            ? `upstream ${state.name}: circuit breaker removed; calls go through`
            : `upstream ${state.name}: circuit breaker now per target; calls go through`,
        );
      }
    }
    return undefined;
  }
  if (current?.key === JSON.stringify(settings)) return current;
  if (current !== undefined) {
    current.close();
    if (current.breaker.state !== 'closed') {
      state.log(`upstream ${state.name}: circuit breaker settings changed; closed again`);
    }
  }
  return new BreakerMonitor(state, settings, clock);
}
