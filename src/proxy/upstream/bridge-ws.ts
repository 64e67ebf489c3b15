import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { badRequest, routeNotFound, toGwError, type GwError } from '../../shared/errors.js';
import { formatHostPort } from '../../shared/format.js';
import type { HttpListenerConfig } from '../config/types.js';
import type { RequestHead } from '../h1/head.js';
import { L7Exchange, type ExchangeStart } from '../pipeline/types.js';
import { hostOf } from '../routing/host-of.js';
import { normalizePath } from '../routing/normalize-path.js';
import { splitTarget } from '../routing/request-target.js';
import { routeFor, type ListenerRuntime, type RouteEntry } from '../runtime.js';
import {
  consumerLine,
  fieldLines,
  requestFieldLines,
  trustedClientIp,
  type HeaderMap,
} from './http-headers.js';
import { ConnectFailure } from './connect-failure.js';
import { withoutFieldLines, withoutQueryParam } from './consumed-credential.js';
import { MAX_ATTEMPTS, tryTargets, type Forwarder } from './try-targets.js';
import type { TargetRuntime, UpstreamRuntime } from './upstream-runtime.js';
import { askUpgrade, reasonOf, relayRefusal, type Handshake } from './ws-handshake.js';

/** What the http listener hands over for an upgrade request. */
export interface UpgradeRequest {
  readonly head: RequestHead;
  /** The client's socket: the exchange's now. */
  readonly socket: Duplex & { readonly remoteAddress?: string | undefined };
  /** Bytes the client sent after the request head. */
  readonly early: Buffer;
  /** `http` or `https`. */
  readonly proto: string;
}

type WsStart = ExchangeStart &
  Pick<
    WsExchange,
    | 'socket'
    | 'early'
    | 'headers'
    | 'forwardUrl'
    | 'fields'
    | 'idleMs'
    | 'upstreamRuntime'
    | 'refusal'
  >;

/** A WebSocket upgrade on its way through the gateway: one exchange for the whole session. */
export class WsExchange extends L7Exchange {
  readonly socket: Duplex;
  /** Bytes the client sent after its request head, for the tunnel. */
  readonly early: Buffer;
  /** The request's fields as routing saw them (Host from an absolute-form target). */
  readonly headers: HeaderMap;
  /** Path and query to send upstream (after prefix strip/rewrite, and a consumed credential's query). */
  forwardUrl: string;
  /**
   * The handshake's field lines for the target, from the client's as received
   * (names, order and repeats kept; hop-by-hop removed, X-Forwarded-* set),
   * built before the route's middleware ran: the terminal removes the header
   * of a credential auth consumed. Connection, Upgrade and (when the client
   * sent none) Host are added per attempt.
   */
  fields: string;
  /** The tunnel closes after this long with no bytes either way (the listener's idleMs). */
  readonly idleMs: number;
  readonly upstreamRuntime: UpstreamRuntime | undefined;
  /** Why the upgrade is refused before routing (not a WebSocket GET, a body, a bad path). */
  readonly refusal: GwError | undefined;
  /** The client while the target is asked; undefined before the terminal starts it. */
  watch: ClientWatch | undefined = undefined;

  constructor(start: WsStart) {
    super(start);
    this.socket = start.socket;
    this.early = start.early;
    this.headers = start.headers;
    this.forwardUrl = start.forwardUrl;
    this.fields = start.fields;
    this.idleMs = start.idleMs;
    this.upstreamRuntime = start.upstreamRuntime;
    this.refusal = start.refusal;
  }

