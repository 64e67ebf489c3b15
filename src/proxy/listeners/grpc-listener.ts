import { readFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { routeNotFound, toGwError } from '../../shared/errors.js';
import type { GrpcListenerConfig } from '../config/types.js';
import { H2Connection, type H2Stream } from '../h2/connection.js';
import { H2_ERROR } from '../h2/frames.js';
import { formatAccessLine, type LineSink } from '../middleware/access-log/access-log.js';
import { newExchange } from '../pipeline/types.js';
import { matchRoute } from '../routing/compile-routes.js';
import { hostOf } from '../routing/host-of.js';
import type { RuntimeRef } from '../runtime.js';
import {
  answerStatus,
  forwardGrpc,
  GRPC_STATUS,
  GrpcCall,
  parseGrpcTimeout,
  type GrpcExchange,
} from '../upstream/forward-grpc.js';
import { chainPerRuntime } from './chain-per-runtime.js';
import { listenOn, type RunningListener } from './listen.js';

let nextCallId = 1;

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
): Promise<RunningListener> {
  const chainFor = chainPerRuntime<GrpcExchange>({
    accessLog: config.accessLog,
    sink,
    answer: answerGrpcError,
    terminal: forwardGrpc(ref),
  });
  const connections = new Set<H2Connection>();

  const onStream = (connection: H2Connection, stream: H2Stream, fields: string[], end: boolean) => {
    const headers = headerRecord(fields);
    const url = headers[':path'];
    if (url === undefined || headers[':method'] === undefined) {
      stream.reset(H2_ERROR.PROTOCOL_ERROR);
      return;
    }
    const runtime = ref.current;
    const listener = runtime.listener(config.name);
    const method = headers[':method'];
    const host = hostOf(headers[':authority']);
    const route = matchRoute(listener.routes, { method, host, path: url, headers });
    const call = new GrpcCall(stream, end);
    const ex: GrpcExchange = {
      ...newExchange({
        id: nextCallId++,
        kind: 'grpc',
        listener: config.name,
        clientIp: connection.socket.remoteAddress ?? '',
        method,
        host,
        url,
        route: route?.name ?? '',
        upstream: route?.upstream ?? '',
      }),
      call,
      headers,
      fields,
      forwardPath: route ? route.rewrite(url) : url,
      deadlineMs: parseGrpcTimeout(headers['grpc-timeout']),
      idleMs: config.timeouts.idleMs,
    };
    call.ex = ex;
    if (route === undefined) {
      answerGrpcError(ex, routeNotFound(config.name));
      if (config.accessLog) sink(formatAccessLine(ex, performance.now()));
      return;
    }
    chainFor(runtime)(ex).catch((err: unknown) => answerGrpcError(ex, err));
  };

  const accept = (socket: Socket): void => {
    socket.on('error', () => undefined);
    if (socket instanceof tls.TLSSocket && socket.alpnProtocol !== 'h2') {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const connection = new H2Connection(socket, {
      role: 'server',
      onStream: (stream, fields, end) => onStream(connection, stream, fields, end),
      onClose: (c) => connections.delete(c),
    });
    connections.add(connection);
  };

  let server: net.Server;
  if (config.tls) {
    const secure = tls.createServer({
      cert: readFileSync(config.tls.cert),
      key: readFileSync(config.tls.key),
      ALPNProtocols: ['h2'],
    });
    secure.on('secureConnection', accept);
    secure.on('tlsClientError', () => undefined);
    server = secure;
  } else {
    server = net.createServer(accept);
  }
  // Closing: every client is told GOAWAY; calls in flight finish, then each connection ends.
  return listenOn(server, config.name, config.listen, () => {
    for (const connection of connections) connection.goaway();
  });
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

/** The gRPC status for a gateway error: timeouts are DEADLINE_EXCEEDED, the rest UNAVAILABLE. */
function answerGrpcError(ex: GrpcExchange, err: unknown): void {
  const error = toGwError(err);
  const status =
    error.code === 'GW_ERR_UPSTREAM_TIMEOUT'
      ? GRPC_STATUS.DEADLINE_EXCEEDED
      : error.code === 'GW_ERR_ROUTE_NOT_FOUND'
        ? GRPC_STATUS.UNIMPLEMENTED
        : GRPC_STATUS.UNAVAILABLE;
  answerStatus(ex, status, error);
}
