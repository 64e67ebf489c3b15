import type { Exchange, Handler, Middleware } from './types.js';

/**
 * Composes middleware right to left around a terminal handler, once, at
 * config load: `compose([a, b], t)` is `a(b(t))`, so `a` sees the request
 * first and the response last.
 */
export function compose<E extends Exchange>(
  middleware: readonly Middleware<E>[],
  terminal: Handler<E>,
): Handler<E> {
  let handler = terminal;
  for (let i = middleware.length - 1; i >= 0; i--) {
    const wrap = middleware[i];
    if (wrap) handler = wrap(handler);
  }
  return handler;
}
