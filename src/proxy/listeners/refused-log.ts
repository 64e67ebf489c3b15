import type { LineSink } from '../middleware/access-log/access-log.js';
import { formatAccessLine } from '../middleware/access-log/access-log.js';
import { newExchange } from '../pipeline/types.js';
import type { GwError } from '../../shared/errors.js';

/** Refused-request lines one listener logs per second at most; the rest are counted. */
export const REFUSED_LINES_PER_SECOND = 100;

const WINDOW_MS = 1000;

/** What a refused request's log line says: who sent it and as much of it as could be read. */
export interface Refusal {
  readonly clientIp: string;
  readonly method: string;
  readonly target: string;
}

/**
 * The access-log lines of requests a listener refused before routing (400,
 * 408, 431, 501, 505: every smuggling attempt and slowloris), each with its
 * `GW_ERR_*` code. An attacker can make them as fast as it can connect, so
 * each listener logs at most {@link REFUSED_LINES_PER_SECOND} a second; the
 * lines left out are counted and said in one line when the second is over.
 */
export class RefusedLog {
  private readonly listener: string;
  private readonly sink: LineSink;
  private readonly perSecond: number;
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(listener: string, sink: LineSink, perSecond = REFUSED_LINES_PER_SECOND) {
    this.listener = listener;
    this.sink = sink;
    this.perSecond = perSecond;
  }

  /** Logs one refused request answered with `error` (or counts it when over the rate). */
  log(refusal: Refusal, error: GwError): void {
    const now = performance.now();
    if (now - this.windowStart >= WINDOW_MS) {
      this.flush();
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.perSecond) {
      this.suppressed++;
      this.timer ??= setTimeout(() => this.flush(), WINDOW_MS - (now - this.windowStart)).unref();
      return;
    }
    this.inWindow++;
    const exchange = newExchange({
      id: 0,
      kind: 'http',
      listener: this.listener,
      clientIp: refusal.clientIp,
      method: refusal.method,
      host: '',
      url: refusal.target,
      route: '',
      upstream: '',
    });
    exchange.status = error.httpStatus;
    exchange.errorCode = error.code;
    this.sink(formatAccessLine(exchange, exchange.startMs));
  }

  /** Says how many lines were left out, if any. */
  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed === 0) return;
    this.sink(
      `${this.listener}: ${this.suppressed} refused-request log lines suppressed (over ${this.perSecond}/s)`,
    );
    this.suppressed = 0;
  }
}
