import type { ConfigRevision, ConfigSource } from '../proxy/config/config-source.js';
import { configNotes } from '../proxy/config/config-notes.js';
import { Primary } from '../proxy/cluster/primary.js';
import { Reloader } from '../proxy/reload/reloader.js';
import { formatHostPort } from '../shared/format.js';
import { untilSignal } from './commander-setup.js';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * `gw proxy --workers N` (N > 1), in the primary: starts the workers on the
 * first revision, reloads on SIGHUP and on every new revision of `source`
 * (each handed to all workers), until SIGINT/SIGTERM; then every worker
 * drains within the config's shutdownTimeoutMs and the primary exits 0. A
 * second signal exits at once, killing the workers. Rejects with a worker's
 * error when one cannot start the first revision (an address in use).
 */
export async function serveWorkers(
  first: ConfigRevision,
  source: ConfigSource,
  workers: number,
): Promise<void> {
  const primary = new Primary(first, workers);
  // SIGHUP's default action ends the process: one that comes early is answered once workers serve.
  const hangup = { early: false, answer: (): void => void (hangup.early = true) };
  process.on('SIGHUP', () => hangup.answer());
  // Whatever way the primary ends (a second Ctrl-C), no worker outlives it.
  process.on('exit', () => primary.killAll());
  const signalled = untilSignal();
  let bound;
  try {
    bound = await primary.start();
  } catch (err) {
    await source.close();
    throw err;
  }
  for (const l of bound)
    say(`listener ${l.name} (${l.protocol}) on ${formatHostPort(l.host, l.port)}`);
  for (const note of configNotes(first.config)) say(note);
  say(
    `config ${first.revision} from ${source.label}; ${primary.describe()}; reloaded on SIGHUP and when it changes`,
  );
  const reloader = new Reloader(primary, first, say);
  const unfollow = reloader.follow(source);
  hangup.answer = () => void reloader.pull(source);
  if (hangup.early) hangup.answer();
  await signalled;
  hangup.answer = () => undefined;
  unfollow();
  await source.close();
  const graceMs = reloader.config.shutdownTimeoutMs;
  say(
    `shutting down: no new connections; in-flight requests get ${graceMs} ms (shutdownTimeoutMs) in each of ${primary.live} workers`,
  );
  await primary.stop(graceMs);
  say('all workers stopped');
  process.exit(process.exitCode ?? 0);
}
