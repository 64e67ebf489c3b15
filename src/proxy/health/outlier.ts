/**
 * Outlier detection's arithmetic (passive checks), apart from sockets and
 * timers: per target, failures in a row from attempt outcomes, when that
 * makes an ejection, how long it lasts, the cap on ejected targets, and when
 * a target returns. Pure: time comes in as arguments; tests drive it with a
 * ManualClock.
 *
 * - An attempt whose outcome is listed in `on` counts one failure; `ok`
 *   resets the count; `aborted` (the client left) and outcomes not listed
 *   count nothing either way. Outcomes that come while the target is
 *   ejected (exchanges that were in flight) are ignored.
 * - At `consecutiveFailures` the target is ejected for
 *   `baseEjectionMs × n`, n being its number of ejections counting this
 *   one, capped at `maxEjectionMs`.
 * - Unless the cap says no: at most {@link maxEjected} targets are ejected at
 *   once. A target refused by the cap keeps its count, so its next failure
 *   tries again (it gets in once another target returns).
 * - Forgiveness: each full `maxEjectionMs` a target spends in service after
 *   it returns takes one off its number of ejections, so a target that
 *   keeps failing is ejected for longer each time, and one that stays good
 *   long enough starts again from `baseEjectionMs`. The number never grows
 *   beyond what reaches the cap.
 */
import { maxEjected, type OutlierSettings } from './outlier-schema.js';

/** How an attempt ended, as try-targets reports it (AttemptOutcome). */
export type Outcome = 'ok' | 'status-5xx' | 'connect-failed' | 'timeout' | 'reset' | 'aborted';

/** What one target's failures led to. */
export type OutlierVerdict =
  | {
      readonly kind: 'eject';
      /** Until when (same scale as the `nowMs` given). */
      readonly untilMs: number;
      readonly durationMs: number;
      /** Its number of ejections, this one included (after forgiveness). */
      readonly ejection: number;
      /** Why, for the log: `5 consecutive connect failures`. */
      readonly reason: string;
    }
  | {
      readonly kind: 'capped';
      /** How many targets are ejected now, and the most that may be. */
      readonly ejected: number;
      readonly limit: number;
      readonly reason: string;
    };

/** What the detector keeps about one target. */
interface TargetOutliers {
  /** Failures in a row, and of which kinds. */
  failures: number;
  readonly kinds: Map<Outcome, number>;
  /** Ejections so far (before forgiveness since `returnedAtMs`). */
  ejections: number;
  /** Ejected until then; 0 when in service. */
  ejectedUntilMs: number;
  /** When it last came back (forgiveness counts from here). */
  returnedAtMs: number;
  /** The cap refused it during this run of failures (told once). */
  capped: boolean;
}

/** Passive health of one upstream's targets, keyed by whatever names a target (`K`). */
export class OutlierDetector<K> {
  private settings: OutlierSettings;
  private counted: ReadonlySet<Outcome>;
  private readonly targets = new Map<K, TargetOutliers>();

  constructor(settings: OutlierSettings) {
    this.settings = settings;
    this.counted = new Set(settings.on);
  }

  /** New settings (a config reload): counts and ejections so far are kept. */
  configure(settings: OutlierSettings): void {
    this.settings = settings;
    this.counted = new Set(settings.on);
  }

  get current(): OutlierSettings {
    return this.settings;
  }

  /**
   * One attempt's outcome for `target`. `ejectedNow` is how many of the
   * upstream's `total` targets are ejected now (the cap's input). Returns
   * an ejection (the caller takes the target out until `untilMs`), a
   * refusal by the cap (to be told once), or undefined.
   */
  observe(
    target: K,
    outcome: Outcome,
    nowMs: number,
    ejectedNow: number,
    total: number,
  ): OutlierVerdict | undefined {
    let state = this.targets.get(target);
    if (outcome === 'ok') {
      if (state !== undefined && state.failures > 0 && state.ejectedUntilMs === 0) reset(state);
      return undefined;
    }
    if (!this.counted.has(outcome)) return undefined;
    if (state === undefined) {
      state = {
        failures: 0,
        kinds: new Map(),
        ejections: 0,
        ejectedUntilMs: 0,
        returnedAtMs: nowMs,
        capped: false,
      };
      this.targets.set(target, state);
    }
    // Exchanges that were in flight when it was ejected say nothing new.
    if (state.ejectedUntilMs !== 0) return undefined;
    state.failures++;
    state.kinds.set(outcome, (state.kinds.get(outcome) ?? 0) + 1);
    const { settings } = this;
    if (state.failures < settings.consecutiveFailures) return undefined;
    const reason = failureText(state);
    const limit = maxEjected(settings.maxEjectedShare, total);
    if (ejectedNow >= limit) {
      if (state.capped) return undefined;
      state.capped = true;
      return { kind: 'capped', ejected: ejectedNow, limit, reason };
    }
    // Beyond the count that reaches the cap, more ejections change nothing.
    const most = Math.ceil(settings.maxEjectionMs / settings.baseEjectionMs);
    const ejection = Math.min(most, this.ejectionsAt(state, nowMs) + 1);
    const durationMs = ejectionMs(settings, ejection);
    state.ejections = ejection;
    state.ejectedUntilMs = nowMs + durationMs;
    reset(state);
    return { kind: 'eject', untilMs: state.ejectedUntilMs, durationMs, ejection, reason };
  }

