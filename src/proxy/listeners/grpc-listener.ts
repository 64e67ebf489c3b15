import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { routeNotFound, toGwError } from '../../shared/errors.js';
import type { GrpcListenerConfig } from '../config/types.js';
import { formatAccessLine, type LineSink } from '../middleware/access-log/access-log.js';
import { newExchange } from '../pipeline/types.js';
import { matchRoute } from '../routing/compile-routes.js';
import { hostOf } from '../routing/host-of.js';
import type { RuntimeRef } from '../runtime.js';
import {
  answerStatus,
  forwardGrpc,
  GRPC_STATUS,
  parseGrpcTimeout,
  type GrpcExchange,
} from '../upstream/forward-grpc.js';
import { chainPerRuntime } from './chain-per-runtime.js';
import { listenOn, type RunningListener } from './listen.js';

let nextCallId = 1;

/**
 * Starts a `grpc` listener: HTTP/2 with prior knowledge (h2c), or TLS with
 * ALPN h2 when configured. Every call (stream) is routed on its `:path` and
 * balanced on its own, so one client connection spreads its calls over all
 * targets. Errors are answered as gRPC statuses, never as HTTP pages.
 */
export async function startGrpcListener(
  config: GrpcListenerConfig,
  ref: RuntimeRef,
  sink: LineSink,
): Promise<RunningListener> {
  const server = config.tls
    ? http2.createSecureServer({
        cert: readFileSync(config.tls.cert),
        key: readFileSync(config.tls.key),
        allowHTTP1: false,
      })
    : http2.createServer();
  const chainFor = chainPerRuntime<GrpcExchange>({
    accessLog: config.accessLog,
    sink,
    answer: answerGrpcError,
    terminal: forwardGrpc(ref),
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const runtime = ref.current;
    const listener = runtime.listener(config.name);
    const url = headers[':path'] ?? '/';
    const method = headers[':method'] ?? 'POST';
    const host = hostOf(headers[':authority']);
    const route = matchRoute(listener.routes, { method, host, path: url, headers });
    const ex: GrpcExchange = {
      ...newExchange({
        id: nextCallId++,
        kind: 'grpc',
        listener: config.name,
        clientIp: stream.session?.socket.remoteAddress ?? '',
        method,
        host,
        url,
        route: route?.name ?? '',
        upstream: route?.upstream ?? '',
      }),
      stream,
      headers,
      forwardPath: route ? route.rewrite(url) : url,
      deadlineMs: parseGrpcTimeout(headers['grpc-timeout']),
      idleMs: config.timeouts.idleMs,
    };
    if (route === undefined) {
      answerGrpcError(ex, routeNotFound(config.name));
      if (config.accessLog) sink(formatAccessLine(ex, performance.now()));
      return;
    }
    chainFor(runtime)(ex).catch((err: unknown) => answerGrpcError(ex, err));
  });
  server.on('sessionError', () => undefined);
  return listenOn(server, config.name, config.listen);
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
