/**
 * `circuitBreaker.perTarget: true`: one pure {@link CircuitBreaker} per target
 * of an upstream, all with the same settings, each fed by its own target's
 * attempts (one observer on `UpstreamState.observers`, one map lookup per
 * attempt). A target whose circuit opens leaves the balancer's rotation
 * (`TargetRuntime.circuitOpen`, then `UpstreamState.refreshAvailability`), as
 * an ejected outlier does; one task on the shared sweeper, only while some
 * circuit is open, turns them half-open when their time is up and puts them
 * back. tryTargets asks the picked target's breaker before each attempt
 * ({@link TargetBreakers.admit}): a refusal is no attempt, another target is
 * picked.
 *
 * Kept on `UpstreamState.targetBreakers` across reloads with the same
 * settings; a target that stays keeps its breaker (target objects outlive
 * reloads), one that leaves is forgotten ({@link TargetBreakers.follow}).
 */
import { monotonicClock, type Clock } from '../../shared/clock.js';
import { circuitOpen, type GwError } from '../../shared/errors.js';
import { sweeper as sharedSweeper, type StopSweep, type Sweeper } from '../../shared/sweeper.js';
import type { BaseExchange } from '../pipeline/types.js';
import type { AttemptRecord, TargetRuntime, UpstreamState } from '../upstream/upstream-runtime.js';
import { msText, type BreakerSettings } from './schema.js';
import { CircuitBreaker, transitionText, type BreakerTransition } from './state.js';

export class TargetBreakers {
  readonly settings: BreakerSettings;
  /** The settings as JSON, to tell a reload that changed them. */
  readonly key: string;
  private readonly state: UpstreamState;
  private readonly clock: Clock;
  private readonly sweeper: Sweeper;
  private readonly breakers = new Map<TargetRuntime, CircuitBreaker<BaseExchange>>();
  /** Targets whose circuit is open (out of rotation) until they turn half-open. */
  private readonly open = new Set<TargetRuntime>();
  /** No later than the first of {@link open} turns half-open (a bound: it may have passed). */
  private nextHalfOpenMs = Number.POSITIVE_INFINITY;
  private stopSweep: StopSweep | undefined;
  /** In a sweep: availability is refreshed once at its end, not per target. */
  private sweeping = false;
  private stopped = false;
  /** The observer registered on the upstream (one function, made once). */
  readonly observe = (record: AttemptRecord): void => {
    this.breakers.get(record.target)?.record(record.exchange, record.outcome, record.durationMs);
  };

  constructor(
    state: UpstreamState,
    settings: BreakerSettings,
    clock: Clock = monotonicClock,
    sweeper: Sweeper = sharedSweeper,
  ) {
    this.state = state;
    this.settings = settings;
    this.key = JSON.stringify(settings);
    this.clock = clock;
    this.sweeper = sweeper;
    this.follow(state.targets);
    state.observers.push(this.observe);
  }

  /** The breaker of a target of the upstream now (status, tests). */
  breakerOf(target: TargetRuntime): CircuitBreaker<BaseExchange> | undefined {
    return this.breakers.get(target);
  }

  /** Targets whose circuit is open now. */
  get openCount(): number {
    return this.open.size;
  }

  /**
   * May `ex` make an attempt on `target`? Its breaker decides (closed: yes,
   * with no clock read; half-open: as one of its probes). A target the
   * upstream no longer has (an exchange pinned to an older config) has no
   * breaker, and is let through.
   */
  admit(ex: BaseExchange, target: TargetRuntime): boolean {
    const breaker = this.breakers.get(target);
    return breaker === undefined || breaker.allow(ex);
  }

  /**
   * True when every target's circuit is open now, so after one refusal the
   * others need not be tried (in panic mode the balancer still serves them).
   * O(1) unless one is due to turn half-open, which a sweep applies first.
   */
  allOpen(): boolean {
    const n = this.open.size;
    if (n === 0 || n < this.breakers.size) return false;
    const nowMs = this.clock.nowMs();
    if (nowMs < this.nextHalfOpenMs) return true;
    this.sweep(nowMs);
    return this.open.size === this.breakers.size;
  }

  /** GW_ERR_CIRCUIT_OPEN (503, gRPC UNAVAILABLE): no target left, each refused by its circuit. */
  refusal(): GwError {
    const nowMs = this.clock.nowMs();
    // A circuit due to turn half-open is turned first, so the wait said is the real one.
    if (nowMs >= this.nextHalfOpenMs) this.sweep(nowMs);
    const n = this.breakers.size;
    const open = this.open.size;
    const retry =
      open === 0 ? '' : `; retry in ${msText(Math.max(0, this.nextHalfOpenMs - nowMs))}`;
    const why =
      open === n
        ? `every target's circuit is open (${n} of ${n})`
        : `every target's circuit is open or half-open with its probes out (${open} of ${n} open)`;
    return circuitOpen(this.state.name, why + retry);
  }

