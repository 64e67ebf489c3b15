import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import type { LineSink } from '../middleware/access-log/access-log.js';

/** The default where the descriptor limit cannot be read (not Linux, say). */
const FALLBACK_MAX_CONNECTIONS = 10_000;
/** How often at most a listener logs the connections it refused. */
const DROP_LOG_INTERVAL_MS = 1000;

/**
 * The soft limit on open files ("Max open files" in /proc/self/limits,
 * `ulimit -n`), or undefined when it cannot be read or is unlimited. Node
 * raises its soft limit to the hard one at start-up, so this is the limit
 * the gateway really has.
 */
export function descriptorLimit(): number | undefined {
  try {
    return parseDescriptorLimit(readFileSync('/proc/self/limits', 'latin1'));
  } catch {
    return undefined;
  }
}

/** The soft "Max open files" of a /proc/PID/limits text. Pure. */
export function parseDescriptorLimit(text: string): number | undefined {
  const line = /^Max open files\s+(\S+)/m.exec(text);
  const soft = Number(line?.[1]);
  return Number.isSafeInteger(soft) && soft > 0 ? soft : undefined;
}

/**
 * A listener's connection limit when the config sets none: two fifths of
 * the descriptor limit. A proxied TCP or WebSocket connection holds two
 * descriptors (the client's and the target's), so even a tcp listener
 * flooded to its limit leaves a fifth of the table for the other listeners,
 * pools and files. 10,000 where the limit is unknown.
 */
export function defaultMaxConnections(limit: number | undefined): number {
  return limit === undefined ? FALLBACK_MAX_CONNECTIONS : Math.max(1, Math.floor((limit * 2) / 5));
}

/**
 * Caps the connections `server` holds at `max`: one over it is accepted
 * and closed at once by Node (`net.Server.maxConnections`, also for
 * `tls.Server`, before any TLS handshake), so an attacker holding idle
 * connections cannot fill the descriptor table. Refusals are counted and
 * logged at most once a second per listener:
 * `gw: listener web: 1234 connections refused in the last 1 s (maxConnections 10000)`.
 * A reload may set `server.maxConnections` again: the line names the limit in force.
 * Returns a function that stops the log (for close), flushing its count.
 */
export function capConnections(
  server: Server,
  name: string,
  max: number,
  log: LineSink,
): () => void {
  server.maxConnections = max;
  let refused = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    if (refused === 0) return;
    const what = refused === 1 ? 'connection' : 'connections';
    log(
      `gw: listener ${name}: ${refused} ${what} refused in the last 1 s (maxConnections ${server.maxConnections})`,
    );
    refused = 0;
  };
  // 'drop' (Node >= 18.6) is emitted for each connection closed for being over maxConnections.
  server.on('drop', () => {
    refused++;
    if (timer !== undefined) return;
    timer = setTimeout(flush, DROP_LOG_INTERVAL_MS);
    timer.unref();
  });
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    flush();
  };
}