  /**
   * Whether `target`'s ejection is over at `nowMs`; if so it is back in
   * service (its failure count starts from 0) and true is returned, once.
   */
  release(target: K, nowMs: number): boolean {
    const state = this.targets.get(target);
    if (state === undefined || state.ejectedUntilMs === 0 || state.ejectedUntilMs > nowMs)
      return false;
    state.ejectedUntilMs = 0;
    state.returnedAtMs = nowMs;
    return true;
  }

  /** Ejected until then (0: in service). */
  ejectedUntil(target: K): number {
    return this.targets.get(target)?.ejectedUntilMs ?? 0;
  }

  /** Its number of ejections as the next one would count them at `nowMs` (forgiveness applied). */
  ejections(target: K, nowMs: number): number {
    const state = this.targets.get(target);
    return state === undefined ? 0 : this.ejectionsAt(state, nowMs);
  }

  /** Failures in a row now. */
  failures(target: K): number {
    return this.targets.get(target)?.failures ?? 0;
  }

  /** Every target ejected now. */
  ejected(): K[] {
    const list: K[] = [];
    for (const [target, state] of this.targets) if (state.ejectedUntilMs !== 0) list.push(target);
    return list;
  }

  /** Forgets targets that are gone (no longer in `keep`). */
  retain(keep: ReadonlySet<K>): void {
    for (const target of this.targets.keys()) if (!keep.has(target)) this.targets.delete(target);
  }

  /** Forgets everything (outlier detection turned off). */
  clear(): void {
    this.targets.clear();
  }

  private ejectionsAt(state: TargetOutliers, nowMs: number): number {
    const { baseEjectionMs, maxEjectionMs } = this.settings;
    const forgiven = Math.floor(Math.max(0, nowMs - state.returnedAtMs) / maxEjectionMs);
    // Settings may have changed since (a reload): never above what reaches the cap.
    const most = Math.ceil(maxEjectionMs / baseEjectionMs);
    return Math.min(most, Math.max(0, state.ejections - forgiven));
  }
}

/** How long the `n`-th ejection lasts. */
export function ejectionMs(settings: OutlierSettings, n: number): number {
  return Math.min(settings.maxEjectionMs, settings.baseEjectionMs * Math.max(1, n));
}

function reset(state: TargetOutliers): void {
  state.failures = 0;
  state.kinds.clear();
  state.capped = false;
}

const KIND_TEXT: Record<Outcome, [string, string]> = {
  'connect-failed': ['connect failure', 'connect failures'],
  timeout: ['timeout', 'timeouts'],
  reset: ['reset', 'resets'],
  'status-5xx': ['5xx answer', '5xx answers'],
  ok: ['success', 'successes'],
  aborted: ['abort', 'aborts'],
};

function kindText(kind: Outcome, n: number): string {
  const [one, many] = KIND_TEXT[kind];
  return n === 1 ? one : many;
}

/** `5 consecutive connect failures`, or `5 consecutive failures (3 resets, 2 timeouts)`. */
function failureText(state: TargetOutliers): string {
  const n = state.failures;
  if (state.kinds.size === 1) {
    const [kind] = state.kinds.keys();
    if (kind !== undefined) return `${n} consecutive ${kindText(kind, n)}`;
  }
  const parts = [...state.kinds].map(([kind, count]) => `${count} ${kindText(kind, count)}`);
  return `${n} consecutive failures (${parts.join(', ')})`;
}

/** A duration for the log: `300 ms`, `30 s`, `1.5 s`, `5 min`. */
export function durationText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  const s = Math.round(ms / 100) / 10;
  return `${s} s`;
}
