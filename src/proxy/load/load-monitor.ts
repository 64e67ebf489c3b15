import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Sweeper, StopSweep } from '../../shared/sweeper.js';
import type { Priority } from '../pipeline/types.js';

/** How often the event-loop delay is read (its p99 over this period) and shed counts logged. */
export const LOAD_PERIOD_MS = 1000;

/**
 * The gateway's load, one for the process (it outlives config reloads): the
 * exchanges in flight on routes with shedding, and the event loop's delay
 * (p99 over the last second, from `perf_hooks.monitorEventLoopDelay`). It
 * also counts what was shed and logs it at most once a second per priority,
 * with the reason of the last one. Nothing runs until a config with
 * `shedding` is loaded.
 */
export class LoadMonitor {
  /** Exchanges admitted and not yet over. */
  inFlight = 0;
  /** The event loop's p99 delay over the last period, in ms; 0 when not measured. */
  delayMs = 0;
  private histogram: IntervalHistogram | undefined;
  private stopSweep: StopSweep | undefined;
  private log: (line: string) => void = () => undefined;
  private readonly shed = { core: 0, normal: 0 };
  /** Routes (of every config still in force) that use it; at 0 it stops. */
  private users = 0;
  private readonly lastReason = { core: '', normal: '' };

  /**
   * Starts the periodic read (and the delay histogram when `watchDelay`) for
   * one user, a route with shedding. Returns its release: when the last user
   * is released (a reload dropped `shedding`, the gateway stopped), measuring
   * stops. A new config's routes take it up before the old one releases it.
   */
  use(sweeper: Sweeper, log: (line: string) => void, watchDelay: boolean): () => void {
    this.log = log;
    this.users++;
    if (watchDelay && this.histogram === undefined) {
      this.histogram = monitorEventLoopDelay({ resolution: 10 });
      this.histogram.enable();
    }
    this.stopSweep ??= sweeper.every(LOAD_PERIOD_MS, () => this.tick());
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.users > 0) this.users--;
      if (this.users === 0) this.stop();
    };
  }

  /** Counts one shed exchange; the log line comes with the next tick. */
  noteShed(priority: Priority, reason: string): void {
    this.shed[priority]++;
    this.lastReason[priority] = reason;
  }

  /** Reads the delay of the period that ended and logs what was shed in it. */
  tick(): void {
    if (this.histogram !== undefined) {
      this.delayMs = this.histogram.count > 0 ? this.histogram.percentile(99) / 1e6 : 0;
      this.histogram.reset();
    }
    for (const priority of ['normal', 'core'] as const) {
      const n = this.shed[priority];
      if (n === 0) continue;
      const what = n === 1 ? 'request' : 'requests';
      this.log(
        `shed ${n} ${priority} ${what} in the last ${LOAD_PERIOD_MS / 1000} s: ${this.lastReason[priority]}`,
      );
      this.shed[priority] = 0;
    }
  }

  /** Stops measuring (its last user released it; tests). */
  stop(): void {
    this.stopSweep?.();
    this.stopSweep = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
    this.delayMs = 0;
  }
}

/** The process's one load monitor. */
export const loadMonitor = new LoadMonitor();
