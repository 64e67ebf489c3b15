import type { Server } from 'node:net';
import { errnoOf, listenFailed, portInUse } from '../../shared/errors.js';
import type { HostPort } from '../config/types.js';
import type { LineSink } from '../middleware/access-log/access-log.js';
import { capConnections, defaultMaxConnections, descriptorLimit } from './connection-cap.js';

/** A listener that is accepting connections. */
export interface RunningListener {
  readonly name: string;
  readonly host: string;
  /** The bound port (the real one when the config said 0). */
  readonly port: number;
  /** Stops accepting; connections in flight are given `graceMs` to finish, then cut. */
  close(graceMs?: number): Promise<void>;
}

/** A listener's connection limit and where its refusals are logged. */
export interface ConnectionLimit {
  /** The most connections held at once; undefined: two fifths of the descriptor limit. */
  readonly maxConnections: number | undefined;
  readonly log: LineSink;
}

/**
 * Binds `server` to `address`; EADDRINUSE and friends become one clear
 * GwError. Connections over the limit's `maxConnections` are closed as
 * soon as they are accepted, with one log line a second at most: every
 * listener is capped.
 */
export function listenOn(
  server: Server,
  name: string,
  address: HostPort,
  /** Called when closing starts (after the server stops accepting): tell open connections. */
  onClose: (() => void) | undefined,
  limit: ConnectionLimit,
): Promise<RunningListener> {
  const stopLog = capConnections(
    server,
    name,
    limit.maxConnections ?? defaultMaxConnections(descriptorLimit()),
    limit.log,
  );
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (socket: import('node:net').Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(
        errnoOf(err) === 'EADDRINUSE'
          ? portInUse(address.host, address.port, err)
          : listenFailed(address.host, address.port, err),
      );
    };
    server.once('error', onError);
    server.listen({ host: address.host, port: address.port, backlog: 511 }, () => {
      server.off('error', onError);
      // Accept errors after start-up (EMFILE) must not crash the gateway.
      server.on('error', () => undefined);
      const bound = server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
      resolve({
        name,
        host: address.host,
        port,
        close: (graceMs = 5000) =>
          new Promise<void>((done) => {
            server.close(() => done());
            const idle = (server as { closeIdleConnections?: () => void }).closeIdleConnections;
            idle?.call(server);
            onClose?.();
            stopLog();
            const timer = setTimeout(() => {
              for (const socket of sockets) socket.destroy();
            }, graceMs);
            timer.unref();
          }),
      });
    });
  });
}