  /**
   * Follows a new target set (from `UpstreamState.setTargets`): a new target
   * gets a closed breaker, one that left is forgotten (and no longer counts
   * as open).
   */
  follow(targets: readonly TargetRuntime[]): void {
    if (this.stopped) return;
    const current = new Set(targets);
    for (const target of this.breakers.keys()) {
      if (current.has(target)) continue;
      this.breakers.delete(target);
      this.backInRotation(target);
    }
    for (const target of targets) {
      if (!this.breakers.has(target)) this.breakers.set(target, this.newBreaker(target));
    }
    if (this.open.size === 0) this.endSweep();
  }

  /**
   * Turns half-open the open circuits whose time is up, putting their targets
   * back in rotation (one availability refresh for all of them); stops
   * sweeping once none is open.
   */
  sweep(nowMs: number = this.clock.nowMs()): void {
    let next = Number.POSITIVE_INFINITY;
    let returned = false;
    this.sweeping = true;
    try {
      for (const target of this.open) {
        const breaker = this.breakers.get(target);
        breaker?.refresh(nowMs);
        if (breaker?.state === 'open') next = Math.min(next, nowMs + breaker.retryInMs(nowMs));
        else returned = this.backInRotation(target) || returned;
      }
    } finally {
      this.sweeping = false;
    }
    this.nextHalfOpenMs = next;
    if (returned) this.state.refreshAvailability(nowMs);
    if (this.open.size === 0) this.endSweep();
  }

  /** Stops listening and sweeping; open targets go back in rotation (settings changed, or none). */
  close(): void {
    this.stop();
    let returned = false;
    for (const target of this.open) returned = this.backInRotation(target) || returned;
    this.breakers.clear();
    if (returned) this.state.refreshAvailability(this.clock.nowMs());
  }

  /** Stops listening and sweeping, leaving the targets as they are (the upstream is going away). */
  stop(): void {
    this.stopped = true;
    const at = this.state.observers.indexOf(this.observe);
    if (at >= 0) this.state.observers.splice(at, 1);
    this.endSweep();
  }

  /** True when any target's circuit is not closed (for the log line of a removal). */
  anyNotClosed(): boolean {
    for (const breaker of this.breakers.values()) if (breaker.state !== 'closed') return true;
    return false;
  }

  private newBreaker(target: TargetRuntime): CircuitBreaker<BaseExchange> {
    return new CircuitBreaker<BaseExchange>(this.settings, this.clock, (t) =>
      this.transition(target, t),
    );
  }

  /** One line per change; an open circuit takes the target out of rotation, half-open puts it back. */
  private transition(target: TargetRuntime, t: BreakerTransition): void {
    this.state.log(
      `upstream ${this.state.name}: target ${target.id}: ${transitionText(t, this.settings)}`,
    );
    if (this.sweeping) return;
    const nowMs = this.clock.nowMs();
    if (t.to === 'open') {
      this.open.add(target);
      target.circuitOpen = true;
      this.nextHalfOpenMs = Math.min(this.nextHalfOpenMs, nowMs + t.openMs);
      this.state.refreshAvailability(nowMs);
      this.startSweep();
    } else if (this.backInRotation(target)) {
      // Turned half-open when asked (picked in panic mode) before the sweep came to it.
      this.state.refreshAvailability(nowMs);
    }
  }

  /** Takes `target` out of the open set (back in rotation); true when it was there. */
  private backInRotation(target: TargetRuntime): boolean {
    if (!this.open.delete(target)) return false;
    target.circuitOpen = false;
    return true;
  }

  private startSweep(): void {
    if (this.stopSweep !== undefined || this.stopped) return;
    this.stopSweep = this.sweeper.every(sweepPeriod(this.settings), () => this.sweep());
  }

  private endSweep(): void {
    this.stopSweep?.();
    this.stopSweep = undefined;
    if (this.open.size === 0) this.nextHalfOpenMs = Number.POSITIVE_INFINITY;
  }
}

/**
 * Applies an upstream's `circuitBreaker` when it is `perTarget` (from
 * `UpstreamState.configure`): the same breakers when the settings did not
 * change, new ones (all closed) when they did, none when the config has no
 * per-target breaker.
 */
export function configureTargetBreakers(
  state: UpstreamState,
  current: TargetBreakers | undefined,
  settings: BreakerSettings | undefined,
  clock: Clock = monotonicClock,
  sweeper: Sweeper = sharedSweeper,
): TargetBreakers | undefined {
  const wanted = settings?.perTarget === true ? settings : undefined;
  // The same settings (or still none): the same breakers, with their state.
  if (current?.key === JSON.stringify(wanted)) return current;
  if (current !== undefined) {
    const notClosed = current.anyNotClosed();
    current.close();
    if (notClosed) {
      state.log(
        wanted === undefined
          ? `upstream ${state.name}: per-target circuit breakers removed; every target back in rotation`
          : `upstream ${state.name}: circuit breaker settings changed; every target's circuit closed again`,
      );
    }
  }
  return wanted === undefined ? undefined : new TargetBreakers(state, wanted, clock, sweeper);
}

/** How often open circuits are checked: a twentieth of openMs, 10 ms to 1 s. */
function sweepPeriod(settings: BreakerSettings): number {
  return Math.min(1000, Math.max(10, Math.floor(settings.openMs / 20)));
}
