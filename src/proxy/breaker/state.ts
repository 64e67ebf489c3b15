/**
 * The circuit breaker's state machine, pure (time from an injected
 * {@link Clock}, no timers): closed → open when, in the sliding window, at
 * least `minCalls` calls were made and the failed share reached
 * `failureRate` (or the slow share `slowCallRate`); open for `openMs` (×2 on
 * each consecutive trip, capped at `maxOpenMs`), answering at once; then
 * half-open, letting `halfOpenCalls` probes through: all of them succeed →
 * closed, one fails (or outlasts `halfOpenTimeoutMs`) → open again, longer.
 * Time-driven changes (open → half-open, a hung probe) are applied when the
 * breaker is next asked, so an idle upstream costs nothing.
 *
 * The window is a ring: of time buckets (`windowMs`, {@link BUCKETS} buckets)
 * or of the last `windowCalls` outcomes; each record is O(1).
 */
import type { Clock } from '../../shared/clock.js';
import type { AttemptOutcome } from '../upstream/upstream-runtime.js';
import { msText, type BreakerSettings } from './schema.js';

export type BreakerStateName = 'closed' | 'open' | 'half-open';

/** A change of state, with the numbers that caused it (for the one log line). */
export type BreakerTransition =
  | {
      readonly to: 'open';
      /** `failures` or `slow`: the window tripped it; `probe-failed`/`probe-timeout`: a probe did. */
      readonly cause: 'failures' | 'slow' | 'probe-failed' | 'probe-timeout';
      readonly calls: number;
      readonly failed: number;
      readonly slow: number;
      readonly openMs: number;
      /** Consecutive trips, this one included. */
      readonly trip: number;
    }
  | { readonly to: 'half-open'; readonly probes: number }
  | { readonly to: 'closed'; readonly probes: number };

/** Time buckets of a `windowMs` window. */
export const BUCKETS = 10;

const FAILED = 1;
const SLOW = 2;

/** Counts of a sliding window; O(1) per record. */
interface Window {
  add(nowMs: number, flags: number): void;
  counts(nowMs: number): { calls: number; failed: number; slow: number };
  clear(): void;
}

/** The last `size` calls, as a ring of outcome flags. */
class CallWindow implements Window {
  private readonly ring: Uint8Array;
  private at = 0;
  private filled = 0;
  private failed = 0;
  private slow = 0;

  constructor(size: number) {
    this.ring = new Uint8Array(size);
  }

  add(_nowMs: number, flags: number): void {
    const { ring } = this;
    if (this.filled === ring.length) {
      const old = ring[this.at] ?? 0;
      if (old & FAILED) this.failed--;
      if (old & SLOW) this.slow--;
    } else this.filled++;
    ring[this.at] = flags;
    if (flags & FAILED) this.failed++;
    if (flags & SLOW) this.slow++;
    this.at = this.at + 1 === ring.length ? 0 : this.at + 1;
  }

  counts(): { calls: number; failed: number; slow: number } {
    return { calls: this.filled, failed: this.failed, slow: this.slow };
  }

  clear(): void {
    this.at = this.filled = this.failed = this.slow = 0;
  }
}

/** The last `windowMs`, as a ring of {@link BUCKETS} buckets (the oldest one partly). */
class TimeWindow implements Window {
  private readonly width: number;
  private readonly calls = new Float64Array(BUCKETS);
  private readonly failed = new Float64Array(BUCKETS);
  private readonly slow = new Float64Array(BUCKETS);
  /** The bucket index (time / width) the newest bucket holds; older slots are behind it. */
  private head = -Infinity;
  private totalCalls = 0;
  private totalFailed = 0;
  private totalSlow = 0;

  constructor(windowMs: number) {
    this.width = windowMs / BUCKETS;
  }

  /** Moves the ring to `nowMs`: buckets that left the window are emptied (at most BUCKETS). */
  private advance(nowMs: number): number {
    const index = Math.floor(nowMs / this.width);
    if (index <= this.head) return index;
    if (index - this.head >= BUCKETS) this.clear();
    else {
      for (let i = this.head + 1; i <= index; i++) {
        const slot = i % BUCKETS;
        this.totalCalls -= this.calls[slot] ?? 0;
        this.totalFailed -= this.failed[slot] ?? 0;
        this.totalSlow -= this.slow[slot] ?? 0;
        this.calls[slot] = this.failed[slot] = this.slow[slot] = 0;
      }
    }
    this.head = index;
    return index;
  }

