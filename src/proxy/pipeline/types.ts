/**
 * The gateway's request pipeline, after Envoy, Traefik and Caddy: every
 * middleware is built once when a config is loaded, and per request is a plain
 * call `(exchange) => Promise<void>`. Middleware may throw a GwError (or any
 * {@link LocalReply}); only the listener turns it into wire form (HTTP status,
 * gRPC trailers-only, a refusal before the WebSocket 101, a TCP reset).
 *
 * This folder is pure: it knows nothing about sockets, only the Exchange.
 */

/** What passes a chain: HTTP requests, WebSocket upgrades and gRPC calls (L7), TCP sessions (L4). */
export type ExchangeKind = 'http' | 'ws' | 'grpc' | 'tcp';

/** How a route ranks when the gateway must shed load: `normal` routes go first. */
export type Priority = 'core' | 'normal';

/**
 * What every exchange has, L4 and L7 alike: who, where from, which upstream
 * and target, how it ended. A TCP session is one of these.
 */
export interface BaseExchange {
  /** Sequence number within the process, one sequence for every protocol. */
  readonly id: number;
  readonly kind: ExchangeKind;
  readonly listener: string;
  /** The client's address as the gateway trusts it (see trustedProxies). */
  readonly clientIp: string;
  /** When the exchange started (performance.now() milliseconds). */
  readonly startMs: number;
  /** Name of the upstream the exchange goes to; empty when none (route not found). */
  readonly upstream: string;
  /** The target that served it (`host:port`), once chosen. */
  target: string;
  /** Attempts made (more than 1 after a retry). */
  attempts: number;
  /** A GW_ERR_* code when the gateway itself answered with an error. */
  errorCode: string;
  /** The authenticated consumer's name; empty until an auth middleware sets it. */
  consumer: string;
  /**
   * The decisions taken for this exchange, one short line each, when tracing
   * is on for it; undefined otherwise (so recording costs one check).
   */
  trace: string[] | undefined;
}

/** What the pipeline knows of one L7 request (HTTP request, WebSocket upgrade, gRPC call). */
export interface Exchange extends BaseExchange {
  readonly kind: 'http' | 'ws' | 'grpc';
  readonly method: string;
  /** Host without port, lower case; empty when the request has none. */
  readonly host: string;
  /** Path and query as received. */
  readonly url: string;
  /** The normalised path without the query, as routing matched it. */
  readonly path: string;
  /** Name of the route that matched; empty for a request no route takes. */
  readonly route: string;
  /** The route's priority under overload (`normal` unless the route says `core`). */
  priority: Priority;
  /** Response status (HTTP status, or gRPC status for grpc) once known; 0 before. */
  status: number;
  /**
   * Extra response header fields (name, value, name, value ...) that go out
   * with whatever answer the client gets, relayed or local (`Retry-After`,
   * `RateLimit`): undefined when there are none, the common case.
   */
  replyFields: string[] | undefined;
  /**
   * A request header's value by lower-case name (repeated fields joined with
   * `, `), the same for HTTP, WebSocket and gRPC; undefined when absent.
   */
  header(name: string): string | undefined;
  /**
   * Query parameters that carry credentials on this listener (every name a
   * route of it reads an API key from): the access log shows their values as
   * `***`. Known when the exchange is made, so a request refused before (or
   * without) auth is redacted too. Empty when none.
   */
  readonly secretParams: readonly string[];
  /**
   * Where the credential the route's auth accepted came from, for the
   * terminal to remove before the request goes to a target; undefined when
   * nothing is to be removed (no auth, or `forwardCredentials: true`).
   */
  consumed: ConsumedCredential | undefined;
}

/**
 * The places a route's auth reads a credential from: one object per route,
 * built with its auth at config load, so marking an exchange costs one
 * pointer. The target never gets them (Envoy's jwt_authn removes a verified
 * token the same way unless told to forward it): a credential a client gave
 * the gateway is not the target's to reuse or to log.
 */
export interface ConsumedCredential {
  /** The request header (lower case): `authorization`, or the API-key header. */
  readonly field: string;
  /** The query parameter an API key may come in; empty when none. */
  readonly param: string;
}

/** A TCP session on its way through the L4 chain. */
export interface L4Exchange extends BaseExchange {
  readonly kind: 'tcp';
  /** Bytes from the client to the target, and back, once the session ends. */
  bytesUp: number;
  bytesDown: number;
  /** How it ended: `closed`, `reset`, `idle-timeout`, or the GW_ERR_* code it was refused with. */
  outcome: string;
}

