import http, { STATUS_CODES, type IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  badRequest,
  GwError,
  routeNotFound,
  toGwError,
  upstreamConnect,
  upstreamTimeout,
} from '../../shared/errors.js';
import type { HttpListenerConfig } from '../config/types.js';
import { formatAccessLine, type LineSink } from '../middleware/access-log/access-log.js';
import { newExchange, type Exchange } from '../pipeline/types.js';
import { matchRoute } from '../routing/compile-routes.js';
import { hostOf } from '../routing/host-of.js';
import { normalizePath } from '../routing/normalize-path.js';
import { splitTarget } from '../routing/request-target.js';
import type { RuntimeRef } from '../runtime.js';
import {
  clientResponseHeaders,
  trustedClientIp,
  upstreamRequestHeaders,
  type HeaderMap,
} from './http-headers.js';
import { writeRawError } from '../listeners/raw-error.js';
import { tryTargets } from './try-targets.js';
import type { TargetRuntime, UpstreamRuntime } from './upstream-runtime.js';

/** The upgrade request, as the listener parsed it. */
export interface UpgradeRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: HeaderMap;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

export interface UpgradeContext {
  readonly config: HttpListenerConfig;
  readonly ref: RuntimeRef;
  readonly req: UpgradeRequest;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly sink: LineSink;
  readonly proto: string;
  readonly nextId: () => number;
}

/**
 * Bridges a WebSocket upgrade (RFC 6455 §4): routes and balances it like any
 * request, replays the handshake to the chosen target, and on `101` splices
 * the two connections together so frames (close, ping and pong included) flow
 * untouched both ways. A target that refuses the upgrade has its response
 * relayed and both connections closed. Either side closing, erroring or
 * idling past the timeout closes both: nothing leaks.
 */
export function bridgeWebSocket(ctx: UpgradeContext): void {
  const { req, socket, config } = ctx;
  socket.on('error', () => undefined);
  const runtime = ctx.ref.current;
  const listener = runtime.listener(config.name);
  const read = readUpgrade(req);
  const { method } = req;
  const host =
    typeof read === 'string' ? hostOf(req.headers.host as string | undefined) : read.host;
  const route =
    typeof read === 'string'
      ? undefined
      : matchRoute(listener.routes, { method, host, path: read.path, headers: req.headers });
  const peerIp = req.socket.remoteAddress ?? '';
  const peerTrusted = listener.isTrusted(peerIp);
  const ex = newExchange({
    id: ctx.nextId(),
    kind: 'ws',
    listener: config.name,
    clientIp: trustedClientIp(req.headers, peerIp, peerTrusted, listener.isTrusted),
    method,
    host,
    url: req.url,
    route: route?.name ?? '',
    upstream: route?.upstream ?? '',
  });
  const watch = watchClient(socket);
  const finish = (error?: GwError): void => {
    watch.stop();
    if (error) {
      ex.errorCode = error.code;
      ex.status = error.httpStatus;
      writeRawError(socket, error);
    }
    if (config.accessLog) ctx.sink(formatAccessLine(ex, performance.now()));
  };
  if (typeof read === 'string') {
    finish(badRequest(read));
    return;
  }
  if (route === undefined) {
    finish(routeNotFound(config.name));
    return;
  }
  const upstream = runtime.upstream(route.upstream);
  const headers = upstreamRequestHeaders(read.headers, {
    peerIp,
    peerTrusted,
    proto: ctx.proto,
  });
  headers.connection = 'Upgrade';
  headers.upgrade = 'websocket';
  // Balanced, counted busy and retried once after a refused connect, as HTTP requests are.
  tryTargets(
    upstream,
    ex,
    { clientIp: ex.clientIp, path: read.path, headers: req.headers },
    {
      send: (target) =>
        connectUpstream(ctx, watch, ex, upstream, target, route.rewrite(read.url), headers),
      mapError: (err) => toGwError(err),
      mayRetry: (error) => error.code === 'GW_ERR_UPSTREAM_CONNECT',
      clientGone: () => watch.gone,
    },
  ).then(
    () => finish(),
    (err: unknown) => finish(toGwError(err)),
  );
}

/** An upgrade request as routing sees it: see {@link readUpgrade}. */
interface UpgradeTarget {
  /** Host for routing: the absolute-form target's authority, else the Host field; no port. */
  readonly host: string;
  /** The normalised path, no query. */
  readonly path: string;
  /** The normalised path and the query, to forward. */
  readonly url: string;
  /** The fields to forward: Host replaced by the authority of an absolute-form target. */
  readonly headers: HeaderMap;
}

/**
 * Checks an upgrade request before it is routed, and returns what routing
 * needs or the reason to answer 400. A WebSocket opening handshake is a GET
 * (RFC 6455 §4.1) and carries no body: a body would wait unread until the
 * target's 101 and then be taken for frames, so it is refused, as is any
 * other method (forwarding it as GET would change the request). An
 * absolute-form target is routed on its authority, which also replaces Host
 * (RFC 9112 §3.2.2), as for any request; the path is normalised as for any
 * request (see normalize-path.ts).
 */
function readUpgrade(req: UpgradeRequest): UpgradeTarget | string {
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (upgrade !== 'websocket') return `unsupported upgrade ${JSON.stringify(upgrade)}`;
  if (req.method !== 'GET') return `a WebSocket upgrade must be a GET, not ${req.method}`;
  const length = req.headers['content-length'];
  if (
    req.headers['transfer-encoding'] !== undefined ||
    (length !== undefined && Number(length) !== 0)
  )
    return 'a WebSocket upgrade must not have a body';
  const target = splitTarget(req.url);
  const q = target.url.indexOf('?');
  const rawPath = q < 0 ? target.url : target.url.slice(0, q);
  const path = normalizePath(rawPath);
  if (typeof path !== 'string') return path.refused;
  const url = path === rawPath ? target.url : q < 0 ? path : path + target.url.slice(q);
  if (target.authority === undefined) {
    return {
      host: hostOf(req.headers.host as string | undefined),
      path,
      url,
      headers: req.headers,
    };
  }
  const headers = { ...req.headers, host: target.authority };
  return { host: hostOf(target.authority), path, url, headers };
}