  add(nowMs: number, flags: number): void {
    const slot = this.advance(nowMs) % BUCKETS;
    this.calls[slot] = (this.calls[slot] ?? 0) + 1;
    this.totalCalls++;
    if (flags & FAILED) {
      this.failed[slot] = (this.failed[slot] ?? 0) + 1;
      this.totalFailed++;
    }
    if (flags & SLOW) {
      this.slow[slot] = (this.slow[slot] ?? 0) + 1;
      this.totalSlow++;
    }
  }

  counts(nowMs: number): { calls: number; failed: number; slow: number } {
    this.advance(nowMs);
    return { calls: this.totalCalls, failed: this.totalFailed, slow: this.totalSlow };
  }

  clear(): void {
    this.calls.fill(0);
    this.failed.fill(0);
    this.slow.fill(0);
    this.totalCalls = this.totalFailed = this.totalSlow = 0;
  }
}

/** The breaker of one upstream. `K` identifies a probe (the exchange) until its attempt ends. */
export class CircuitBreaker<K = unknown> {
  readonly settings: BreakerSettings;
  private readonly clock: Clock;
  private readonly onTransition: (t: BreakerTransition) => void;
  private readonly window: Window;
  private readonly failing: ReadonlySet<AttemptOutcome>;
  private current: BreakerStateName = 'closed';
  /** When an open circuit turns half-open. */
  private openUntilMs = 0;
  /** Consecutive trips since it last closed. */
  private trips = 0;
  /** The last trip's numbers, for refusals. */
  private lastOpen: (BreakerTransition & { to: 'open' }) | undefined;
  /** Probes let through and not over yet, with their start. */
  private readonly probes = new Map<K, number>();
  /** Probes of this half-open period that succeeded. */
  private probesOk = 0;

  constructor(
    settings: BreakerSettings,
    clock: Clock,
    onTransition: (t: BreakerTransition) => void = () => undefined,
  ) {
    this.settings = settings;
    this.clock = clock;
    this.onTransition = onTransition;
    this.window =
      settings.windowCalls === undefined
        ? new TimeWindow(settings.windowMs ?? 10_000)
        : new CallWindow(settings.windowCalls);
    this.failing = new Set<AttemptOutcome>(settings.on);
  }

  /** The state as last applied (time-driven changes wait for {@link allow} or {@link refresh}). */
  get state(): BreakerStateName {
    return this.current;
  }

  /** Probes in flight now. */
  get probesInFlight(): number {
    return this.probes.size;
  }

  /**
   * May a call go to the upstream now? Closed: yes. Open: no, until its time
   * is up (then half-open). Half-open: yes while fewer than `halfOpenCalls`
   * probes were let through; `key` then counts as a probe until
   * {@link record} hears of it.
   */
  allow(key: K): boolean {
    if (this.current === 'closed') return true;
    const nowMs = this.clock.nowMs();
    this.refresh(nowMs);
    if (this.current === 'open') return false;
    if (this.probes.size + this.probesOk >= this.settings.halfOpenCalls) return false;
    this.probes.set(key, nowMs);
    return true;
  }

  /** Applies the changes time makes: open → half-open, a probe that outlasted its timeout. */
  refresh(nowMs: number = this.clock.nowMs()): void {
    if (this.current === 'open' && nowMs >= this.openUntilMs) {
      this.current = 'half-open';
      this.probesOk = 0;
      this.probes.clear();
      this.onTransition({ to: 'half-open', probes: this.settings.halfOpenCalls });
      return;
    }
    if (this.current !== 'half-open' || this.probes.size === 0) return;
    for (const startMs of this.probes.values()) {
      if (nowMs - startMs >= this.settings.halfOpenTimeoutMs) {
        this.trip(nowMs, 'probe-timeout', this.probes.size, 1, 0);
        return;
      }
    }
  }

  /**
   * How one attempt ended. A probe's decides the half-open circuit; others
   * count in the window while closed (an `aborted` one counts nowhere: the
   * client left, which says nothing of the upstream).
   */
  record(key: K, outcome: AttemptOutcome, durationMs: number): void {
    if (this.probes.size !== 0 && this.probes.has(key)) {
      this.probeEnded(key, outcome);
      return;
    }
    if (this.current !== 'closed' || outcome === 'aborted') return;
    const { settings } = this;
    let flags = this.failing.has(outcome) ? FAILED : 0;
    if (settings.slowCallMs !== undefined && durationMs >= settings.slowCallMs) flags |= SLOW;
    const nowMs = this.clock.nowMs();
    this.window.add(nowMs, flags);
    // Only a failed or slow call can trip it.
    if (flags === 0) return;
    const { calls, failed, slow } = this.window.counts(nowMs);
    if (calls < settings.minCalls) return;
    if (failed >= settings.failureRate * calls && failed > 0) {
      this.trip(nowMs, 'failures', calls, failed, slow);
    } else if (
      settings.slowCallRate !== undefined &&
      slow > 0 &&
      slow >= settings.slowCallRate * calls
    ) {
      this.trip(nowMs, 'slow', calls, failed, slow);
    }
  }

