import { accessLog, type LineSink } from '../middleware/access-log/access-log.js';
import { compose } from '../pipeline/compose.js';
import type { Exchange, Handler, Middleware } from '../pipeline/types.js';
import type { GatewayRuntime } from '../runtime.js';

export interface ChainParts<E extends Exchange> {
  readonly accessLog: boolean;
  readonly sink: LineSink;
  /** Turns a failed exchange into the protocol's answer (HTTP status, gRPC status). */
  readonly answer: (exchange: E, err: unknown) => void;
  readonly terminal: Handler<E>;
}

/**
 * A listener's L7 chain — access log, then the listener's error answer,
 * then the terminal handler — built once per runtime (so a config swap gets
 * a new chain) and reused for every request on it.
 */
export function chainPerRuntime<E extends Exchange>(
  parts: ChainParts<E>,
): (runtime: GatewayRuntime) => Handler<E> {
  const chains = new WeakMap<GatewayRuntime, Handler<E>>();
  return (runtime) => {
    let chain = chains.get(runtime);
    if (chain === undefined) {
      const answering: Middleware<E> = (next) => (ex) =>
        next(ex).catch((err: unknown) => parts.answer(ex, err));
      chain = compose<E>(
        parts.accessLog ? [accessLog(parts.sink), answering] : [answering],
        parts.terminal,
      );
      chains.set(runtime, chain);
    }
    return chain;
  };
}