  header(name: string): string | undefined {
    const value = this.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  /** True once the 101 went out (or the client left): a refusal can no longer be sent. */
  replyStarted(): boolean {
    return this.status === 101 || this.socket.destroyed;
  }

  /**
   * Sends the upgrade to another upstream (a route's fallback) after its own
   * failed: it has no body, so it may always go again before the 101.
   */
  resendTo(upstream: UpstreamRuntime): Promise<void> | undefined {
    return this.replyStarted() ? undefined : forwardWsTo(this, upstream);
  }
}

/**
 * Routes an upgrade request like any request (an upgrade that is not a
 * proper WebSocket GET goes to the not-found route with its 400 as `refusal`)
 * and builds its exchange, pinned to the route's upstream.
 */
export function upgradeExchange(
  config: HttpListenerConfig,
  listener: ListenerRuntime,
  req: UpgradeRequest,
): { ex: WsExchange; route: RouteEntry } {
  const { head, socket } = req;
  socket.on('error', () => undefined);
  const read = readUpgrade(head);
  const { method } = head;
  const routed = typeof read !== 'string';
  const headers = routed ? read.headers : head.headers;
  const raw = routed ? read.raw : head.raw;
  const host = routed ? read.host : hostOf(head.headers.host as string | undefined);
  const route = routed
    ? routeFor(listener, { method, host, path: read.path, headers })
    : listener.notFound;
  const peerIp = socket.remoteAddress ?? '';
  const peerTrusted = listener.isTrusted(peerIp);
  const fields = requestFieldLines(raw, headers, { peerIp, peerTrusted, proto: req.proto });
  const ex = new WsExchange({
    kind: 'ws',
    listener: config.name,
    clientIp: trustedClientIp(headers, peerIp, peerTrusted, listener.isTrusted),
    method,
    host,
    url: head.target,
    path: routed ? read.path : '',
    route: route.name,
    upstream: route.upstreamName,
    secretParams: listener.secretParams,
    socket,
    early: req.early,
    headers,
    forwardUrl: routed && route.compiled !== undefined ? route.compiled.rewrite(read.url) : '',
    fields,
    idleMs: config.timeouts.idleMs,
    upstreamRuntime: route.upstream,
    refusal: routed ? undefined : badRequest(read),
  });
  return { ex, route };
}

/**
 * The terminal handler for WebSocket upgrades (RFC 6455 §4): balanced,
 * counted busy and retried once after a refused connect, as HTTP requests
 * are; the handshake is replayed to the chosen target (over TLS when the
 * upstream has `tls`; see ws-handshake.ts), and on `101` the two
 * connections are spliced so frames (close, ping and pong included) flow
 * untouched both ways. A target that refuses the upgrade has its response
 * relayed and both connections closed. Either side closing, erroring or
 * idling past the timeout closes both: nothing leaks. Resolves when the
 * session is over.
 */
export function forwardWs(ex: WsExchange): Promise<void> {
  const upstream = ex.upstreamRuntime;
  if (upstream === undefined) return Promise.reject(ex.refusal ?? routeNotFound(ex.listener));
  return forwardWsTo(ex, upstream);
}

/** {@link forwardWs} to a given upstream (the pinned one, or a route's fallback). */
async function forwardWsTo(ex: WsExchange, upstream: UpstreamRuntime): Promise<void> {
  const consumed = ex.consumed;
  if (consumed !== undefined) {
    // Idempotent: a fallback upstream's second pass finds nothing more to remove.
    ex.fields = withoutFieldLines(ex.fields, consumed.field);
    if (consumed.param !== '') ex.forwardUrl = withoutQueryParam(ex.forwardUrl, consumed.param);
  }
  const watch = watchClient(ex.socket);
  ex.watch = watch;
  try {
    await tryTargets(upstream, ex, WS_FORWARDER);
  } finally {
    watch.stop();
  }
}

/** How upgrades go to a target: one object for every upgrade (see Forwarder). */
const WS_FORWARDER: Forwarder<WsExchange> = {
  maxAttempts: MAX_ATTEMPTS,
  send: (ex, target, upstream) => connectUpstream(ex, upstream, target),
  mapError: (_ex, err) => toGwError(err),
  // Refused or not connected in time: nothing reached the target.
  mayRetry: (_ex, _error, err) => err instanceof ConnectFailure,
  clientGone: (ex) => ex.watch?.gone ?? false,
  answeredFailure: (ex) => ex.status >= 500,
};

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
  /** The same fields as received (flat name, value list), with that Host. */
  readonly raw: readonly string[];
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
function readUpgrade(req: RequestHead): UpgradeTarget | string {
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (upgrade !== 'websocket') return `unsupported upgrade ${JSON.stringify(upgrade)}`;
  if (req.method !== 'GET') return `a WebSocket upgrade must be a GET, not ${req.method}`;
  const length = req.headers['content-length'];
  if (
    req.headers['transfer-encoding'] !== undefined ||
    (length !== undefined && Number(length) !== 0)
  )
    return 'a WebSocket upgrade must not have a body';
  const target = splitTarget(req.target);
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
      raw: req.raw,
    };
  }
  const headers = { ...req.headers, host: target.authority };
  const raw: string[] = [];
  for (let i = 0; i + 1 < req.raw.length; i += 2) {
    const name = req.raw[i] ?? '';
    if (name.toLowerCase() !== 'host') raw.push(name, req.raw[i + 1] ?? '');
  }
  raw.push('Host', target.authority);
  return { host: hostOf(target.authority), path, url, headers, raw };
}

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

