import type { LineSink } from './access-log.js';

/** Refusal lines written per second per listener before the rest are only counted. */
export const REFUSAL_LINES_PER_SECOND = 100;

/**
 * Access-log lines for requests the gateway refused, rate-limited: a client
 * can send thousands of malformed requests a second, and the log must not
 * become the attack's amplifier. Past `perSecond` lines in a one-second
 * window the rest are counted, and one summary line says how many were
 * left out when the window ends
 * (`web: 1234 refused-request log lines suppressed (over 100/s)`). One per
 * listener, for every protocol.
 */
export class RefusalLog {
  private readonly sink: LineSink;
  private readonly perSecond: number;
  private readonly label: string;
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private written = 0;
  private suppressed = 0;
  private timer: NodeJS.Timeout | undefined;

  /** `label` names the source in the summary line (the listener's name). */
  constructor(sink: LineSink, label: string, perSecond = REFUSAL_LINES_PER_SECOND) {
    this.sink = sink;
    this.label = label;
    this.perSecond = perSecond;
  }

  /** Writes `line` (built only when it will be written) or counts it. */
  log(line: () => string): void {
    const now = performance.now();
    if (now - this.windowStartMs >= 1000) {
      this.summarize();
      this.windowStartMs = now;
      this.written = 0;
    }
    if (this.written < this.perSecond) {
      this.written++;
      this.sink(line());
      return;
    }
    this.suppressed++;
    // One timer per window at most, and only under a flood: the summary comes even if it stops.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.summarize();
    }, 1000).unref();
  }

  private summarize(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.suppressed === 0) return;
    this.sink(
      `${this.label}: ${this.suppressed} refused-request log lines suppressed (over ${this.perSecond}/s)`,
    );
    this.suppressed = 0;
  }
}
