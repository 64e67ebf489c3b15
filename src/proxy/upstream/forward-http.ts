import { STATUS_CODES } from 'node:http';
import {
  bodyTooLarge,
  badRequest,
  clientBodyTimeout,
  GwError,
  isGwError,
  routeNotFound,
  upstreamConnect,
  upstreamReset,
  upstreamTimeout,
} from '../../shared/errors.js';
import { formatHostPort } from '../../shared/format.js';
import type { UpstreamTimeouts } from '../config/types.js';
import { H1Error, type RequestHead, type ResponseHead } from '../h1/head.js';
import {
  BODY_RAW,
  type BodyConsumer,
  type ExchangeEvents,
  type H1ServerConnection,
} from '../h1/server-connection.js';
import {
  UpstreamFailure,
  type H1Pool,
  type ResponseHandler,
  type UpstreamRequest,
} from '../h1/upstream-pool.js';
import { L7Exchange, type ExchangeStart } from '../pipeline/types.js';
import { MAX_ATTEMPTS, tryTargets, type Forwarder } from './try-targets.js';
import { withoutQueryParam } from './consumed-credential.js';
import { fieldLines, requestFieldLines } from './http-headers.js';
import type { TargetRuntime, UpstreamRuntime } from './upstream-runtime.js';

/** What the listener knows of an HTTP request when it builds its exchange. */
export type HttpRequestStart = ExchangeStart &
  Pick<
    HttpExchange,
    | 'conn'
    | 'head'
    | 'forwardUrl'
    | 'peerIp'
    | 'peerTrusted'
    | 'proto'
    | 'maxBodyBytes'
    | 'bufferBodyBytes'
    | 'upstreamRuntime'
    | 'refusal'
  >;

/** An HTTP request on its way through the gateway. */
export class HttpExchange extends L7Exchange {
  /** The client connection the request came on; the response goes out on it. */
  readonly conn: H1ServerConnection;
  /** The request head as parsed (headers in `head.headers`). */
  readonly head: RequestHead;
  /**
   * Path and query to send upstream (after prefix strip/rewrite); the
   * terminal takes a consumed credential's query parameter out of it.
   */
  forwardUrl: string;
  readonly peerIp: string;
  readonly peerTrusted: boolean;
  /** `http` or `https`. */
  readonly proto: string;
  /** The listener's body limit in bytes; 0 means none. */
  readonly maxBodyBytes: number;
  /** A Content-Length body up to this is read whole before a target is asked; 0: bodies stream. */
  readonly bufferBodyBytes: number;
  /** The upstream of the config the request was routed with (undefined: no route). */
  readonly upstreamRuntime: UpstreamRuntime | undefined;
  /** Why the request is refused before routing (a path that cannot be normalised). */
  readonly refusal: GwError | undefined;
  /** The request's fields for the target, once the terminal built them. */
  fields = '';
  /** The whole body when it was read first; undefined when it streams or there is none. */
  body: readonly Buffer[] | undefined = undefined;
  hasBody = false;
  /**
   * A streamed body's bytes that a failed connect left unsent (the pool held
   * them until the connection was up): the next target gets them first.
   */
  unsent: UnsentBody | undefined = undefined;

  constructor(start: HttpRequestStart) {
    super(start);
    this.conn = start.conn;
    this.head = start.head;
    this.forwardUrl = start.forwardUrl;
    this.peerIp = start.peerIp;
    this.peerTrusted = start.peerTrusted;
    this.proto = start.proto;
    this.maxBodyBytes = start.maxBodyBytes;
    this.bufferBodyBytes = start.bufferBodyBytes;
    this.upstreamRuntime = start.upstreamRuntime;
    this.refusal = start.refusal;
  }

