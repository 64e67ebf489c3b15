/**
 * One `gw proxy --workers N` worker: serves the listeners of the revision
 * its primary sends, takes later revisions as the primary sends them, and
 * takes every upstream's targets and health verdicts from the primary
 * instead of probing or watching discovery itself (one prober, one truth).
 * Passive ejection and circuit breakers stay its own: they judge the
 * attempts this worker made.
 */
import { loadConfigText } from '../config/load.js';
import type { ProxyConfig } from '../config/types.js';
import { startGateway, type Gateway } from '../gateway.js';
import { describeError } from '../reload/reloader.js';
import { TargetRegistry } from '../upstream/target-registry.js';
import { BatchedWriter } from '../../shared/batched-writer.js';
import { toGwError } from '../../shared/errors.js';
import { toWorker, type FromWorker, type WorkerError } from './messages.js';

/** Beyond the grace period, what the last closes may take before the worker exits anyway. */
const EXIT_MARGIN_MS = 2000;

/** A worker's state between messages. */
interface Serving {
  gateway: Gateway;
  revision: string;
  config: ProxyConfig;
}

function send(message: FromWorker): void {
  process.send?.(message);
}

/** An error as the primary gets it. */
function workerError(err: unknown): WorkerError {
  const e = toGwError(err);
  return {
    code: e.code,
    message: describeError(e),
    ...(e.hint === undefined ? {} : { hint: e.hint }),
    exitCode: e.exitCode,
  };
}

/** The first config could not start: told to the primary, which reports it and stops. */
function fail(revision: string, err: unknown): void {
  const e = workerError(err);
  const message: FromWorker = { type: 'failed', revision, ...e };
  // Exit once the message is written (process.send is asynchronous).
  process.send?.(message, undefined, {}, () => process.exit(e.exitCode));
}

/**
 * Runs until the primary says stop (or goes away), or a signal comes: the
 * first signal drains as the primary would ask; a second exits at once.
 */
export async function runWorker(quiet: boolean): Promise<void> {
  const id = process.env.GW_WORKER_ID ?? '?';
  const log = new BatchedWriter((text) => process.stdout.write(text));
  process.on('exit', () => log.flush());
  // Lines about state (ejections, breakers) name the worker; access-log lines are as always.
  const stateLog = (line: string): void => log.line(`worker ${id}: ${line}`);
  const registry = new TargetRegistry(stateLog, { controlled: true });
  let serving: Serving | undefined;
  let stopping: Promise<void> | undefined;
  /** Revisions are applied one after another, in the order they came. */
  let queue: Promise<void> = Promise.resolve();

  const stop = (graceMs: number): Promise<void> => {
    stopping ??= (async () => {
      await queue;
      log.flush();
      const deadline = new Promise<void>((resolve) =>
        setTimeout(resolve, graceMs + EXIT_MARGIN_MS).unref(),
      );
      if (serving !== undefined) await Promise.race([serving.gateway.close(graceMs), deadline]);
      log.flush();
      process.exit(0);
    })();
    return stopping;
  };

  const take = async (revision: string, body: string, source: string): Promise<void> => {
    if (stopping !== undefined) return;
    let config: ProxyConfig;
    try {
      config = await loadConfigText(body, source);
    } catch (err) {
      if (serving === undefined) {
        fail(revision, err);
        return;
      }
      send({ type: 'rejected', revision, ...workerError(err) });
      return;
    }
    if (serving === undefined) {
      await start(config, revision);
      return;
    }
    if (serving.revision === revision) {
      send({ type: 'applied', revision, changes: [] });
      return;
    }
    try {
      const applied = await serving.gateway.apply(config);
      serving = { ...serving, revision, config };
      send({ type: 'applied', revision, changes: applied.listeners });
    } catch (err) {
      send({ type: 'rejected', revision, ...workerError(err) });
    }
  };

  const start = async (config: ProxyConfig, revision: string): Promise<void> => {
    let gateway: Gateway;
    try {
      gateway = await startGateway(config, {
        accessLog: quiet ? () => undefined : log.line,
        registry,
      });
    } catch (err) {
      log.flush();
      fail(revision, err);
      return;
    }
    serving = { gateway, revision, config };
    const listeners = gateway.listeners.map((l) => ({
      name: l.name,
      protocol: l.protocol,
      host: l.host,
      port: l.port,
    }));
    send({ type: 'ready', revision, listeners });
  };

  process.on('message', (value: unknown) => {
    const message = toWorker(value);
    if (message === undefined) return;
    switch (message.type) {
      case 'config': {
        const { revision, body, source } = message;
        queue = queue.then(() => take(revision, body, source));
        return;
      }
      case 'upstreams':
        registry.follow(message.upstreams);
        return;
      case 'stop':
        void stop(message.graceMs);
        return;
    }
  });
  // The primary gone (killed): nobody will send stop, and nobody would restart us.
  process.on('disconnect', () => void stop(serving?.config.shutdownTimeoutMs ?? 5000));
  // Ctrl-C reaches the whole process group: the first drains as stop does, a second ends at once.
  let signals = 0;
  const onSignal = (): void => {
    signals += 1;
    if (signals > 1) process.exit(130);
    void stop(serving?.config.shutdownTimeoutMs ?? 5000);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  // The primary reloads; a hangup of the terminal must not end a worker on its own.
  process.on('SIGHUP', () => undefined);
  send({ type: 'hello' });
  await new Promise<never>(() => undefined);
}