/**
 * An answer the gateway gives by itself instead of a target's. Every GwError
 * is one; a configured reply (a degraded route's fallback body) is another.
 */
export interface LocalReply {
  /** GW_ERR_* for an error; a configured reply may leave it empty. */
  readonly code: string;
  readonly httpStatus: number;
  readonly grpcStatus: number;
  /** A sentence for logs and `grpc-message`; never shown in an HTTP body. */
  readonly message: string;
  /** The HTTP body; default `<status> <reason>\n` as text/plain. */
  readonly body?: string;
  readonly contentType?: string;
}

/**
 * What a thrown value answers with: itself when it is a LocalReply (every
 * GwError is one; so is a configured reply), undefined otherwise (the
 * listener makes a GW_ERR_INTERNAL of it).
 */
export function asLocalReply(err: unknown): LocalReply | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const r = err as Partial<Record<keyof LocalReply, unknown>>;
  return typeof r.code === 'string' &&
    typeof r.httpStatus === 'number' &&
    typeof r.grpcStatus === 'number' &&
    typeof r.message === 'string'
    ? (err as LocalReply)
    : undefined;
}

/** A step that handles an exchange completely (the terminal handler) or passes it on. */
export type Handler<E extends BaseExchange = Exchange> = (exchange: E) => Promise<void>;

/** Wraps the next handler; built once per config, called per request. */
export type Middleware<E extends BaseExchange = Exchange> = (next: Handler<E>) => Handler<E>;

let lastExchangeId = 0;

/**
 * The next exchange id. One sequence for every protocol in the process (HTTP
 * requests, WebSocket upgrades, gRPC calls, TCP sessions), so that ids never
 * collide in logs and traces.
 */
export function nextExchangeId(): number {
  lastExchangeId += 1;
  return lastExchangeId;
}

/** What identifies an L7 exchange when it starts. */
export type ExchangeStart = Pick<
  Exchange,
  'kind' | 'listener' | 'clientIp' | 'method' | 'host' | 'url' | 'path' | 'route' | 'upstream'
> & {
  /** The listener's credential-carrying query parameters (see `Exchange.secretParams`); default none. */
  readonly secretParams?: readonly string[];
};

/** No secret query parameters: one shared empty list. */
const NO_PARAMS: readonly string[] = [];

/**
 * The fields every L7 exchange starts with; the protocol's exchange class
 * extends it with its connection and a `header` that reads its own shape of
 * headers. A class, not a literal, so every exchange of a protocol has one
 * hidden class and `header` costs no closure per request.
 */
export abstract class L7Exchange implements Exchange {
  readonly id = nextExchangeId();
  readonly kind: 'http' | 'ws' | 'grpc';
  readonly listener: string;
  readonly clientIp: string;
  readonly method: string;
  readonly host: string;
  readonly url: string;
  readonly path: string;
  readonly route: string;
  readonly upstream: string;
  readonly startMs = performance.now();
  priority: Priority = 'normal';
  status = 0;
  target = '';
  attempts = 0;
  errorCode = '';
  consumer = '';
  trace: string[] | undefined = undefined;
  replyFields: string[] | undefined = undefined;
  readonly secretParams: readonly string[];
  consumed: ConsumedCredential | undefined = undefined;

  constructor(start: ExchangeStart) {
    this.kind = start.kind;
    this.listener = start.listener;
    this.clientIp = start.clientIp;
    this.method = start.method;
    this.host = start.host;
    this.url = start.url;
    this.path = start.path;
    this.route = start.route;
    this.upstream = start.upstream;
    this.secretParams = start.secretParams ?? NO_PARAMS;
  }

  abstract header(name: string): string | undefined;
}

/** An exchange known only by its start (a refused request's log line, a test): no headers. */
class PlainExchange extends L7Exchange {
  header(): string | undefined {
    return undefined;
  }
}

/** A new exchange with no headers to read: who asked for what, nothing answered or chosen yet. */
export function newExchange(start: ExchangeStart): Exchange {
  return new PlainExchange(start);
}

/** Adds a response field to whatever answer the exchange gets (see `Exchange.replyFields`). */
export function addReplyField(exchange: Exchange, name: string, value: string): void {
  (exchange.replyFields ??= []).push(name, value);
}

/** Records a decision when the exchange is traced (see `BaseExchange.trace`). */
export function traceStep(exchange: BaseExchange, step: string): void {
  exchange.trace?.push(step);
}
