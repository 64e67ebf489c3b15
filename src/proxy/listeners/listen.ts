import type { Server, Socket } from 'node:net';
import { errnoOf, listenFailed, portInUse } from '../../shared/errors.js';
import type { ListenerConfig } from '../config/types.js';
import type { LineSink } from '../middleware/access-log/access-log.js';
import { listenExtras } from '../cluster/listen-mode.js';
import { capConnections, defaultMaxConnections, descriptorLimit } from './connection-cap.js';

/** A listener that is accepting connections. */
export interface RunningListener {
  readonly name: string;
  readonly protocol: ListenerConfig['protocol'];
  readonly host: string;
  /** The bound port (the real one when the config said 0). */
  readonly port: number;
  /**
   * Readies this listener to take `config`: the same listener (name,
   * protocol, address) in a new config. Reads what the change needs (TLS
   * files) and throws when it cannot be made; the change returned cannot
   * fail. Connections accepted after it is applied use the new settings;
   * open ones keep those they started with.
   */
  prepare(config: ListenerConfig): ListenerChange;
  /**
   * Starts serving the connections of a listener started `held`: those that
   * arrived since it was bound are handed over now, in order. Once only.
   */
  open(): void;
  /**
   * Stops accepting; connections in flight are given `graceMs` to finish, then cut.
   * Called again while it drains, the sooner deadline wins.
   */
  close(graceMs?: number): Promise<void>;
}

/** A prepared change of a running listener's settings (see RunningListener.prepare). */
export interface ListenerChange {
  apply(): void;
  /** Settings of the new config the live socket cannot take, for the reload's log line. */
  readonly notes: readonly string[];
}

/** How one protocol's listener is bound and told of closing and of new settings. */
export interface ListenOptions {
  /** The listener's config when it starts: its name, address and connection limit. */
  readonly config: ListenerConfig;
  /** Where refused connections are logged. */
  readonly log: LineSink;
  /**
   * Bind now, serve after {@link RunningListener.open}: a reload binds every new
   * address before the config that routes them is in force.
   */
  readonly held: boolean;
  /** Called when closing starts (after the server stops accepting): tell open connections. */
  readonly onClose?: () => void;
  /** The protocol's part of {@link RunningListener.prepare}; the connection limit is done here. */
  readonly prepare: (config: ListenerConfig) => ListenerChange;
}

function ignore(): void {
  // A held socket's errors end in 'close'; its handler, once open, listens itself.
}

/**
 * Binds `server` to the config's address; EADDRINUSE and friends become one
 * clear GwError. Connections over the config's `maxConnections` are closed as
 * soon as they are accepted, with one log line a second at most: every
 * listener is capped.
 */
export function listenOn(server: Server, options: ListenOptions): Promise<RunningListener> {
  const { config } = options;
  const { name, listen: address } = config;
  server.maxConnections = maxConnectionsOf(config);
  const stopLog = capConnections(server, name, server.maxConnections, options.log);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const held = options.held ? holdConnections(server) : undefined;
  /** Set once closing starts; resolves when every connection has ended. */
  let closing: Promise<void> | undefined;
  /** When the connections still open are cut. */
  const cut: { at: number; timer: NodeJS.Timeout | undefined } = {
    at: Number.POSITIVE_INFINITY,
    timer: undefined,
  };
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(
        errnoOf(err) === 'EADDRINUSE'
          ? portInUse(address.host, address.port, err)
          : listenFailed(address.host, address.port, err),
      );
    };
    server.once('error', onError);
    // In a --workers worker, reusePort where Node has it (cluster/listen-mode.ts).
    const extras = listenExtras();
    server.listen({ host: address.host, port: address.port, backlog: 511, ...extras }, () => {
      server.off('error', onError);
      // Accept errors after start-up (EMFILE) must not crash the gateway.
      server.on('error', () => undefined);
      const bound = server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
      resolve({
        name,
        protocol: config.protocol,
        host: address.host,
        port,
        prepare(next) {
          const change = options.prepare(next);
          const max = maxConnectionsOf(next);
          return {
            notes: change.notes,
            apply() {
              server.maxConnections = max;
              change.apply();
            },
          };
        },
        open: () => held?.open(),
        close(graceMs = 5000) {
          // Again while draining (a reload closed it, then the gateway stops): the sooner cut wins.
          const cutAt = performance.now() + graceMs;
          if (cutAt < cut.at) {
            cut.at = cutAt;
            clearTimeout(cut.timer);
            cut.timer = setTimeout(() => {
              for (const socket of sockets) socket.destroy();
            }, graceMs).unref();
          }
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            // Never opened (a reload that failed after binding): what it held was never served.
            held?.discard();
            options.onClose?.();
            stopLog();
          });
          return closing;
        },
      });
    });
  });
}

function maxConnectionsOf(config: ListenerConfig): number {
  return config.maxConnections ?? defaultMaxConnections(descriptorLimit());
}

/** Connections held until a listener opens (see holdConnections). */
interface Held {
  /** Hands the held sockets to the server's own listeners, and the next ones. Once only. */
  open(): void;
  /** Closes the held sockets, if it never opened. */
  discard(): void;
}

/**
 * Holds the server's connections until `open`: its 'connection' listeners
 * (the protocol's accept, a TLS server's handshake, the close bookkeeping)
 * are set aside meanwhile and then given every socket that arrived, in
 * order. A held socket is not read (its bytes wait in the stream); one the
 * client closed meanwhile is dropped.
 */
function holdConnections(server: Server): Held {
  const accept = server.listeners('connection') as ((socket: Socket) => void)[];
  const waiting: Socket[] = [];
  const hold = (socket: Socket): void => {
    socket.on('error', ignore);
    waiting.push(socket);
  };
  server.removeAllListeners('connection');
  server.on('connection', hold);
  let opened = false;
  return {
    open() {
      if (opened) return;
      opened = true;
      server.off('connection', hold);
      for (const listener of accept) server.on('connection', listener);
      for (const socket of waiting.splice(0)) {
        if (!socket.destroyed) server.emit('connection', socket);
      }
    },
    discard() {
      if (opened) return;
      for (const socket of waiting.splice(0)) socket.destroy();
    },
  };
}
