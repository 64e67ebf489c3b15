import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Dispatcher } from 'undici';
import {
  bodyTooLarge,
  errnoOf,
  GwError,
  isGwError,
  upstreamConnect,
  upstreamReset,
  upstreamTimeout,
} from '../../shared/errors.js';
import type { UpstreamTimeouts } from '../config/types.js';
import type { Exchange, Handler } from '../pipeline/types.js';
import type { RuntimeRef } from '../runtime.js';
import { tryTargets } from './try-targets.js';
import {
  clientResponseHeaders,
  forwardableTrailers,
  upstreamRequestHeaders,
  type HeaderMap,
} from './http-headers.js';
import type { TargetRuntime } from './upstream-runtime.js';

/** An HTTP request on its way through the gateway. */
export interface HttpExchange extends Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The path without the query, as routing saw it. */
  readonly path: string;
  /** Path and query to send upstream (after prefix strip/rewrite). */
  readonly forwardUrl: string;
  readonly peerIp: string;
  readonly peerTrusted: boolean;
  /** `http` or `https`. */
  readonly proto: string;
  /** The listener's body limit in bytes; 0 means none. */
  readonly maxBodyBytes: number;
}

/** Methods that may be sent twice (RFC 9110 §9.2.2), so a failed connect is retried. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** Connect failures: nothing reached the target, so another target may be tried. */
const CONNECT_ERRNOS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * The terminal handler for HTTP: chooses a target with the upstream's
 * balancer, forwards the request over a keep-alive pool with its body
 * streamed, and streams the response back (trailers included). A failed
 * connect of an idempotent request without a body is retried once on a
 * different target. Throws GwErrors mapped to 502/503/504.
 */
export function forwardHttp(ref: RuntimeRef): Handler<HttpExchange> {
  return async (ex) => {
    const upstream = ref.current.upstream(ex.upstream);
    const { timeouts } = upstream.config;
    const headers = upstreamRequestHeaders(ex.req.headers, ex);
    const body = requestBody(ex);
    const retryable = body === null && IDEMPOTENT.has(ex.method);
    await tryTargets(
      upstream,
      ex,
      { clientIp: ex.clientIp, path: ex.path, headers: ex.req.headers },
      {
        send: (target) => relay(upstream.httpPool(target), ex, headers, body),
        mapError: (err, target) => mapUpstreamError(err, target, timeouts),
        clientGone: () => ex.res.destroyed,
        mayRetry: (error, err) =>
          retryable &&
          !ex.res.headersSent &&
          (error.code === 'GW_ERR_UPSTREAM_CONNECT' ||
            (error.code === 'GW_ERR_UPSTREAM_TIMEOUT' && isConnectTimeout(err))),
      },
    );
  };
}

/** The body to send upstream, or null when the request has none. */
function requestBody(ex: HttpExchange): Readable | null {
  const { req } = ex;
  const length = req.headers['content-length'];
  if (length === undefined && req.headers['transfer-encoding'] === undefined) return null;
  if (length !== undefined) {
    if (ex.maxBodyBytes > 0 && Number(length) > ex.maxBodyBytes)
      throw bodyTooLarge(ex.maxBodyBytes);
    return Number(length) === 0 ? null : req;
  }
  return ex.maxBodyBytes > 0 ? req.pipe(limitBytes(ex.maxBodyBytes)) : req;
}

/** A pass-through that fails with GW_ERR_BODY_TOO_LARGE once more than `limit` bytes went by. */
function limitBytes(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) done(bodyTooLarge(limit));
      else done(null, chunk);
    },
  });
}

/**
 * Sends the request to one target and streams the answer to the client,
 * trailers included, with backpressure: when the client's socket is full the
 * target's connection is paused. Uses undici's dispatch handlers directly,
 * so no intermediate stream or promise is made per chunk. Resolves when the
 * response is complete; rejects with what undici reported (mapped by the
 * caller), before or after the status line went out.
 */
function relay(
  pool: Dispatcher,
  ex: HttpExchange,
  headers: HeaderMap,
  body: Readable | null,
): Promise<void> {
  const { res } = ex;
  return new Promise<void>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let clientGone = false;
    const onDrain = (): void => controller?.resume();
    const onClose = (): void => {
      // The client went away before the response was complete, perhaps before it began:
      // stop the request to the target (now, or as soon as undici starts it).
      if (res.writableFinished) return;
      clientGone = true;
      controller?.abort(new Error('client closed the connection'));
    };
    const cleanup = (): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
    };
    res.once('close', onClose);
    // Gone already (during an earlier attempt): the request is aborted as soon as it starts.
    if (res.destroyed) onClose();
    pool.dispatch(
      {
        method: ex.method,
        path: ex.forwardUrl,
        headers: headers as Record<string, string | string[]>,
        body,
      },
      {
        onRequestStart(c) {
          controller = c;
          if (clientGone) c.abort(new Error('client closed the connection'));
        },
        onResponseStart(c, statusCode, responseHeaders) {
          if (statusCode < 200) return; // an interim 1xx answer: the final one follows
          ex.status = statusCode;
          res.writeHead(statusCode, clientResponseHeaders(responseHeaders));
          res.on('drain', onDrain);
        },
        onResponseData(c, chunk) {
          if (!res.write(chunk)) c.pause();
        },
        onResponseEnd(_c, trailers) {
          cleanup();
          if (hasAny(trailers)) res.addTrailers(forwardableTrailers(trailers));
          res.end();
          resolve();
        },
        onResponseError(_c, error) {
          cleanup();
          reject(error);
        },
      },
    );
  });
}

/** True when an object has at least one own key (without building the key list). */
function hasAny(object: object): boolean {
  for (const key in object) if (Object.hasOwn(object, key)) return true;
  return false;
}

function isConnectTimeout(err: unknown): boolean {
  return errnoOf(err) === 'UND_ERR_CONNECT_TIMEOUT';
}

/** Turns what undici (or a body stream) threw into the gateway's error. */
export function mapUpstreamError(
  err: unknown,
  target: TargetRuntime,
  timeouts: UpstreamTimeouts,
): GwError {
  if (isGwError(err)) return err;
  const code = errnoOf(err) ?? '';
  if (code === 'UND_ERR_CONNECT_TIMEOUT')
    return upstreamTimeout(target.id, 'connect', timeouts.connectMs, err);
  if (code === 'UND_ERR_HEADERS_TIMEOUT')
    return upstreamTimeout(target.id, 'header', timeouts.headerMs, err);
  if (code === 'UND_ERR_BODY_TIMEOUT')
    return upstreamTimeout(target.id, 'idle', timeouts.idleMs, err);
  if (CONNECT_ERRNOS.has(code)) return upstreamConnect(target.id, err);
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (isGwError(cause)) return cause;
  if (CONNECT_ERRNOS.has(errnoOf(cause) ?? '')) return upstreamConnect(target.id, cause);
  return upstreamReset(target.id, err);
}