  header(name: string): string | undefined {
    const value = this.head.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  /** True once the response began (or the client left): only a cut connection is left to give. */
  replyStarted(): boolean {
    return this.conn.headersSent || this.conn.destroyed;
  }

  /**
   * Sends the request to another upstream (a route's fallback) after its own
   * failed; undefined when it cannot go again: the response began, or a
   * streamed body went (partly) to a target and the gateway no longer has it.
   */
  resendTo(upstream: UpstreamRuntime): Promise<void> | undefined {
    if (this.replyStarted()) return undefined;
    // The terminal never ran (a middleware refused it): the whole terminal runs on the other.
    if (this.fields === '') return forwardHttpTo(this, upstream);
    if (this.hasBody && this.body === undefined && this.unsent === undefined) return undefined;
    return tryTargets(upstream, this, HTTP_FORWARDER);
  }
}

/** What a streamed request body had given when a connect failed, and what came after. */
export interface UnsentBody {
  readonly chunks: Buffer[];
  /** The client's body is complete. */
  ended: boolean;
  /** The client's body failed meanwhile (undefined: the client left); false: it did not. */
  failed: H1Error | undefined | false;
}

/**
 * Methods that may be sent twice (RFC 9110 §9.2.2): only they are sent again
 * after a reused keep-alive connection closed under them (upstream-pool.ts).
 */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * The terminal handler for HTTP: chooses a target with the upstream's
 * balancer, sends the request over the target's keep-alive pool with its
 * body streamed, and streams the response back (trailers included), with
 * backpressure both ways. A request whose connect failed (refused, timed out)
 * is retried once on a different target whatever its method: nothing of it
 * reached the target (nginx does the same). Its body goes again: a body read
 * whole first is resent, a streamed one starts with the bytes the pool held
 * back while connecting (see {@link HTTP_FORWARDER}'s mayRetry). Throws GwErrors mapped to
 * 502/503/504 (and 400/413 for a bad or oversized body, 408 for one that
 * went silent). With `bufferBodyBytes`, a Content-Length body up to that size
 * is read whole first, so a client that trickles it holds no target connection.
 * The upstream is the one pinned on the exchange when it was routed.
 */
export function forwardHttp(ex: HttpExchange): Promise<void> {
  const upstream = ex.upstreamRuntime;
  if (upstream === undefined) return Promise.reject(ex.refusal ?? routeNotFound(ex.listener));
  return forwardHttpTo(ex, upstream);
}

/** {@link forwardHttp} to a given upstream (the pinned one, or a route's fallback). */
async function forwardHttpTo(ex: HttpExchange, upstream: UpstreamRuntime): Promise<void> {
  const { head } = ex;
  if (ex.maxBodyBytes > 0 && head.contentLength > ex.maxBodyBytes)
    throw bodyTooLarge(ex.maxBodyBytes);
  const hasBody = head.chunked || head.contentLength > 0;
  // Expect: 100-continue (RFC 9110 §10.1.1): the gateway answers it; an oversized body got
  // its 413 above, so the client never sends it.
  if (head.expectContinue && hasBody) ex.conn.writeContinue();
  if (hasBody && !head.chunked && head.contentLength <= ex.bufferBodyBytes) {
    ex.body = await new BodyReader(ex).read();
  }
  ex.hasBody = hasBody;
  const consumed = ex.consumed;
  if (consumed !== undefined && consumed.param !== '')
    ex.forwardUrl = withoutQueryParam(ex.forwardUrl, consumed.param);
  ex.fields = requestFields(ex);
  await tryTargets(upstream, ex, HTTP_FORWARDER);
}

/** How HTTP requests go to a target: one object for every request (see Forwarder). */
const HTTP_FORWARDER: Forwarder<HttpExchange> = {
  maxAttempts: MAX_ATTEMPTS,
  send: (ex, target) => relay(target.h1Pool(), ex, target),
  mapError: (_ex, err, target, upstream) => mapUpstreamError(err, target, upstream.config.timeouts),
  clientGone: (ex) => ex.conn.destroyed,
  // Only a failed connect: nothing reached the target, so any method may go elsewhere, with its
  // body when the gateway still has all of it (read whole first, or held back by the pool).
  mayRetry: (ex, _error, err) =>
    !ex.conn.headersSent &&
    err instanceof UpstreamFailure &&
    (err.kind === 'connect' || err.kind === 'connect-timeout') &&
    (!ex.hasBody || ex.body !== undefined || ex.unsent !== undefined),
  answeredFailure: (ex) => ex.status >= 500,
};

/** The request's fields for the target (hop-by-hop removed, X-Forwarded-* set, framing). */
function requestFields(ex: HttpExchange): string {
  const { head } = ex;
  // The framing is written from what the gateway read, never copied: the target must end the
  // request where the gateway did (a repeated or listed Content-Length is normalised too).
  const fields = requestFieldLines(head.raw, head.headers, ex);
  if (head.chunked) return `${fields}transfer-encoding: chunked\r\n`;
  if (head.contentLength >= 0) return `${fields}content-length: ${head.contentLength}\r\n`;
  return fields;
}

/**
 * Sends the request to one target and streams the answer to the client.
 * Resolves when the response is complete; rejects with what failed (an
 * UpstreamFailure, a body error, or the client leaving), before or after
 * the status line went out.
 */
function relay(pool: H1Pool, ex: HttpExchange, target: TargetRuntime): Promise<void> {
  // An HTTP/1.0 request may come without Host: the target gets its own address.
  const host =
    ex.head.headers.host === undefined
      ? `host: ${formatHostPort(target.address.host, target.address.port)}\r\n`
      : '';
  const requestHead = `${ex.method} ${ex.forwardUrl} HTTP/1.1\r\n${ex.fields}${host}\r\n`;
  return new Promise<void>((resolve, reject) => {
    new HttpRelay(ex, resolve, reject).start(pool, requestHead, ex.hasBody, ex.body);
  });
}

/**
 * One request's relay: it hears the target's answer (ResponseHandler), feeds
 * the request body to the target (BodyConsumer) and hears of the client
 * leaving or draining (ExchangeEvents). One object per request, so the hot
 * path makes no closures.
 */
class HttpRelay implements ResponseHandler, BodyConsumer, ExchangeEvents {
  private readonly ex: HttpExchange;
  private readonly resolve: () => void;
  private readonly reject: (err: unknown) => void;
  private request: UpstreamRequest | undefined;
  /** Set once its connect failed with the body unsent: the body goes there from then on. */
  private unsent: UnsentBody | undefined;

  constructor(ex: HttpExchange, resolve: () => void, reject: (err: unknown) => void) {
    this.ex = ex;
    this.resolve = resolve;
    this.reject = reject;
  }

  /** Sends the request; `body` is the whole body when it was read first, else it streams. */
  start(pool: H1Pool, requestHead: string, hasBody: boolean, body?: readonly Buffer[]): void {
    const { ex } = this;
    const method = ex.method;
    const request = pool.request(
      requestHead,
      method === 'HEAD',
      hasBody,
      IDEMPOTENT.has(method),
      this,
    );
    this.request = request;
    ex.conn.exchange = this;
    const unsent = ex.unsent;
    ex.unsent = undefined;
    if (body !== undefined) {
      for (const chunk of body) request.write(chunk);
      request.end();
    } else if (unsent !== undefined) {
      // A previous target's connect failed: what it held back comes first, then the rest.
      for (const chunk of unsent.chunks) request.write(chunk);
      if (unsent.failed !== false) this.fail(unsent.failed);
      else if (unsent.ended) request.end();
      else ex.conn.consumeBody(this);
    } else if (hasBody) ex.conn.consumeBody(this);
  }

  // The target's answer.

  head(response: ResponseHead, noBody: boolean): boolean {
    this.ex.status = response.status;
    const extra = this.ex.replyFields;
    const mode = this.ex.conn.writeHead(
      response.status,
      response.reason === '' ? (STATUS_CODES[response.status] ?? '') : response.reason,
      extra === undefined ? response.fields : response.fields + fieldLines(extra),
      response.contentLength,
      response.chunked,
      noBody,
    );
    return mode === BODY_RAW && response.chunked;
  }

  data(chunk: Buffer): boolean {
    return this.ex.conn.writeBody(chunk);
  }

  flush(): void {
    this.ex.conn.flushHead();
  }

  flushed(): boolean {
    return this.ex.conn.socket.writableLength === 0;
  }

  end(): void {
    this.ex.conn.endResponse();
    this.resolve();
  }

  error(failure: UpstreamFailure): void {
    const { ex } = this;
    if (
      (failure.kind === 'connect' || failure.kind === 'connect-timeout') &&
      ex.hasBody &&
      ex.body === undefined
    ) {
      // Nothing was sent: keep the body bytes the pool took, and what comes until another
      // target takes over, so the request may go there whole.
      const chunks = this.request?.takeUnsent();
      if (chunks !== undefined) {
        this.unsent = { chunks, ended: this.request?.bodyEnded ?? false, failed: false };
        ex.unsent = this.unsent;
      }
    }
    this.reject(failure);
  }

  bodyDrained(): void {
    this.ex.conn.resumeBody();
  }

  // The request body, from the client.

  write(chunk: Buffer): boolean {
    const unsent = this.unsent;
    if (unsent !== undefined) {
      // Kept for the next target; the client waits (paused) until one takes over.
      unsent.chunks.push(chunk);
      return false;
    }
    return this.request?.write(chunk) ?? true;
  }

  finish(): void {
    if (this.unsent !== undefined) this.unsent.ended = true;
    else this.request?.end();
  }

  fail(error: H1Error | undefined): void {
    if (this.unsent !== undefined) {
      this.unsent.failed = error;
      return;
    }
    this.request?.abort();
    this.reject(clientBodyFailure(error, this.ex));
  }

  // The client connection.

  aborted(): void {
    this.request?.abort();
    this.reject(new UpstreamFailure('reset', 'the client closed the connection'));
  }

  drained(): void {
    this.request?.resume();
  }
}

/** What a request body failed with, as the gateway's error (the client leaving included). */
function clientBodyFailure(error: H1Error | undefined, ex: HttpExchange): Error {
  if (error === undefined) return new UpstreamFailure('reset', 'the client closed the connection');
  if (error.status === 413) return bodyTooLarge(ex.maxBodyBytes);
  if (error.status === 408) return clientBodyTimeout(error.message);
  return badRequest(error.message, undefined, error.status);
}

function ignore(): void {
  // Replaced when the read starts.
}

/**
 * Reads a whole request body (bounded by the caller: a Content-Length up to
 * `bufferBodyBytes`) before any target connection is taken. The listener's
 * `bodyMs` still times it.
 */
class BodyReader implements BodyConsumer {
  private readonly ex: HttpExchange;
  private readonly chunks: Buffer[] = [];
  private resolve: (chunks: Buffer[]) => void = ignore;
  private reject: (err: unknown) => void = ignore;

  constructor(ex: HttpExchange) {
    this.ex = ex;
  }

  read(): Promise<Buffer[]> {
    return new Promise<Buffer[]>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.ex.conn.consumeBody(this);
    });
  }

  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  finish(): void {
    this.resolve(this.chunks);
  }

  fail(error: H1Error | undefined): void {
    this.reject(
      error === undefined
        ? new GwError('GW_ERR_CONNECTION_RESET', 'the client closed the connection in its body', {
            httpStatus: 400,
          })
        : clientBodyFailure(error, this.ex),
    );
  }
}

/** Turns what a relay failed with into the gateway's error. */
export function mapUpstreamError(
  err: unknown,
  target: TargetRuntime,
  timeouts: UpstreamTimeouts,
): GwError {
  if (isGwError(err)) return err;
  if (err instanceof UpstreamFailure) {
    switch (err.kind) {
      case 'connect':
        return upstreamConnect(target.id, err.cause ?? err);
      case 'connect-timeout':
        return upstreamTimeout(target.id, 'connect', timeouts.connectMs, err);
      case 'header-timeout':
        return upstreamTimeout(target.id, 'header', timeouts.headerMs, err);
      case 'idle-timeout':
        return upstreamTimeout(target.id, 'idle', timeouts.idleMs, err);
      default:
        return upstreamReset(target.id, err);
    }
  }
  if (err instanceof H1Error) return badRequest(err.message, err, err.status);
  return upstreamReset(target.id, err);
}
