import { readFileSync } from 'node:fs';
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  badRequest,
  GwError,
  headersTooLarge,
  isGwError,
  routeNotFound,
  toGwError,
} from '../../shared/errors.js';
import type { HttpListenerConfig } from '../config/types.js';
import { formatAccessLine, type LineSink } from '../middleware/access-log/access-log.js';
import { newExchange } from '../pipeline/types.js';
import { matchRoute } from '../routing/compile-routes.js';
import { hostOf } from '../routing/host-of.js';
import type { GatewayRuntime, RuntimeRef } from '../runtime.js';
import { forwardHttp, type HttpExchange } from '../upstream/forward-http.js';
import { trustedClientIp } from '../upstream/http-headers.js';
import { bridgeWebSocket } from '../upstream/bridge-ws.js';
import { chainPerRuntime } from './chain-per-runtime.js';
import { listenOn, type RunningListener } from './listen.js';
import { writeRawError } from './raw-error.js';

let nextExchangeId = 1;

/**
 * Starts an `http` listener: HTTP/1.1 (TLS when configured) with routes,
 * balancing and access logging, and WebSocket upgrades on the same routes.
 * Reads the runtime through `ref` on every request, so a reload takes effect
 * for the next request without touching the socket.
 */
export async function startHttpListener(
  config: HttpListenerConfig,
  ref: RuntimeRef,
  sink: LineSink,
): Promise<RunningListener> {
  const options: http.ServerOptions = {
    maxHeaderSize: config.limits.maxHeaderBytes,
    insecureHTTPParser: false,
    requestTimeout: 0,
    headersTimeout: config.timeouts.headerMs,
    keepAliveTimeout: config.timeouts.idleMs,
  };
  const server = config.tls
    ? https.createServer({
        ...options,
        cert: readFileSync(config.tls.cert),
        key: readFileSync(config.tls.key),
      })
    : http.createServer(options);
  server.setTimeout(config.timeouts.idleMs, (socket: Socket) => socket.destroy());
  const chainFor = chainPerRuntime<HttpExchange>({
    accessLog: config.accessLog,
    sink,
    answer: answerError,
    terminal: forwardHttp(ref),
  });
  const proto = config.tls ? 'https' : 'http';

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const runtime = ref.current;
    const ex = exchangeFor(config, runtime, req, res, proto);
    if (ex === undefined) {
      answerNotFound(config, runtime, req, res, sink);
      return;
    }
    chainFor(runtime)(ex).catch((err: unknown) => answerError(ex, err));
  };

  server.on('request', onRequest);
  // Expect: 100-continue (RFC 9110 §10.1.1): no 100 for an oversized body, so the client never
  // sends it; the request then goes the usual way, whose body check answers 413 (and logs it).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const max = config.limits.maxBodyBytes;
    if (!(max > 0 && Number(req.headers['content-length'] ?? 0) > max)) res.writeContinue();
    onRequest(req, res);
  });
  server.on('clientError', (err: Error, socket: Duplex) => answerClientError(err, socket, config));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    bridgeWebSocket({
      config,
      ref,
      req,
      socket,
      head,
      sink,
      proto,
      nextId: () => nextExchangeId++,
    });
  });
  return listenOn(server, config.name, config.listen);
}

/** Builds the exchange for a request, or undefined when no route matches. */
function exchangeFor(
  config: HttpListenerConfig,
  runtime: GatewayRuntime,
  req: IncomingMessage,
  res: ServerResponse,
  proto: string,
): HttpExchange | undefined {
  const listener = runtime.listener(config.name);
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const method = req.method ?? 'GET';
  const host = hostOf(req.headers.host);
  const route = matchRoute(listener.routes, {
    method,
    host,
    path,
    headers: req.headers,
  });
  if (route === undefined) return undefined;
  const peerIp = req.socket.remoteAddress ?? '';
  const peerTrusted = listener.isTrusted(peerIp);
  return {
    id: nextExchangeId++,
    kind: 'http',
    listener: config.name,
    clientIp: trustedClientIp(req.headers, peerIp, peerTrusted, listener.isTrusted),
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
    req,
    res,
    path,
    forwardUrl: route.rewrite(url),
    peerIp,
    peerTrusted,
    proto,
    maxBodyBytes: config.limits.maxBodyBytes,
  };
}

function answerNotFound(
  config: HttpListenerConfig,
  runtime: GatewayRuntime,
  req: IncomingMessage,
  res: ServerResponse,
  sink: LineSink,
): void {
  const error = routeNotFound(config.name);
  writeError(res, error, false);
  // Drain any body so the connection can be reused.
  req.resume();
  if (!config.accessLog) return;
  const peerIp = req.socket.remoteAddress ?? '';
  const { isTrusted } = runtime.listener(config.name);
  const exchange = newExchange({
    id: nextExchangeId++,
    kind: 'http',
    listener: config.name,
    clientIp: trustedClientIp(req.headers, peerIp, isTrusted(peerIp), isTrusted),
    method: req.method ?? 'GET',
    host: hostOf(req.headers.host),
    url: req.url ?? '/',
    route: '',
    upstream: '',
  });
  exchange.status = 404;
  exchange.errorCode = error.code;
  const line = formatAccessLine(exchange, performance.now());
  sink(line);
}

/** Answers an exchange that failed: a status and `x-gw-error`, or a cut connection if too late. */
function answerError(ex: HttpExchange, err: unknown): void {
  const error = toGwError(err);
  ex.errorCode = error.code;
  if (ex.res.headersSent) {
    // Mid-response: the status is gone; the only honest signal left is to cut the connection.
    ex.res.destroy();
    return;
  }
  ex.status = error.httpStatus;
  // After a body-limit refusal the rest of the body is unread: close the connection.
  writeError(ex.res, error, error.code === 'GW_ERR_BODY_TOO_LARGE');
}

/** A short error response that names no internals, with the code in `x-gw-error`. */
function writeError(res: ServerResponse, error: GwError, close: boolean): void {
  const status = error.httpStatus;
  const body = `${status} ${STATUS_CODES[status] ?? 'Error'}\n`;
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-gw-error': error.code,
  };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * A request the parser refused never reaches routing: oversized headers get
 * 431, anything malformed (including a Content-Length/Transfer-Encoding
 * conflict, the request-smuggling vector) 400, and the connection is closed.
 */
function answerClientError(err: Error, socket: Duplex, config: HttpListenerConfig): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const code = (err as { code?: string }).code;
  if (code === 'ECONNRESET' || code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    socket.destroy();
    return;
  }
  const error =
    code === 'HPE_HEADER_OVERFLOW'
      ? headersTooLarge(config.limits.maxHeaderBytes)
      : isGwError(err)
        ? err
        : badRequest('malformed', err);
  writeRawError(socket, error);
}
