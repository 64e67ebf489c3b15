/**
 * The gateway's request pipeline, after Envoy, Traefik and Caddy: every
 * middleware is built once when a config is loaded, and per request is a plain
 * call `(exchange) => Promise<void>`. Middleware may throw a GwError;
 * only the listener turns it into wire form (HTTP status, gRPC status).
 *
 * This folder is pure: it knows nothing about sockets, only the Exchange.
 */

/** What the pipeline knows of one request, filled in as it goes. */
export interface Exchange {
  /** Sequence number within the process, for logs. */
  readonly id: number;
  /** `http` requests, `ws` upgrades and `grpc` calls pass through the L7 chain once each. */
  readonly kind: 'http' | 'ws' | 'grpc';
  readonly listener: string;
  /** The client's address as the gateway trusts it (see trustedProxies). */
  readonly clientIp: string;
  readonly method: string;
  /** Host without port, lower case; empty when the request has none. */
  readonly host: string;
  /** Path and query as received. */
  readonly url: string;
  /** Name of the route that matched. */
  readonly route: string;
  /** Name of the upstream the route points at. */
  readonly upstream: string;
  /** When the request arrived (performance.now() milliseconds). */
  readonly startMs: number;
  /** Response status (HTTP status, or gRPC status for grpc) once known; 0 before. */
  status: number;
  /** The target that served it (`host:port`), once chosen. */
  target: string;
  /** A GW_ERR_* code when the gateway itself answered with an error. */
  errorCode: string;
  /** Attempts made (more than 1 after a retry). */
  attempts: number;
}

/** A step that handles an exchange completely (the terminal handler) or passes it on. */
export type Handler<E extends Exchange = Exchange> = (exchange: E) => Promise<void>;

/** Wraps the next handler; built once per config, called per request. */
export type Middleware<E extends Exchange = Exchange> = (next: Handler<E>) => Handler<E>;

/** What identifies an exchange when it starts. */
export type ExchangeStart = Pick<
  Exchange,
  'id' | 'kind' | 'listener' | 'clientIp' | 'method' | 'host' | 'url' | 'route' | 'upstream'
>;

let lastExchangeId = 0;

/**
 * The next exchange id. One sequence for every protocol in the process (HTTP
 * requests, WebSocket upgrades, gRPC calls), so that ids never collide in logs
 * and traces.
 */
export function nextExchangeId(): number {
  lastExchangeId += 1;
  return lastExchangeId;
}

/** A new exchange: who asked for what, with nothing answered or chosen yet. */
export function newExchange(start: ExchangeStart): Exchange {
  return {
    ...start,
    startMs: performance.now(),
    status: 0,
    target: '',
    errorCode: '',
    attempts: 0,
  };
}
