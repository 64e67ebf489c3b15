import type { GwError } from '../../shared/errors.js';
import { formatAccessLine } from '../middleware/access-log/access-log.js';
import { newExchange } from '../pipeline/types.js';

/** What a refused request's log line says: who sent it and as much of it as could be read. */
export interface Refusal {
  readonly clientIp: string;
  readonly method: string;
  readonly target: string;
}

/**
 * The access-log line of an HTTP request a listener refused before routing
 * (400, 408, 431, 501, 505: every smuggling attempt and slowloris), with its
 * `GW_ERR_*` code; `-` for what was not read, and the listener's credential
 * query parameters (`secretParams`) hidden. Written through the listener's
 * rate-limited `RefusalLog`.
 */
export function refusedLine(
  listener: string,
  refusal: Refusal,
  error: GwError,
  secretParams: readonly string[] = [],
): string {
  const exchange = newExchange({
    kind: 'http',
    listener,
    clientIp: refusal.clientIp,
    method: refusal.method,
    host: '',
    url: refusal.target,
    path: '',
    route: '',
    upstream: '',
    secretParams,
  });
  exchange.status = error.httpStatus;
  exchange.errorCode = error.code;
  return formatAccessLine(exchange, exchange.startMs);
}
