import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import {
  badRequest,
  clientTimeout,
  GwError,
  headersTooLarge,
  routeNotFound,
  toGwError,
} from '../../shared/errors.js';
import type { HttpListenerConfig } from '../config/types.js';
import type { H1Error, RequestHead, RequestLine } from '../h1/head.js';
import { H1ServerConnection, type H1Handler } from '../h1/server-connection.js';
import { formatAccessLine, type LineSink } from '../middleware/access-log/access-log.js';
import { newExchange, nextExchangeId } from '../pipeline/types.js';
import { matchRoute } from '../routing/compile-routes.js';
import { hostOf } from '../routing/host-of.js';
import { normalizePath } from '../routing/normalize-path.js';
import { splitTarget } from '../routing/request-target.js';
import type { GatewayRuntime, RuntimeRef } from '../runtime.js';
import { forwardHttp, type HttpExchange } from '../upstream/forward-http.js';
import { trustedClientIp } from '../upstream/http-headers.js';
import { bridgeWebSocket } from '../upstream/bridge-ws.js';
import { chainPerRuntime } from './chain-per-runtime.js';
import { listenOn, type RunningListener } from './listen.js';
import { writeRawError } from './raw-error.js';
import { RefusalLog } from '../middleware/access-log/refusal-log.js';
import { refusedLine } from './refused-log.js';
import { tuneV8ForGateway } from '../v8-tuning.js';

/**
 * Starts an `http` listener: HTTP/1.1 (TLS when configured) read by the
 * gateway's own strict parser, with routes, balancing and access logging,
 * and WebSocket upgrades on the same routes. Reads the runtime through `ref`
 * on every request, so a reload takes effect for the next request without
 * touching the socket.
 */
export async function startHttpListener(
  config: HttpListenerConfig,
  ref: RuntimeRef,
  sink: LineSink,
): Promise<RunningListener> {
  tuneV8ForGateway();
  const chainFor = chainPerRuntime<HttpExchange>({
    accessLog: config.accessLog,
    sink,
    answer: answerError,
    terminal: forwardHttp(ref),
  });
  const proto = config.tls ? 'https' : 'http';
  const handler: H1Handler = {
    request(conn, head) {
      const runtime = ref.current;
      const ex = exchangeFor(config, runtime, conn, head, proto);
      if (ex === undefined || ex instanceof GwError) {
        answerNotFound(config, runtime, conn, head, sink, ex);
        return;
      }
      chainFor(runtime)(ex).catch((err: unknown) => answerError(ex, err));
    },
    upgrade(socket, head, rest) {
      bridgeWebSocket({
        config,
        ref,
        req: { method: head.method, url: head.target, headers: head.headers, socket },
        socket,
        head: rest,
        sink,
        proto,
        nextId: nextExchangeId,
      });
    },
    refuse(socket, error, line) {
      answerRefused(error, socket, config, line, refusedLog);
    },
  };
  // Requests refused before routing are logged too, at a bounded rate.
  const refusedLog = config.accessLog ? new RefusalLog(sink, config.name) : undefined;
  const options = {
    maxHeaderBytes: config.limits.maxHeaderBytes,
    headerTimeoutMs: config.timeouts.headerMs,
    idleTimeoutMs: config.timeouts.idleMs,
    maxBodyBytes: config.limits.maxBodyBytes,
    bodyTimeoutMs: config.timeouts.bodyMs,
    bodyMinBytesPerSecond: config.timeouts.bodyMinBytesPerSecond,
    head: { underscores: config.underscoreHeaders },
  };
  const connections = new Set<H1ServerConnection>();
  const accept = (socket: Socket): void => {
    const connection = new H1ServerConnection(socket, handler, options);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  };
  const server = config.tls
    ? tls.createServer(
        {
          cert: readFileSync(config.tls.cert),
          key: readFileSync(config.tls.key),
          ALPNProtocols: ['http/1.1'],
          allowHalfOpen: true,
          // A client that never finishes its handshake is cut like one that never sends a head.
          handshakeTimeout: config.timeouts.headerMs,
        },
        accept,
      )
    : net.createServer({ allowHalfOpen: true }, accept);
  // A failed (or timed-out) TLS handshake is the client's problem; its socket is closed.
  server.on('tlsClientError', (_err: Error, socket: { destroy(): void }) => socket.destroy());
  // Closing: connections waiting for a request end now; busy ones after their response.
  const limit = { maxConnections: config.maxConnections, log: sink };
  return listenOn(
    server,
    config.name,
    config.listen,
    () => {
      for (const connection of connections) connection.closeWhenIdle();
    },
    limit,
  );
}

/**
 * Builds the exchange for a request, or undefined when no route matches, or
 * a 400 GwError for a path that cannot be normalised. Routes match the
 * normalised path (routing/normalize-path.ts) and the target gets it.
 */