/**
 * Asks `target` for the upgrade. Rejects with a GwError when it cannot be
 * reached; otherwise resolves once the exchange is over: the spliced tunnel
 * closed, or the target's refusal was relayed.
 */
/** Bytes a client may send before its upgrade is answered (it should send none). */
const MAX_EARLY_BYTES = 64 * 1024;

/** The client while its upgrade waits for the target: see {@link watchClient}. */
interface ClientWatch {
  /** What it sent after the upgrade request, for the tunnel. */
  readonly early: Buffer[];
  /** It closed or half-closed: nobody is left to answer. */
  gone: boolean;
  /** Called once when it goes (the attempt in progress sets it). */
  onGone: (() => void) | undefined;
  /** Stops watching it: the tunnel takes over in the same tick, or the exchange is over. */
  stop(): void;
}

/**
 * Reads the client while the target is asked for the upgrade. A socket
 * nobody reads never reports its peer leaving, so without this a client
 * that gives up would hold the target until the idle timeout. What it sends
 * meanwhile is kept for the tunnel; more than MAX_EARLY_BYTES closes it.
 */
function watchClient(socket: Duplex): ClientWatch {
  let bytes = 0;
  const onData = (chunk: Buffer): void => {
    watch.early.push(chunk);
    bytes += chunk.length;
    if (bytes > MAX_EARLY_BYTES) socket.destroy();
  };
  const onGone = (): void => {
    if (watch.gone) return;
    watch.gone = true;
    watch.onGone?.();
  };
  const watch: ClientWatch = {
    early: [],
    gone: false,
    onGone: undefined,
    stop() {
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('close', onGone);
    },
  };
  socket.on('data', onData);
  socket.once('end', onGone);
  socket.once('close', onGone);
  return watch;
}

function connectUpstream(
  ctx: UpgradeContext,
  watch: ClientWatch,
  ex: Exchange,
  upstream: UpstreamRuntime,
  target: TargetRuntime,
  path: string,
  headers: Record<string, string | string[] | undefined>,
): Promise<void> {
  const { timeouts } = upstream.config;
  return new Promise((resolve, reject) => {
    const upReq = http.request({
      host: target.address.host,
      port: target.address.port,
      method: 'GET',
      path,
      headers: headers as http.OutgoingHttpHeaders,
      agent: false,
      timeout: timeouts.connectMs,
    });
    let settled = false;
    // The client leaving while the target is asked ends the attempt (no tunnel is left open).
    watch.onGone = () => upReq.destroy(new Error('client closed the connection'));
    if (watch.gone) watch.onGone();
    upReq.on('timeout', () => {
      upReq.destroy(upstreamTimeout(target.id, 'connect', timeouts.connectMs));
    });
    upReq.on('error', (err) => {
      if (settled) return;
      settled = true;
      reject(err instanceof GwError ? err : upstreamConnect(target.id, err));
    });
    upReq.on('upgrade', (res: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
      settled = true;
      watch.onGone = undefined;
      ex.status = 101;
      // The bridge is the client's connection now: it idles out on the listener's idleMs.
      splice(ctx, watch, res, upSocket, upHead, ctx.config.timeouts.idleMs, resolve);
    });
    upReq.on('response', (res: IncomingMessage) => {
      settled = true;
      watch.onGone = undefined;
      // The target refused the upgrade: relay its answer, then close both sides.
      ex.status = res.statusCode ?? 502;
      relayRefusal(ctx.socket, res);
      resolve();
    });
    upReq.end();
  });
}

function splice(
  ctx: UpgradeContext,
  watch: ClientWatch,
  res: IncomingMessage,
  upSocket: Socket,
  upHead: Buffer,
  idleMs: number,
  ended: () => void,
): void {
  const client = ctx.socket;
  let head = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    head += `${res.rawHeaders[i] ?? ''}: ${res.rawHeaders[i + 1] ?? ''}\r\n`;
  }
  client.write(`${head}\r\n`);
  if (upHead.length > 0) client.write(upHead);
  watch.stop();
  if (ctx.head.length > 0) upSocket.write(ctx.head);
  for (const chunk of watch.early) upSocket.write(chunk);
  upSocket.setNoDelay(true);
  if (client instanceof Socket) client.setNoDelay(true);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    client.destroy();
    upSocket.destroy();
    ended();
  };
  for (const side of [client, upSocket]) {
    side.on('close', close);
    side.on('error', close);
    if (side instanceof Socket) side.setTimeout(idleMs, close);
  }
  client.pipe(upSocket);
  upSocket.pipe(client);
  if (watch.gone) close(); // gone already: its 'close' came before these listeners
}

function relayRefusal(client: Duplex, res: IncomingMessage): void {
  const status = res.statusCode ?? 502;
  const headers = clientResponseHeaders(res.headers);
  delete headers['content-length'];
  let head = `HTTP/1.1 ${status} ${res.statusMessage ?? STATUS_CODES[status] ?? ''}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value ?? '']) head += `${name}: ${v}\r\n`;
  }
  client.write(`${head}connection: close\r\n\r\n`);
  res.pipe(client);
  res.on('end', () => client.end());
  res.on('error', () => client.destroy());
}
