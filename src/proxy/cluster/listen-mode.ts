/**
 * How `gw proxy --workers N` spreads connections over its workers.
 *
 * Node's cluster module has two ways of sharing a listening socket, and
 * newer Node a third:
 *
 * - SCHED_RR (Node's default on Linux): the primary accepts every connection
 *   and passes each handle to a worker in turn. Even, but the primary then
 *   touches every connection (one more process hop and a single accept loop
 *   on one core), which is what `--workers` is meant to avoid.
 * - SCHED_NONE: the primary binds the socket once and hands the listening
 *   handle itself to every worker; each worker accepts on it, and the kernel
 *   wakes one of the waiting acceptors per connection. The primary accepts
 *   nothing. The split follows who is idle when a connection arrives, so it
 *   can be uneven under light load; under load, a busy worker is not waiting
 *   in accept and the other takes the connection.
 * - `reusePort` (Node >= 22.12 / 23.1, Linux SO_REUSEPORT): every worker binds
 *   its own socket to the address (`exclusive: true`, so not through the
 *   primary) and the kernel hashes each new connection to one of them.
 *   Even, and no shared accept queue.
 *
 * gw uses reusePort where the running Node has it, else SCHED_NONE (never
 * RR). With reusePort a listener on port 0 gets a different port in every
 * worker: give listeners fixed ports when running workers.
 */
import cluster from 'node:cluster';

/**
 * True when `server.listen` takes `reusePort` (Node >= 22.12 on 22, >= 23.1)
 * and the platform is Linux, whose SO_REUSEPORT spreads connections (Node
 * throws where the option is unsupported).
 */
export function hasReusePort(
  version: string = process.versions.node,
  platform: string = process.platform,
): boolean {
  if (platform !== 'linux') return false;
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major === 22) return minor >= 12;
  if (major === 23) return minor >= 1;
  return major > 23;
}

/** The primary's half: SCHED_NONE, set before the first fork (Node reads it then). */
export function chooseScheduling(): void {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
}

/** The distribution in words, for the primary's start-up line. */
export function distributionName(): string {
  return hasReusePort() ? 'reusePort (SO_REUSEPORT)' : 'shared socket (SCHED_NONE)';
}

/**
 * Extra `server.listen` options for the process this runs in: in a worker
 * on a Node with reusePort, its own SO_REUSEPORT socket; otherwise none
 * (a worker's listen goes through the primary, which shares its socket).
 */
export function listenExtras(): { readonly exclusive?: boolean; readonly reusePort?: boolean } {
  return cluster.isWorker && hasReusePort() ? { exclusive: true, reusePort: true } : {};
}