function exchangeFor(
  config: HttpListenerConfig,
  runtime: GatewayRuntime,
  conn: H1ServerConnection,
  head: RequestHead,
  proto: string,
): HttpExchange | GwError | undefined {
  const listener = runtime.listener(config.name);
  let url = head.target;
  if (url.charCodeAt(0) !== 47) {
    // Not '/': absolute-form (or '*'). The common request never gets here.
    const split = splitTarget(url);
    url = split.url;
    if (split.authority !== undefined) head = withHost(head, split.authority);
  }
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const path = normalizePath(rawPath);
  if (typeof path !== 'string') return badRequest(path.refused);
  const { method, headers } = head;
  const host = hostOf(headers.host as string | undefined);
  const route = matchRoute(listener.routes, { method, host, path, headers });
  if (route === undefined) return undefined;
  const peerIp = conn.socket.remoteAddress ?? '';
  const peerTrusted = listener.isTrusted(peerIp);
  return {
    id: nextExchangeId(),
    kind: 'http',
    listener: config.name,
    clientIp: trustedClientIp(headers, peerIp, peerTrusted, listener.isTrusted),
    method,
    host,
    url,
    route: route.name,
    upstream: route.upstream,
    startMs: performance.now(),
    status: 0,
    target: '',
    errorCode: '',
    attempts: 0,
    conn,
    head,
    path,
    forwardUrl: route.rewrite(path === rawPath ? url : q < 0 ? path : path + url.slice(q)),
    peerIp,
    peerTrusted,
    proto,
    maxBodyBytes: config.limits.maxBodyBytes,
    bufferBodyBytes: config.limits.bufferBodyBytes,
  };
}

/**
 * The head with an absolute-form target's authority as its Host, for routing
 * and for the target (RFC 9112 §3.2.2: a proxy MUST ignore the received Host
 * and send one made from the target).
 */
function withHost(head: RequestHead, authority: string): RequestHead {
  const raw: string[] = [];
  for (let i = 0; i + 1 < head.raw.length; i += 2) {
    const name = head.raw[i] ?? '';
    if (name.toLowerCase() !== 'host') raw.push(name, head.raw[i + 1] ?? '');
  }
  raw.push('Host', authority);
  return { ...head, raw, headers: { ...head.headers, host: authority } };
}

/** Answers a request no route takes: 404, or 400 for a path that cannot be normalised. */
function answerNotFound(
  config: HttpListenerConfig,
  runtime: GatewayRuntime,
  conn: H1ServerConnection,
  head: RequestHead,
  sink: LineSink,
  error: GwError = routeNotFound(config.name),
): void {
  // The unread body (if any) is read and dropped by the connection; after a 400, it is closed.
  writeError(conn, error, error.httpStatus === 400);
  if (!config.accessLog) return;
  const peerIp = conn.socket.remoteAddress ?? '';
  const { isTrusted } = runtime.listener(config.name);
  const exchange = newExchange({
    id: nextExchangeId(),
    kind: 'http',
    listener: config.name,
    clientIp: trustedClientIp(head.headers, peerIp, isTrusted(peerIp), isTrusted),
    method: head.method,
    host: hostOf(head.headers.host as string | undefined),
    url: head.target,
    route: '',
    upstream: '',
  });
  exchange.status = error.httpStatus;
  exchange.errorCode = error.code;
  const line = formatAccessLine(exchange, performance.now());
  sink(line);
}

/** Answers an exchange that failed: a status and `x-gw-error`, or a cut connection if too late. */
function answerError(ex: HttpExchange, err: unknown): void {
  const error = toGwError(err);
  ex.errorCode = error.code;
  if (ex.conn.headersSent || ex.conn.destroyed) {
    // Mid-response: the status is gone; the only honest signal left is to cut the connection.
    ex.conn.destroy();
    return;
  }
  ex.status = error.httpStatus;
  // After a refused body (or one that went silent) the rest of it is unread: close the connection.
  const status = error.httpStatus;
  writeError(ex.conn, error, status === 413 || status === 400 || status === 408);
}

/** A short error response that names no internals, with the code in `x-gw-error`. */
function writeError(conn: H1ServerConnection, error: GwError, close: boolean): void {
  const status = error.httpStatus;
  const reason = STATUS_CODES[status] ?? 'Error';
  conn.respond(
    status,
    reason,
    `content-type: text/plain; charset=utf-8\r\nx-gw-error: ${error.code}\r\n`,
    `${status} ${reason}\n`,
    close,
  );
}

/**
 * A request the parser refused never reaches routing: oversized headers get
 * 431, a head not complete in time 408, anything malformed (including a
 * Content-Length/Transfer-Encoding conflict, the request-smuggling vector)
 * 400, and the connection is closed. Each gets its access-log line (method
 * and target as far as they were read, `-` otherwise), at a bounded rate.
 */
function answerRefused(
  err: H1Error,
  socket: Socket,
  config: HttpListenerConfig,
  line: RequestLine,
  log: RefusalLog | undefined,
): void {
  const error =
    err.status === 431
      ? headersTooLarge(config.limits.maxHeaderBytes)
      : err.status === 408
        ? clientTimeout(config.timeouts.headerMs)
        : badRequest(err.message, undefined, err.status);
  log?.log(() =>
    refusedLine(config.name, { clientIp: socket.remoteAddress ?? '-', ...line }, error),
  );
  writeRawError(socket, error);
}
