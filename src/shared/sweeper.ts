import { monotonicClock, type Clock } from './clock.js';

/** Something checked periodically: expiring timers, idle keys, deadlines. */
export type SweepTask = (nowMs: number) => void;

/** Stops a task; calling it again does nothing. */
export type StopSweep = () => void;

/** The shortest period a task may ask for: finer work belongs on its own timer. */
const MIN_PERIOD_MS = 10;

interface Entry {
  readonly task: SweepTask;
  readonly periodMs: number;
  dueMs: number;
}

/**
 * One timer for many periodic checks. Per-connection and per-call timeouts
 * are not timers each (a million idle connections would be a million timers):
 * each owner registers one task here, which walks its own set. The sweeper
 * keeps a single unref'd interval at the shortest period asked for and runs
 * each task when it is due, so it never holds the process open.
 */
export class Sweeper {
  /** One entry per registration: the same function registered twice runs twice, stops apart. */
  private readonly tasks = new Set<Entry>();
  private timer: NodeJS.Timeout | undefined;
  private tickMs = Number.POSITIVE_INFINITY;
  private readonly clock: Clock;

  constructor(clock: Clock = monotonicClock) {
    this.clock = clock;
  }

  /** Runs `task` about every `periodMs` (at least 10 ms) until the returned stop is called. */
  every(periodMs: number, task: SweepTask): StopSweep {
    const period = Math.max(MIN_PERIOD_MS, Math.floor(periodMs));
    const entry: Entry = { task, periodMs: period, dueMs: this.clock.nowMs() + period };
    this.tasks.add(entry);
    if (period < this.tickMs) this.restart();
    return () => {
      if (!this.tasks.delete(entry)) return;
      if (this.tasks.size === 0) this.stopTimer();
      else if (period === this.tickMs) this.restart();
    };
  }

  /** Tasks registered now. */
  get size(): number {
    return this.tasks.size;
  }

  /** Runs every due task once (the interval calls it; tests may too). */
  tick(): void {
    const now = this.clock.nowMs();
    for (const entry of this.tasks) {
      if (entry.dueMs > now) continue;
      entry.dueMs = now + entry.periodMs;
      entry.task(now);
    }
  }

  private restart(): void {
    this.stopTimer();
    let tick = Number.POSITIVE_INFINITY;
    for (const entry of this.tasks) tick = Math.min(tick, entry.periodMs);
    if (tick === Number.POSITIVE_INFINITY) return;
    this.tickMs = tick;
    this.timer = setInterval(() => this.tick(), tick);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.tickMs = Number.POSITIVE_INFINITY;
  }
}

/** The process's sweeper: every periodic check of the data plane shares its one timer. */
export const sweeper = new Sweeper();
