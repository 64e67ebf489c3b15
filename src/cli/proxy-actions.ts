import { configNotes } from '../proxy/config/config-notes.js';
import { loadConfig } from '../proxy/config/load.js';
import { routingTable, routingTableJson } from '../proxy/config/routing-table.js';
import type { ProxyConfig } from '../proxy/config/types.js';
import { startGateway } from '../proxy/gateway.js';
import { BatchedWriter } from '../shared/batched-writer.js';
import { untilSignal } from './commander-setup.js';
import type { ProxyFlags } from './proxy.js';
import { formatHostPort } from '../shared/format.js';

/** `gw proxy`: validate (and with --check stop there), then serve until a signal. */
export async function runProxy(flags: ProxyFlags): Promise<void> {
  const config = await loadConfig(flags.config);
  if (flags.check === true) {
    if (flags.json === true) process.stdout.write(`${JSON.stringify(routingTableJson(config))}\n`);
    else process.stdout.write(`${routingTable(config).join('\n')}\n${config.source}: config OK\n`);
    return;
  }
  await serve(config, flags.quiet === true);
}

/** Runs a gateway for `config` until SIGINT/SIGTERM, then closes it gracefully. */
export async function serve(config: ProxyConfig, quiet: boolean): Promise<void> {
  const log = new BatchedWriter((text) => process.stdout.write(text));
  const gateway = await startGateway(config, { accessLog: quiet ? () => undefined : log.line });
  // Listening for signals before saying anything: a signal sent on seeing the lines below is caught.
  const signalled = untilSignal();
  for (const listener of gateway.listeners) {
    const spec = config.listeners.find((l) => l.name === listener.name);
    process.stdout.write(
      `listener ${listener.name} (${spec?.protocol ?? '?'}) on ${formatHostPort(listener.host, listener.port)}\n`,
    );
  }
  for (const note of configNotes(config)) process.stdout.write(`${note}\n`);
  // Whatever way the process ends (a second Ctrl-C exits at once), buffered lines are written first.
  process.on('exit', () => log.flush());
  await signalled;
  // The lines of requests that ended before the signal come before the shutdown line.
  log.flush();
  process.stdout.write('shutting down: no new connections; in-flight requests get 5 s\n');
  // Graceful first; whatever is still open after the grace period (a peer that never
  // closes its keep-alive connection, say) must not keep the process alive.
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, 7000).unref());
  await Promise.race([gateway.close(5000), deadline]);
  log.flush();
  process.exit(process.exitCode ?? 0);
}
