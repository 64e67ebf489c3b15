/**
 * Outlier detection wired to an upstream: hears every attempt (an
 * AttemptObserver on `UpstreamState.observers`), feeds the pure
 * {@link OutlierDetector}, and takes targets out of and back into service
 * (`TargetRuntime.ejectedUntilMs`, then `UpstreamState.refreshAvailability`,
 * which updates the balancer once). One task on the shared sweeper, only
 * while some target is ejected, brings them back when their time is up.
 */
import { monotonicClock, type Clock } from '../../shared/clock.js';
import { sweeper as sharedSweeper, type StopSweep, type Sweeper } from '../../shared/sweeper.js';
import type { AttemptRecord, TargetRuntime, UpstreamState } from '../upstream/upstream-runtime.js';
import { durationText, OutlierDetector } from './outlier.js';
import type { OutlierSettings } from './outlier-schema.js';

/** The monitor of each upstream that has outlier detection, by its lasting state. */
const monitors = new WeakMap<UpstreamState, OutlierMonitor>();

/**
 * Applies an upstream's `outlierDetection` (from `UpstreamState.configure`,
 * on every config load): starts the monitor, gives it new settings (counts
 * and ejections carry over), or stops it when the config dropped the key
 * (ejected targets return at once).
 */
export function configureOutliers(
  state: UpstreamState,
  settings: OutlierSettings | undefined,
  clock: Clock = monotonicClock,
  sweeper: Sweeper = sharedSweeper,
): OutlierMonitor | undefined {
  let monitor = monitors.get(state);
  if (settings === undefined) {
    if (monitor !== undefined) {
      monitors.delete(state);
      monitor.close();
    }
    return undefined;
  }
  if (monitor === undefined) {
    monitor = new OutlierMonitor(state, settings, clock, sweeper);
    monitors.set(state, monitor);
  } else monitor.configure(settings);
  return monitor;
}

/** The outlier monitor of an upstream, if it has one (status, tests). */
export function outlierMonitorOf(state: UpstreamState): OutlierMonitor | undefined {
  return monitors.get(state);
}

export class OutlierMonitor {
  readonly detector: OutlierDetector<TargetRuntime>;
  private readonly state: UpstreamState;
  private readonly clock: Clock;
  private readonly sweeper: Sweeper;
  private stopSweep: StopSweep | undefined;
  private closed = false;
  /** The observer registered on the upstream (one function, made once). */
  readonly observe = (record: AttemptRecord): void => this.onAttempt(record);

  constructor(state: UpstreamState, settings: OutlierSettings, clock: Clock, sweeper: Sweeper) {
    this.state = state;
    this.clock = clock;
    this.sweeper = sweeper;
    this.detector = new OutlierDetector(settings);
    state.observers.push(this.observe);
  }

  configure(settings: OutlierSettings): void {
    const periodChanged = sweepPeriod(settings) !== sweepPeriod(this.detector.current);
    this.detector.configure(settings);
    if (periodChanged && this.stopSweep !== undefined) {
      this.stopSweep();
      this.stopSweep = undefined;
      this.startSweep();
    }
  }

  /** Stops listening; targets it ejected return to service now. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const at = this.state.observers.indexOf(this.observe);
    if (at >= 0) this.state.observers.splice(at, 1);
    this.stopSweep?.();
    this.stopSweep = undefined;
    const ejected = this.detector.ejected();
    this.detector.clear();
    if (ejected.length === 0) return;
    for (const target of ejected) {
      target.ejectedUntilMs = 0;
      if (!target.drained) this.tell(`${target.id} back in service (outlier detection is off)`);
    }
    this.state.refreshAvailability(this.clock.nowMs());
  }

  private onAttempt(record: AttemptRecord): void {
    const { target, outcome } = record;
    // Most attempts succeed on a target with no failures: one map lookup, nothing else.
    if (outcome === 'ok' && this.detector.failures(target) === 0) return;
    const now = this.clock.nowMs();
    const targets = this.state.targets;
    if (!targets.includes(target)) return;
    let ejectedNow = 0;
    if (outcome !== 'ok' && outcome !== 'aborted') {
      for (const t of targets) if (this.detector.ejectedUntil(t) !== 0) ejectedNow++;
    }
    const verdict = this.detector.observe(target, outcome, now, ejectedNow, targets.length);
    if (verdict === undefined) return;
    if (verdict.kind === 'capped') {
      this.tell(
        `${target.id} not ejected: ${verdict.reason}, but ${verdict.ejected} of ${targets.length} targets are ejected already (maxEjectedShare ${this.detector.current.maxEjectedShare})`,
      );
      return;
    }
    target.ejectedUntilMs = verdict.untilMs;
    this.tell(
      `${target.id} ejected for ${durationText(verdict.durationMs)}: ${verdict.reason} (ejection ${verdict.ejection})`,
    );
    this.state.refreshAvailability(now);
    this.startSweep();
  }

  /** Brings back the targets whose time is up; stops sweeping once none is ejected. */
  sweep(nowMs: number = this.clock.nowMs()): void {
    const targets = this.state.targets;
    const current = new Set(targets);
    let returned = false;
    for (const target of this.detector.ejected()) {
      if (!current.has(target)) continue;
      if (!this.detector.release(target, nowMs)) continue;
      target.ejectedUntilMs = 0;
      returned = true;
      this.tell(`${target.id} back in service`);
    }
    // Targets that left the upstream (reload, discovery) are forgotten.
    this.detector.retain(current);
    if (returned) this.state.refreshAvailability(nowMs);
    if (this.detector.ejected().length === 0 && this.stopSweep !== undefined) {
      this.stopSweep();
      this.stopSweep = undefined;
    }
  }

  private startSweep(): void {
    if (this.stopSweep !== undefined || this.closed) return;
    this.stopSweep = this.sweeper.every(sweepPeriod(this.detector.current), () => this.sweep());
  }

  private tell(line: string): void {
    this.state.log(`upstream ${this.state.name}: ${line}`);
  }
}

/** How often ejections are checked: a twentieth of the base ejection, 10 ms to 1 s. */
function sweepPeriod(settings: OutlierSettings): number {
  return Math.min(1000, Math.max(10, Math.floor(settings.baseEjectionMs / 20)));
}
