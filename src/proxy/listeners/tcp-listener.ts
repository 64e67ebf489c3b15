import net from 'node:net';
import type { TcpListenerConfig } from '../config/types.js';
import type { LineSink } from '../middleware/access-log/access-log.js';
import type { RuntimeRef } from '../runtime.js';
import { answerTcp, TcpExchange } from '../upstream/pipe-tcp.js';
import { listenOn, type RunningListener } from './listen.js';

/**
 * Starts a `tcp` listener: each client connection becomes a TCP exchange,
 * pinned to the listener's upstream in the config in force, and passes the
 * listener's L4 chain (its features, the access log) to the terminal that
 * picks a target and pipes the bytes (upstream/pipe-tcp.ts).
 */
export async function startTcpListener(
  config: TcpListenerConfig,
  ref: RuntimeRef,
  sink: LineSink,
  held = false,
): Promise<RunningListener> {
  /** The settings in force for new connections; a reload replaces it (prepare). */
  let live = config;
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    client.on('error', () => undefined);
    const tcp = ref.current.listener(config.name).tcp;
    // A validated config always has it; never let a connection take the process down.
    if (tcp === undefined) {
      client.resetAndDestroy();
      return;
    }
    const ex = new TcpExchange({
      listener: config.name,
      client,
      upstreamRuntime: tcp.upstream,
      idleMs: live.timeouts.idleMs,
    });
    tcp.chain(ex).catch((err: unknown) => answerTcp(ex, err));
  });
  return listenOn(server, {
    config,
    log: sink,
    held,
    prepare: (next) => ({
      notes: [],
      apply: () => {
        live = next as TcpListenerConfig;
      },
    }),
  });
}
