import type { BaseExchange, Exchange, L4Exchange, Middleware } from '../../pipeline/types.js';

/** Where access-log lines go. */
export type LineSink = (line: string) => void;

/**
 * Access logging as middleware: one line per exchange once it is finished,
 * whatever the outcome (the error path included). Built once per config;
 * the outermost middleware of every chain, so it logs the final status.
 */
export function accessLog<E extends BaseExchange>(
  sink: LineSink,
  format: (exchange: E, nowMs: number) => string,
): Middleware<E> {
  return (next) => async (exchange) => {
    try {
      await next(exchange);
    } finally {
      sink(format(exchange, performance.now()));
    }
  };
}

/**
 * `127.0.0.1 web GET /api/x 200 api 127.0.0.1:9001 1.23ms` plus the error
 * code when the gateway answered itself, and the attempts after a retry.
 */
export function formatAccessLine(exchange: Exchange, nowMs: number): string {
  const ms = (nowMs - exchange.startMs).toFixed(2);
  let line = `${exchange.clientIp} ${exchange.listener} ${exchange.kind === 'http' ? '' : `${exchange.kind} `}${exchange.method} ${exchange.secretParams.length === 0 ? exchange.url : redactParams(exchange.url, exchange.secretParams)} ${exchange.status} ${exchange.upstream || '-'} ${exchange.target || '-'} ${ms}ms`;
  if (exchange.errorCode !== '') line += ` ${exchange.errorCode}`;
  if (exchange.attempts > 1) line += ` attempts=${exchange.attempts}`;
  if (exchange.consumer !== '') line += ` consumer=${exchange.consumer}`;
  return line;
}

/** `url` with the value of every query parameter named in `names` replaced by `***` (a credential). */
export function redactParams(url: string, names: readonly string[]): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const pairs = url.slice(q + 1).split('&');
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i] ?? '';
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (names.includes(name)) pairs[i] = `${name}=***`;
  }
  return `${url.slice(0, q + 1)}${pairs.join('&')}`;
}

/**
 * A TCP session's line: `127.0.0.1 raw tcp echo 127.0.0.1:9301 up=5 down=5
 * 3.10ms closed`, the outcome being `closed`, `reset`, `idle-timeout` or the
 * GW_ERR_* code the connection was refused with.
 */
export function formatTcpLine(s: L4Exchange, nowMs: number): string {
  const ms = (nowMs - s.startMs).toFixed(2);
  let line = `${s.clientIp} ${s.listener} tcp ${s.upstream} ${s.target || '-'} up=${s.bytesUp} down=${s.bytesDown} ${ms}ms ${s.outcome}`;
  if (s.attempts > 1) line += ` attempts=${s.attempts}`;
  return line;
}
