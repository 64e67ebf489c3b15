import { readFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { badRequest } from '../../shared/errors.js';
import { sweeper } from '../../shared/sweeper.js';
import type { GrpcListenerConfig } from '../config/types.js';
import { H2_ERROR } from '../h2/frames.js';
import { H2Connection, type H2Stream } from '../h2/connection.js';
import { checkRequestFields, declaredLength } from '../h2/request-check.js';
import { formatAccessLine, type LineSink } from '../middleware/access-log/access-log.js';
import { RefusalLog } from '../middleware/access-log/refusal-log.js';
import { newExchange, type Exchange } from '../pipeline/types.js';
import { hostOf } from '../routing/host-of.js';
import { checkGrpcPath } from '../routing/normalize-path.js';
import { routeFor, type ListenerRuntime, type RouteEntry, type RuntimeRef } from '../runtime.js';
import {
  GRPC_STATUS,
  GrpcCall,
  GrpcExchange,
  MALFORMED_CODE,
  parseGrpcTimeout,
} from '../upstream/forward-grpc.js';
import { answerGrpc } from './grpc-answer.js';
import { listenOn, type RunningListener } from './listen.js';
import { certificateChange, handshakeNote } from './tls-settings.js';

/**
 * Starts a `grpc` listener: HTTP/2 with prior knowledge (h2c), or TLS with
 * ALPN h2 when configured, spoken by the gateway's own frame relay
 * (src/proxy/h2). Every call (stream) is routed on its `:path` and balanced
 * on its own, so one client connection spreads its calls over all targets.
 * Errors are answered as gRPC statuses, never as HTTP pages.
 */
export async function startGrpcListener(
  config: GrpcListenerConfig,
  ref: RuntimeRef,
  sink: LineSink,
  held = false,
): Promise<RunningListener> {
  const connections = new Set<H2Connection>();
  const refusals = new RefusalLog(sink, config.name);
  /** The settings in force for new connections and calls; a reload replaces it (prepare). */
  let live = config;

  /** A malformed request is never forwarded (RFC 9113 §8.1.1): the client's stream is reset. */
  const refuse = (connection: H2Connection, stream: H2Stream, fields: string[], why: string) => {
    // Never forwarded (RFC 9113 §8.1.1), and counted against the client's fault allowance.
    stream.resetByClientFault(H2_ERROR.PROTOCOL_ERROR);
    if (!live.accessLog) return;
    const clientIp = connection.socket.remoteAddress ?? '';
    const { secretParams } = ref.current.listener(config.name);
    refusals.log(() => refusedLine(config.name, clientIp, fields, why, secretParams));
  };

  const onStream = (connection: H2Connection, stream: H2Stream, fields: string[], end: boolean) => {
    const bad = checkRequestFields(fields, end);
    if (bad !== undefined) {
      refuse(connection, stream, fields, bad);
      return;
    }
    const { ex, route } = callExchange(live, ref.current.listener(config.name), {
      connection,
      stream,
      fields,
      end,
    });
    route.grpc(ex).catch((err: unknown) => answerGrpc(ex, err));
  };

  /** Closing: a TLS handshake that ends now (begun before) is not served; its listener may be gone. */
  let closing = false;
  const accept = (socket: Socket): void => {
    socket.on('error', () => undefined);
    if (closing || (socket instanceof tls.TLSSocket && socket.alpnProtocol !== 'h2')) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const connection = new H2Connection(socket, {
      role: 'server',
      onStream: (stream, fields, end) => onStream(connection, stream, fields, end),
      onClose: (c) => connections.delete(c),
      timeouts: live.timeouts,
    });
    connections.add(connection);
  };
  // One timer for every connection of the listener: preface, header-block and idle timeouts.
  const sweep = (now: number): void => {
    for (const connection of connections) connection.checkTimers(now);
  };
  let stopSweep = sweeper.every(sweepPeriodMs(config.timeouts), sweep);

  let server: net.Server;
  if (config.tls) {
    const secure = tls.createServer({
      cert: readFileSync(config.tls.cert),
      key: readFileSync(config.tls.key),
      ALPNProtocols: ['h2'],
      // The TLS handshake comes before the HTTP/2 preface: bounded by the same headerMs.
      handshakeTimeout: config.timeouts.headerMs,
    });
    secure.on('secureConnection', accept);
    // A failed or timed-out handshake: with a listener here, node leaves the socket open.
    secure.on('tlsClientError', (_err, socket) => socket.destroy());
    server = secure;
  } else {
    server = net.createServer(accept);
  }
  const listening = listenOn(server, {
    config,
    log: sink,
    held,
    // Closing: every client is told GOAWAY; calls in flight finish, then each connection ends.
    onClose: () => {
      closing = true;
      stopSweep();
      for (const connection of connections) connection.goaway();
    },
    prepare(next) {
      const settings = next as GrpcListenerConfig;
      const certificate = certificateChange(server, settings);
      return {
        notes: handshakeNote(live, settings),
        apply() {
          const period = sweepPeriodMs(settings.timeouts);
          if (period !== sweepPeriodMs(live.timeouts)) {
            stopSweep();
            stopSweep = sweeper.every(period, sweep);
          }
          live = settings;
          certificate();
        },
      };
    },
  });
  listening.catch(() => stopSweep());
  return listening;
}

/** How often the connection timers are checked: a quarter of the shortest, within 10 ms to 1 s. */
function sweepPeriodMs(timeouts: GrpcListenerConfig['timeouts']): number {
  return Math.max(10, Math.min(1000, Math.min(timeouts.headerMs, timeouts.idleMs) / 4));
}

/** A call as the connection delivered it: its stream, header fields, and whether it ended. */
interface CallStart {
  readonly connection: H2Connection;
  readonly stream: H2Stream;
  readonly fields: string[];
  readonly end: boolean;
}

/**
 * Routes a call on its `:path` and builds its exchange, pinned to the
 * route's upstream. A :path is /package.Service/Method: one that is not in
 * normal form is refused, not rewritten. gRPC calls are POST only (gRPC over
 * HTTP/2, "Requests"); forwarding another method as POST would change what
 * the client asked for, so another method gets HTTP 405 with `allow: POST`
 * and grpc-status 12 UNIMPLEMENTED, which a gRPC client reads (it would map a
 * bare 405 to UNKNOWN); grpc-go answers 405 too. Both go through the
 * listener's not-found route, with their refusal.
 */
function callExchange(
  config: GrpcListenerConfig,
  listener: ListenerRuntime,
  start: CallStart,
): { ex: GrpcExchange; route: RouteEntry } {
  const { fields } = start;
  const headers = headerRecord(fields);
  const url = headers[':path'] ?? '';
  const method = headers[':method'] ?? '';
  const host = hostOf(headers[':authority'] ?? headers.host);
  const badPath = checkGrpcPath(url);
  const refusal =
    method !== 'POST'
      ? badRequest(`method ${method} is not allowed: gRPC calls are POST`, undefined, 405, 12)
      : badPath === undefined
        ? undefined
        : badRequest(badPath.refused);
  const route =
    refusal === undefined
      ? routeFor(listener, { method, host, path: url, headers })
      : listener.notFound;
  const ex = new GrpcExchange({
    kind: 'grpc',
    listener: config.name,
    clientIp: start.connection.socket.remoteAddress ?? '',
    method,
    host,
    url,
    path: url,
    route: route.name,
    upstream: route.upstreamName,
    secretParams: listener.secretParams,
    call: new GrpcCall(start.stream, start.end, declaredLength(fields)),
    headers,
    fields,
    forwardPath: route.compiled === undefined ? url : route.compiled.rewrite(url),
    deadlineMs: parseGrpcTimeout(headers['grpc-timeout']),
    idleMs: config.timeouts.idleMs,
    upstreamRuntime: route.upstream,
    refusal,
  });
  return { ex, route };
}

/**
 * The access line of a refused (reset) request: logged as gRPC 13 INTERNAL,
 * what a gRPC client reports for RST_STREAM PROTOCOL_ERROR, with
 * GW_ERR_BAD_REQUEST and the reason. Method and path come from a malformed
 * request, so every byte outside visible ASCII is percent-encoded.
 */
function refusedLine(
  listener: string,
  clientIp: string,
  fields: readonly string[],
  reason: string,
  secretParams: readonly string[],
): string {
  let method = '-';
  let url = '-';
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === ':method' && method === '-') method = printable(fields[i + 1] ?? '');
    else if (fields[i] === ':path' && url === '-') url = printable(fields[i + 1] ?? '');
  }
  const ex: Exchange = newExchange({
    kind: 'grpc',
    listener,
    clientIp,
    method,
    host: '',
    url,
    path: url,
    route: '',
    upstream: '',
    secretParams,
  });
  ex.status = GRPC_STATUS.INTERNAL;
  ex.errorCode = MALFORMED_CODE;
  return `${formatAccessLine(ex, ex.startMs)} (${reason})`;
}

/** At most 200 characters, anything but visible ASCII percent-encoded: safe in a log line. */
function printable(text: string): string {
  const cut = text.length > 200 ? text.slice(0, 200) : text;
  const safe = cut.replace(
    /[^\x21-\x7e]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
  return safe === '' ? '-' : safe;
}

/** Header fields as a record (repeated names joined with `, `), for routing and hashing. */
function headerRecord(fields: readonly string[]): Record<string, string> {
  // Null prototype: a `__proto__` or `constructor` field is a header like any other.
  const out = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] ?? '';
    const value = fields[i + 1] ?? '';
    const seen = out[name];
    out[name] = seen === undefined ? value : `${seen}, ${value}`;
  }
  return out;
}
