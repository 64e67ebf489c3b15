import type { Server } from 'node:net';
import { errnoOf, listenFailed, portInUse } from '../../shared/errors.js';
import type { HostPort } from '../config/types.js';

/** A listener that is accepting connections. */
export interface RunningListener {
  readonly name: string;
  readonly host: string;
  /** The bound port (the real one when the config said 0). */
  readonly port: number;
  /** Stops accepting; connections in flight are given `graceMs` to finish, then cut. */
  close(graceMs?: number): Promise<void>;
}

/** Binds `server` to `address`; EADDRINUSE and friends become one clear GwError. */
export function listenOn(
  server: Server,
  name: string,
  address: HostPort,
  /** Called when closing starts (after the server stops accepting): tell open connections. */
  onClose?: () => void,
): Promise<RunningListener> {
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
            const timer = setTimeout(() => {
              for (const socket of sockets) socket.destroy();
            }, graceMs);
            timer.unref();
          }),
      });
    });
  });
}
