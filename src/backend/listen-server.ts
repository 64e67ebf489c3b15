import type net from 'node:net';
import { errnoOf, listenFailed, portInUse } from '../shared/errors.js';

/**
 * Listens on `host:port` (0 picks a free port) and resolves with the bound
 * address. EADDRINUSE becomes GW_ERR_PORT_IN_USE, anything else GW_ERR_LISTEN.
 * After a successful listen, later server errors (EMFILE on accept) are
 * swallowed so they cannot crash the process.
 */
export function listenServer(
  server: net.Server,
  host: string,
  port: number,
): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(
        errnoOf(err) === 'EADDRINUSE' ? portInUse(host, port, err) : listenFailed(host, port, err),
      );
    };
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      server.on('error', () => undefined);
      resolve(server.address() as net.AddressInfo);
    });
  });
}

/** Closes a server, resolving (never rejecting) once it has stopped. */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
