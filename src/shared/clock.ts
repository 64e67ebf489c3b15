/**
 * The one clock of the data plane: monotonic milliseconds (`performance.now()`),
 * never the wall clock, so a clock step (NTP, a VM resume) cannot expire a
 * timeout early or late. State machines take a {@link Clock} so tests can
 * inject their own time.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale; only differences mean anything. */
  nowMs(): number;
}

/** The process's monotonic clock. */
export const monotonicClock: Clock = { nowMs: () => performance.now() };

/** A clock the caller moves by hand (tests, simulations). */
export class ManualClock implements Clock {
  private ms: number;

  constructor(startMs = 0) {
    this.ms = startMs;
  }

  nowMs(): number {
    return this.ms;
  }

  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.ms += ms;
  }
}
