import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { listenFailed, portInUse } from '../shared/errors.js';
import { formatHostPort } from '../shared/format.js';
import {
  backendName,
  backendOptions,
  type BackendOptions,
  type RunningBackend,
} from './backend-options.js';
import { ECHO_SERVICE, HEALTH_SERVICE, echoProto } from './echo-proto.js';
import {
  backendMetadata,
  echoService,
  statusError,
  type GrpcContext,
} from './grpc-echo-service.js';
import { closeServer, listenServer } from './listen-server.js';

/**
 * Starts the demo gRPC upstream (HTTP/2 cleartext) serving
 * `gw.echo.v1.Echo` (see `proto/echo.proto` and {@link echoService}) and the
 * standard `grpc.health.v1.Health/Check`, which answers SERVING for `""`,
 * `gw.echo.v1.Echo` and `grpc.health.v1.Health`, and NOT_FOUND for any
 * other service; `Watch` answers UNIMPLEMENTED.
 */
export async function startGrpcBackend(options: BackendOptions): Promise<RunningBackend> {
  const resolved = backendOptions(options);
  const proto = echoProto();
  const ctx: GrpcContext = { options: resolved, name: '' };
  const server = new grpc.Server();
  server.addService(proto.echo.service, echoService(ctx));
  server.addService(proto.health.service, healthService(ctx));
  const port = await bind(server, resolved.host, resolved.port);
  ctx.name = backendName(resolved, port);
  resolved.onEvent({
    type: 'listening',
    kind: 'grpc',
    backend: ctx.name,
    host: resolved.host,
    port,
  });
  return {
    kind: 'grpc',
    host: resolved.host,
    port,
    name: ctx.name,
    async close() {
      const stopped = new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
      });
      server.forceShutdown(); // cancels open calls, so tryShutdown resolves promptly
      await stopped;
    },
  };
}

/**
 * Binds the server. grpc-js reports a taken port only as a message (and logs
 * it), so a fixed port is first tried with a plain listener, which gives the
 * usual GW_ERR_PORT_IN_USE one-liner.
 */
async function bind(server: grpc.Server, host: string, port: number): Promise<number> {
  if (port !== 0) {
    const probe = net.createServer();
    await listenServer(probe, host, port);
    await closeServer(probe);
  }
  return new Promise((resolve, reject) => {
    server.bindAsync(
      formatHostPort(host, port),
      grpc.ServerCredentials.createInsecure(),
      (err, boundPort) => {
        if (err === null) resolve(boundPort);
        else if (err.message.includes('EADDRINUSE')) reject(portInUse(host, port, err));
        else reject(listenFailed(host, port, err));
      },
    );
  });
}

interface HealthRequest {
  service?: string;
}

/** `grpc.health.v1.Health`, per https://github.com/grpc/grpc/blob/master/doc/health-checking.md. */
function healthService(ctx: GrpcContext): grpc.UntypedServiceImplementation {
  const known = new Set(['', ECHO_SERVICE, HEALTH_SERVICE]);
  return {
    Check: (
      call: grpc.ServerUnaryCall<HealthRequest, unknown>,
      callback: grpc.sendUnaryData<{ status: string }>,
    ) => {
      const service = call.request.service ?? '';
      if (!known.has(service)) {
        callback(statusError(grpc.status.NOT_FOUND, `unknown service ${service}`, ctx));
        return;
      }
      const status = ctx.options.failHealth ? 'NOT_SERVING' : 'SERVING';
      callback(null, { status }, backendMetadata(ctx));
    },
    Watch: (call: grpc.ServerWritableStream<HealthRequest, unknown>) => {
      call.emit('error', statusError(grpc.status.UNIMPLEMENTED, 'Watch is not implemented', ctx));
    },
  };
}
