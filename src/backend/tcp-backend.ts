import net from 'node:net';
import { Transform, pipeline } from 'node:stream';
import {
  backendName,
  backendOptions,
  shouldFail,
  type BackendOptions,
  type ResolvedOptions,
  type RunningBackend,
} from './backend-options.js';
import { peerOf } from '../shared/format.js';
import { closeServer, listenServer } from './listen-server.js';

/** Options of the TCP backend. */
export interface TcpBackendOptions extends BackendOptions {
  /** Write `hello from NAME\n` on connect, before any echo. Default false (a pure byte echo). */
  banner?: boolean;
}

/**
 * Starts the demo TCP upstream: a pure byte echo that writes nothing of its
 * own (unless `banner`), so proxied bytes can be compared exactly. Each
 * chunk is echoed after `latencyMs`. For the share `failRate` of
 * connections, the first data is answered with a reset (RST) instead. When
 * the peer half-closes, the echo finishes and the backend closes its side
 * too (RFC 9293 §3.6).
 */
export async function startTcpBackend(options: TcpBackendOptions): Promise<RunningBackend> {
  const resolved = backendOptions(options);
  const sockets = new Set<net.Socket>();
  let name = '';
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serve(socket, resolved, name, options.banner === true);
  });
  const address = await listenServer(server, resolved.host, resolved.port);
  name = backendName(resolved, address.port);
  resolved.onEvent({
    type: 'listening',
    kind: 'tcp',
    backend: name,
    host: address.address,
    port: address.port,
  });
  return {
    kind: 'tcp',
    host: address.address,
    port: address.port,
    name,
    async close() {
      const closed = closeServer(server);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function serve(socket: net.Socket, options: ResolvedOptions, name: string, banner: boolean) {
  const peer = peerOf(socket);
  let echoed = 0;
  let reason = 'closed';
  let injected = false;
  let first = true;
  options.onEvent({ type: 'open', kind: 'tcp', backend: name, peer });
  if (banner) socket.write(`hello from ${name}\n`);
  const echo = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (first) {
        first = false;
        if (shouldFail(options)) {
          injected = true;
          reason = 'reset';
          socket.resetAndDestroy();
          return; // never calls back: the pipeline is torn down with the socket
        }
      }
      echoed += chunk.length;
      if (options.latencyMs > 0) setTimeout(callback, options.latencyMs, null, chunk);
      else callback(null, chunk);
    },
  });
  // socket → echo → socket: backpressure from a slow reader pauses our reads.
  pipeline(socket, echo, socket, () => undefined);
  socket.on('error', () => undefined); // a reset by the peer shows as the close below
  socket.once('close', () => {
    options.onEvent({ type: 'close', kind: 'tcp', backend: name, peer, echoed, reason, injected });
  });
}