/**
 * Asks `target` for the upgrade over the gateway's own HTTP/1.1 (see
 * ws-handshake.ts). Rejects with a GwError when no answer came; otherwise
 * resolves once the exchange is over: the spliced tunnel closed, or the
 * target's refusal was relayed.
 */
async function connectUpstream(
  ex: WsExchange,
  upstream: UpstreamRuntime,
  target: TargetRuntime,
): Promise<void> {
  // An HTTP/1.0 request may come without Host: the target gets its own address.
  const host =
    ex.headers.host === undefined
      ? `host: ${formatHostPort(target.address.host, target.address.port)}\r\n`
      : '';
  const requestHead =
    // The fields were built before auth ran (the client's x-gw-consumer already removed).
    `GET ${ex.forwardUrl} HTTP/1.1\r\n${ex.fields}${consumerLine(ex.consumer)}${host}` +
    'connection: Upgrade\r\nupgrade: websocket\r\n\r\n';
  const shake = await askUpgrade(upstream.config, target, requestHead, ex.watch);
  ex.status = shake.response.status;
  if (ex.status !== 101) {
    // The target refused the upgrade: relay its answer, then close both sides.
    await relayRefusal(ex.socket, shake, ex.replyFields, ex.watch, upstream.config.timeouts.idleMs);
    return;
  }
  // Upgraded: a half-open circuit's probe has succeeded, however long the session lasts.
  upstream.state.breaker?.established(ex);
  // The bridge is the client's connection now: it idles out on the listener's idleMs.
  await new Promise<void>((resolve) => {
    splice(ex, shake, resolve);
  });
}

/**
 * Answers the client's upgrade with the target's 101 and splices the two
 * connections. The head parser drops hop-by-hop fields, so Connection and
 * Upgrade are written again (a client checks both: RFC 6455 §4.1); the
 * target's other fields (Sec-WebSocket-Accept, -Protocol, -Extensions…) pass
 * as sent, then the exchange's reply fields.
 */
function splice(ex: WsExchange, shake: Handshake, ended: () => void): void {
  const client = ex.socket;
  const watch = ex.watch;
  const { socket: upSocket, response, rest } = shake;
  const extra = ex.replyFields === undefined ? '' : fieldLines(ex.replyFields);
  client.write(
    `HTTP/1.1 101 ${reasonOf(response)}\r\nconnection: Upgrade\r\nupgrade: websocket\r\n` +
      `${response.fields}${extra}\r\n`,
    'latin1',
  );
  // Bytes after the 101 are the target's first frames.
  if (rest.length > 0) client.write(rest);
  watch?.stop();
  if (ex.early.length > 0) upSocket.write(ex.early);
  for (const chunk of watch?.early ?? []) upSocket.write(chunk);
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
    if (side instanceof Socket) side.setTimeout(ex.idleMs, close);
  }
  client.pipe(upSocket);
  upSocket.pipe(client);
  if (watch?.gone === true) close(); // gone already: its 'close' came before these listeners
}
