import type { BaseExchange, Handler, Middleware } from './types.js';

/** How one protocol ends a chain: its terminal handler and its local-reply writer. */
export interface ProtocolEnd<E extends BaseExchange> {
  /** Sends the exchange on (to a target), or answers it (route not found). */
  readonly terminal: Handler<E>;
  /**
   * The listener's one local-reply writer: turns what a middleware or the
   * terminal threw into the protocol's answer (HTTP status and body, gRPC
   * trailers-only, a refusal before the WebSocket 101, a TCP reset). Never throws.
   */
  readonly answer: (exchange: E, err: unknown) => void;
}

/**
 * Composes middleware right to left around a terminal handler, once, at
 * config load: `compose([a, b], t)` is `a(b(t))`, so `a` sees the request
 * first and the response last.
 */
export function compose<E extends BaseExchange>(
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

/**
 * One route's chain for one protocol, built once per config load:
 * `front` (listener-wide, outermost: the access log sees the final status),
 * then the protocol's answer for anything thrown, then the route's features in
 * their order, then the terminal. A feature's middleware is written for any
 * exchange of its layer; it must pass on the exchange it was given, which is
 * why it may be used for the protocol's own exchange type.
 */
export function buildChain<F extends BaseExchange, E extends F>(
  front: readonly Middleware<F>[],
  route: readonly Middleware<F>[],
  end: ProtocolEnd<E>,
): Handler<E> {
  const answer = end.answer;
  const answering: Middleware<E> = (next) => (ex) => {
    try {
      return next(ex).catch((err: unknown) => answer(ex, err));
    } catch (err) {
      // A middleware that throws before it returns a promise is answered the same way.
      answer(ex, err);
      return Promise.resolve();
    }
  };
  return compose<E>(
    [...forProtocol<F, E>(front), answering, ...forProtocol<F, E>(route)],
    end.terminal,
  );
}

/**
 * Middleware written for every exchange of a layer, used for one protocol's
 * exchanges. Sound because a middleware passes on the exchange it was given
 * (it never makes another), so the terminal gets the protocol's own.
 */
function forProtocol<F extends BaseExchange, E extends F>(
  middleware: readonly Middleware<F>[],
): readonly Middleware<E>[] {
  return middleware as unknown as readonly Middleware<E>[];
}