  /**
   * A probe whose session is established (a TCP connection the target
   * accepted, a WebSocket it upgraded): that is its success. A session may
   * last hours, so waiting for its end would hold the half-open circuit
   * (refusing everyone else) and then count the probe as hung. Its end is
   * recorded later as any call's.
   */
  settleProbe(key: K): void {
    if (this.probes.size !== 0 && this.probes.has(key)) this.probeEnded(key, 'ok');
  }

  /** A probe exchange that ended with no attempt at all (no target): a failed probe. */
  failProbe(key: K): void {
    if (this.probes.has(key)) this.probeEnded(key, 'connect-failed');
  }

  private probeEnded(key: K, outcome: AttemptOutcome): void {
    this.probes.delete(key);
    if (this.current !== 'half-open') return;
    // The client left: the probe proved nothing, and its place goes to the next call.
    if (outcome === 'aborted') return;
    if (this.failing.has(outcome)) {
      this.trip(this.clock.nowMs(), 'probe-failed', 1, 1, 0);
      return;
    }
    this.probesOk++;
    if (this.probesOk < this.settings.halfOpenCalls) return;
    this.current = 'closed';
    this.trips = 0;
    this.probes.clear();
    this.window.clear();
    this.onTransition({ to: 'closed', probes: this.probesOk });
  }

  private trip(
    nowMs: number,
    cause: 'failures' | 'slow' | 'probe-failed' | 'probe-timeout',
    calls: number,
    failed: number,
    slow: number,
  ): void {
    this.trips++;
    const { openMs, maxOpenMs } = this.settings;
    const ms = Math.min(maxOpenMs, openMs * 2 ** Math.min(this.trips - 1, 40));
    this.current = 'open';
    this.openUntilMs = nowMs + ms;
    this.probes.clear();
    this.probesOk = 0;
    this.window.clear();
    const transition = {
      to: 'open',
      cause,
      calls,
      failed,
      slow,
      openMs: ms,
      trip: this.trips,
    } as const;
    this.lastOpen = transition;
    this.onTransition(transition);
  }

  /** Why a call is refused now, for the error (`12 of 20 calls failed in 10 s; retry in 3.2 s`). */
  refusal(nowMs: number = this.clock.nowMs()): string {
    if (this.current === 'half-open') {
      return `half-open: ${this.settings.halfOpenCalls} probes already let through`;
    }
    const why = this.lastOpen === undefined ? 'open' : causeText(this.lastOpen, this.settings);
    return `${why}; retry in ${msText(Math.max(0, this.openUntilMs - nowMs))}`;
  }

  /** Milliseconds until an open circuit lets probes through (0 when not open). */
  retryInMs(nowMs: number = this.clock.nowMs()): number {
    return this.current === 'open' ? Math.max(0, this.openUntilMs - nowMs) : 0;
  }
}

/** What tripped it, in words: `12 of 20 calls failed in 10 s`. */
export function causeText(
  t: BreakerTransition & { to: 'open' },
  settings: BreakerSettings,
): string {
  switch (t.cause) {
    case 'failures':
      return callsText(t.failed, t.calls, 'failed', settings);
    case 'slow':
      return callsText(t.slow, t.calls, `took ${settings.slowCallMs ?? 0} ms or more`, settings);
    case 'probe-failed':
      return 'a half-open probe failed';
    case 'probe-timeout':
      return `a half-open probe took over ${msText(settings.halfOpenTimeoutMs)}`;
  }
}

/** `12 of 20 calls failed in 10 s` or `12 of the last 20 calls failed`. */
function callsText(n: number, calls: number, what: string, settings: BreakerSettings): string {
  return settings.windowCalls === undefined
    ? `${n} of ${calls} calls ${what} in ${msText(settings.windowMs ?? 10_000)}`
    : `${n} of the last ${calls} calls ${what}`;
}

/** The log line of a transition, after `upstream NAME: `. */
export function transitionText(t: BreakerTransition, settings: BreakerSettings): string {
  switch (t.to) {
    case 'open':
      return `circuit open, ${causeText(t, settings)}; open for ${msText(t.openMs)}${t.trip > 1 ? ` (trip ${t.trip} in a row)` : ''}`;
    case 'half-open':
      return `circuit half-open: letting ${t.probes} probe${t.probes === 1 ? '' : 's'} through`;
    case 'closed':
      return `circuit closed: ${t.probes} probe${t.probes === 1 ? '' : 's'} succeeded`;
  }
}
