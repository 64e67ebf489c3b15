import { readFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { badRequest, clientTimeout, headersTooLarge } from '../../shared/errors.js';
import type { HttpListenerConfig } from '../config/types.js';
import type { H1Error, RequestHead, RequestLine } from '../h1/head.js';
import {
  H1ServerConnection,
  type H1Handler,
  type H1ServerOptions,
} from '../h1/server-connection.js';
import type { LineSink } from '../middleware/access-log/access-log.js';
import { RefusalLog } from '../middleware/access-log/refusal-log.js';
import { hostOf } from '../routing/host-of.js';
import { normalizePath } from '../routing/normalize-path.js';
import { splitTarget } from '../routing/request-target.js';
import { routeFor, type GatewayRuntime, type RouteEntry, type RuntimeRef } from '../runtime.js';
import { upgradeExchange } from '../upstream/bridge-ws.js';
import { HttpExchange } from '../upstream/forward-http.js';
import { trustedClientIp } from '../upstream/http-headers.js';
import { tuneV8ForGateway } from '../v8-tuning.js';
import { answerHttp, answerWs, writeRawReply } from './http-answer.js';
import { listenOn, type RunningListener } from './listen.js';
import { certificateChange, handshakeNote } from './tls-settings.js';
import { refusedLine } from './refused-log.js';

/**
 * Starts an `http` listener: HTTP/1.1 (TLS when configured) read by the
 * gateway's own strict parser, with routes, balancing and access logging,
 * and WebSocket upgrades on the same routes. Reads the runtime through `ref`
 * as each request arrives and pins its route and upstream on the exchange,
 * so a reload takes effect for the next request without touching the socket;
 * the listener's own settings (limits, timeouts, certificate) are replaced by
 * `prepare`, for the connections accepted after it.
 */
export async function startHttpListener(
  config: HttpListenerConfig,
  ref: RuntimeRef,
  sink: LineSink,
  held = false,
): Promise<RunningListener> {
  tuneV8ForGateway();
  const proto = config.tls ? 'https' : 'http';
  const live = new HttpSettings(config, sink);
  const handler: H1Handler = {
    request(conn, head) {
      const { ex, route } = exchangeFor(live.config, ref.current, conn, head, proto);
      route.http(ex).catch((err: unknown) => answerHttp(ex, err));
    },
    upgrade(socket, head, rest) {
      const runtime = ref.current;
      const { ex, route } = upgradeExchange(live.config, runtime.listener(config.name), {
        head,
        socket,
        early: rest,
        proto,
      });
      route.ws(ex).catch((err: unknown) => answerWs(ex, err));
    },
    refuse(socket, error, line) {
      const { secretParams } = ref.current.listener(config.name);
      answerRefused(error, socket, live.config, line, live.refusedLog, secretParams);
    },
  };
  const connections = new Set<H1ServerConnection>();
  /** Closing: a TLS handshake that ends now (begun before) is not served; its listener may be gone. */
  let closing = false;
  const accept = (socket: Socket): void => {
    if (closing) {
      socket.destroy();
      return;
    }
    const connection = new H1ServerConnection(socket, handler, live.options);
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
  return listenOn(server, {
    config,
    log: sink,
    held,
    // Closing: connections waiting for a request end now; busy ones after their response.
    onClose: () => {
      closing = true;
      for (const connection of connections) connection.closeWhenIdle();
    },
    prepare(next) {
      const settings = next as HttpListenerConfig;
      const certificate = certificateChange(server, settings);
      const notes = handshakeNote(live.config, settings);
      return {
        notes,
        apply() {
          live.set(settings, sink);
          certificate();
        },
      };
    },
  });
}

/** An http listener's settings in force: read per request and per connection accepted. */
class HttpSettings {
  config: HttpListenerConfig;
  /** The limits and timeouts a new client connection gets. */
  options: H1ServerOptions;
  /** Requests refused before routing are logged too, at a bounded rate (when accessLog is on). */
  refusedLog: RefusalLog | undefined;

  constructor(config: HttpListenerConfig, sink: LineSink) {
    this.config = config;
    this.options = connectionOptions(config);
    this.refusedLog = config.accessLog ? new RefusalLog(sink, config.name) : undefined;
  }

  set(config: HttpListenerConfig, sink: LineSink): void {
    this.config = config;
    this.options = connectionOptions(config);
    if (!config.accessLog) this.refusedLog = undefined;
    else this.refusedLog ??= new RefusalLog(sink, config.name);
  }
}

function connectionOptions(config: HttpListenerConfig): H1ServerOptions {
  return {
    maxHeaderBytes: config.limits.maxHeaderBytes,
    headerTimeoutMs: config.timeouts.headerMs,
    idleTimeoutMs: config.timeouts.idleMs,
    maxBodyBytes: config.limits.maxBodyBytes,
    bodyTimeoutMs: config.timeouts.bodyMs,
    bodyMinBytesPerSecond: config.timeouts.bodyMinBytesPerSecond,
    head: { underscores: config.underscoreHeaders },
  };
}

/**
 * Routes a request and builds its exchange, pinned to the route's upstream;
 * a request no route takes gets the listener's not-found route, and one whose
 * path cannot be normalised carries its 400 as `refusal`. Routes match the
 * normalised path (routing/normalize-path.ts) and the target gets it.
 */
function exchangeFor(
  config: HttpListenerConfig,
  runtime: GatewayRuntime,
  conn: H1ServerConnection,
  head: RequestHead,
  proto: string,
): { ex: HttpExchange; route: RouteEntry } {
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
  const normal = normalizePath(rawPath);
  const path = typeof normal === 'string' ? normal : rawPath;
  const { method, headers } = head;
  const host = hostOf(headers.host as string | undefined);
  const route =
    typeof normal === 'string'
      ? routeFor(listener, { method, host, path, headers })
      : listener.notFound;
  const peerIp = conn.socket.remoteAddress ?? '';
  const peerTrusted = listener.isTrusted(peerIp);
  const ex = new HttpExchange({
    kind: 'http',
    listener: config.name,
    clientIp: trustedClientIp(headers, peerIp, peerTrusted, listener.isTrusted),
    method,
    host,
    url: route.upstream === undefined ? head.target : url,
    path,
    route: route.name,
    upstream: route.upstreamName,
    secretParams: listener.secretParams,
    conn,
    head,
    forwardUrl:
      route.compiled === undefined
        ? url
        : route.compiled.rewrite(path === rawPath ? url : q < 0 ? path : path + url.slice(q)),
    peerIp,
    peerTrusted,
    proto,
    maxBodyBytes: config.limits.maxBodyBytes,
    bufferBodyBytes: config.limits.bufferBodyBytes,
    upstreamRuntime: route.upstream,
    refusal: typeof normal === 'string' ? undefined : badRequest(normal.refused),
  });
  return { ex, route };
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
  secretParams: readonly string[],
): void {
  const error =
    err.status === 431
      ? headersTooLarge(config.limits.maxHeaderBytes)
      : err.status === 408
        ? clientTimeout(config.timeouts.headerMs)
        : badRequest(err.message, undefined, err.status);
  log?.log(() =>
    refusedLine(
      config.name,
      { clientIp: socket.remoteAddress ?? '-', ...line },
      error,
      secretParams,
    ),
  );
  writeRawReply(socket, error);
}
