import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { runWorker } from '../proxy/cluster/worker.js';
import { invalidArgument } from '../shared/errors.js';
import type { ConfigRevision, ConfigSource } from '../proxy/config/config-source.js';
import { configNotes } from '../proxy/config/config-notes.js';
import { etcdConfigSource, isEtcdConfigSpec } from '../proxy/config/config-source-for.js';
import { FileConfigSource } from '../proxy/config/file-config-source.js';
import { routingTable, routingTableJson } from '../proxy/config/routing-table.js';
import { startGateway } from '../proxy/gateway.js';
import { Reloader } from '../proxy/reload/reloader.js';
import { BatchedWriter } from '../shared/batched-writer.js';
import { untilSignal } from './commander-setup.js';
import type { ProxyFlags } from './proxy.js';
import { formatHostPort } from '../shared/format.js';

/** Beyond shutdownTimeoutMs, what the last closes (upstream sessions) may take before the exit. */
const EXIT_MARGIN_MS = 2000;

/** The most workers `--workers` takes. */
const MAX_WORKERS = 64;

/** `--workers N|auto`: a whole number from 1 to 64, or one per core. */
export function parseWorkers(value: string | undefined): number {
  if (value === undefined) return 1;
  if (value === 'auto') return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS)
    throw invalidArgument('--workers', value, `a whole number from 1 to ${MAX_WORKERS}, or auto`);
  return n;
}

/** `gw proxy`: validate (and with --check stop there), then serve until a signal. */
export async function runProxy(flags: ProxyFlags): Promise<void> {
  // A --workers worker: the primary sends it the config (cluster/worker.ts).
  if (cluster.isWorker) return runWorker(flags.quiet === true);
  const workers = parseWorkers(flags.workers);
  const source = configSource(flags.config);
  let first: ConfigRevision;
  try {
    first = await source.load();
  } catch (err) {
    await source.close();
    throw err;
  }
  if (flags.check === true) {
    await source.close();
    const { config } = first;
    // A key in etcd has revisions worth naming; a file is its own name.
    const at = isEtcdConfigSpec(flags.config) ? ` (${first.revision})` : '';
    if (flags.json === true) process.stdout.write(`${JSON.stringify(routingTableJson(config))}\n`);
    else
      process.stdout.write(
        `${routingTable(config).join('\n')}\n${config.source}: config OK${at}\n`,
      );
    return;
  }
  if (workers > 1) {
    const { serveWorkers } = await import('./proxy-workers.js');
    await serveWorkers(first, source, workers);
    return;
  }
  await serve(first, source, flags.quiet === true);
}

/** Where `--config` points: a key in etcd (`etcd://HOST:PORT/KEY`, watched) or a file. */
function configSource(location: string): ConfigSource {
  if (!isEtcdConfigSpec(location)) return new FileConfigSource(location);
  // The source's own events (etcd down, back, the watch renewed) go to the gateway's log.
  return etcdConfigSource(location, { log: (line) => process.stdout.write(`${line}\n`) });
}

/**
 * Runs a gateway for the first revision of `source`, reloading on SIGHUP and
 * whenever the source has a new revision, until SIGINT/SIGTERM; then closes
 * it gracefully within the config's shutdownTimeoutMs (a second signal
 * exits at once).
 */
export async function serve(
  first: ConfigRevision,
  source: ConfigSource,
  quiet: boolean,
): Promise<void> {
  const log = new BatchedWriter((text) => process.stdout.write(text));
  // From the start: SIGHUP's default action ends the process. One that comes before the
  // gateway runs is answered once it does; one during shutdown is ignored.
  const hangup = { early: false, answer: (): void => void (hangup.early = true) };
  process.on('SIGHUP', () => hangup.answer());
  const { config } = first;
  const gateway = await startGateway(config, { accessLog: quiet ? () => undefined : log.line });
  // Listening for signals before saying anything: a signal sent on seeing the lines below is caught.
  const signalled = untilSignal();
  for (const listener of gateway.listeners) {
    process.stdout.write(
      `listener ${listener.name} (${listener.protocol}) on ${formatHostPort(listener.host, listener.port)}\n`,
    );
  }
  for (const note of configNotes(config)) process.stdout.write(`${note}\n`);
  process.stdout.write(
    `config ${first.revision} from ${source.label}; reloaded on SIGHUP and when it changes\n`,
  );
  // Reload lines are written whatever --quiet says, in order with the access log.
  const reloader = new Reloader(gateway, first, log.line);
  const unfollow = reloader.follow(source);
  hangup.answer = () => void reloader.pull(source);
  if (hangup.early) hangup.answer();
  // Whatever way the process ends (a second Ctrl-C exits at once), buffered lines are written first.
  process.on('exit', () => log.flush());
  await signalled;
  hangup.answer = () => undefined;
  unfollow();
  await source.close();
  // The lines of requests that ended before the signal come before the shutdown line.
  log.flush();
  const graceMs = reloader.config.shutdownTimeoutMs;
  process.stdout.write(
    `shutting down: no new connections; in-flight requests get ${graceMs} ms (shutdownTimeoutMs)\n`,
  );
  // Graceful first; whatever is still open after the grace period (a peer that never
  // closes its keep-alive connection, say) must not keep the process alive.
  const deadline = new Promise<void>((resolve) =>
    setTimeout(resolve, graceMs + EXIT_MARGIN_MS).unref(),
  );
  await Promise.race([gateway.close(graceMs), deadline]);
  log.flush();
  process.exit(process.exitCode ?? 0);
}
