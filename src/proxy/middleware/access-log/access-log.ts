import type { Exchange, Middleware } from '../../pipeline/types.js';

/** Where access-log lines go. */
export type LineSink = (line: string) => void;

/**
 * Access logging as middleware: one line per exchange once it is finished,
 * whatever the outcome (the error path included). Built once per config.
 */
export function accessLog<E extends Exchange>(sink: LineSink): Middleware<E> {
  return (next) => async (exchange) => {
    try {
      await next(exchange);
    } finally {
      sink(formatAccessLine(exchange, performance.now()));
    }
  };
}

/**
 * `127.0.0.1 web GET /api/x 200 api 127.0.0.1:9001 1.23ms` plus the error
 * code when the gateway answered itself, and the attempts after a retry.
 */
export function formatAccessLine(exchange: Exchange, nowMs: number): string {
  const ms = (nowMs - exchange.startMs).toFixed(2);
  let line = `${exchange.clientIp} ${exchange.listener} ${exchange.kind === 'http' ? '' : `${exchange.kind} `}${exchange.method} ${exchange.url} ${exchange.status} ${exchange.upstream || '-'} ${exchange.target || '-'} ${ms}ms`;
  if (exchange.errorCode !== '') line += ` ${exchange.errorCode}`;
  if (exchange.attempts > 1) line += ` attempts=${exchange.attempts}`;
  return line;
}
