/**
 * The active health verdict of one target, as a pure state machine: probe
 * results go in, transitions (with their reason) and the delay before the
 * next probe come out. No timers, no sockets; the monitor drives it, tests
 * drive it by hand.
 *
 * A target starts `unchecked` and serves meanwhile (a fresh gateway serves at
 * once). Its first probe decides at once: a failure takes it out without
 * waiting for `unhealthyThreshold` (a target that is down at start leaves
 * after one timeout, not several intervals), a pass makes it `healthy`. From
 * then on, `unhealthyThreshold` consecutive failures take a healthy target
 * out, `healthyThreshold` consecutive passes bring an unhealthy one back.
 */

/** One probe's outcome: passed, or failed with a kind (for the log's wording) and a reason. */
export type ProbeResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly kind: FailureKind; readonly reason: string };

/** `timeout`: no answer within timeoutMs; `connect`: refused/unreachable; `answer`: a wrong answer. */
export type FailureKind = 'timeout' | 'connect' | 'answer';

export type HealthStatus = 'unchecked' | 'healthy' | 'unhealthy';

export interface Transition {
  readonly to: 'healthy' | 'unhealthy';
  /** `2 consecutive timeouts on GET /healthz (300 ms)`, `2 consecutive passed checks on GET /healthz`. */
  readonly reason: string;
}

/** The settings the state machine needs (a subset of a HealthCheckConfig). */
export interface StateSettings {
  readonly intervalMs: number;
  readonly unhealthyIntervalMs: number;
  readonly jitterMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export class ActiveHealthState {
  status: HealthStatus = 'unchecked';
  /** Consecutive passed probes (0 after a failure). */
  successes = 0;
  /** Consecutive failed probes (0 after a pass). */
  failures = 0;
  /** The kinds of the current run of failures, to word the reason. */
  private failureKinds = new Set<FailureKind>();
  /** The last failure's reason, for status and the log. */
  lastFailure: string | undefined;

  /** True while the target may serve as far as active checks go. */
  get healthy(): boolean {
    return this.status !== 'unhealthy';
  }

  /**
   * Takes one probe's result; returns the transition it causes, if any.
   * `probe` names what was checked, for the reason (`GET /healthz`).
   */
  record(result: ProbeResult, settings: StateSettings, probe: string): Transition | undefined {
    if (result.ok) {
      this.successes++;
      this.failures = 0;
      this.failureKinds.clear();
      if (this.status === 'unchecked') {
        this.status = 'healthy';
        return undefined;
      }
      if (this.status === 'unhealthy' && this.successes >= settings.healthyThreshold) {
        this.status = 'healthy';
        const n = this.successes;
        return {
          to: 'healthy',
          reason: `${n} consecutive passed ${plural(n, 'check')} on ${probe}`,
        };
      }
      return undefined;
    }
    this.failures++;
    this.successes = 0;
    this.failureKinds.add(result.kind);
    this.lastFailure = result.reason;
    const first = this.status === 'unchecked';
    if (this.status === 'unhealthy') return undefined;
    if (!first && this.failures < settings.unhealthyThreshold) return undefined;
    this.status = 'unhealthy';
    return { to: 'unhealthy', reason: this.failureReason(result, settings, probe, first) };
  }

  /**
   * Milliseconds until the next probe: the interval for its status plus a
   * random share of the jitter. `random` returns [0, 1).
   */
  nextDelayMs(settings: StateSettings, random: () => number): number {
    const base = this.status === 'unhealthy' ? settings.unhealthyIntervalMs : settings.intervalMs;
    return base + Math.floor(random() * settings.jitterMs);
  }

  private failureReason(
    last: Extract<ProbeResult, { ok: false }>,
    settings: StateSettings,
    probe: string,
    first: boolean,
  ): string {
    if (first) return `first check failed on ${probe}: ${last.reason}`;
    const n = this.failures;
    if (this.failureKinds.size === 1 && last.kind === 'timeout') {
      return `${n} consecutive ${plural(n, 'timeout')} on ${probe} (${settings.timeoutMs} ms)`;
    }
    return `${n} consecutive failed ${plural(n, 'check')} on ${probe}, last: ${last.reason}`;
  }
}

/**
 * The delay before a target's first probe: a random share of one interval
 * (at most the jitter when there is one), so the targets of an upstream, and
 * the upstreams of a gateway, do not probe in step.
 */
export function firstDelayMs(settings: StateSettings, random: () => number): number {
  const spread = settings.jitterMs > 0 ? Math.min(settings.jitterMs, settings.intervalMs) : 0;
  return Math.floor(random() * spread);
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
