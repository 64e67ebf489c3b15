import { describeBackendEvent, type BackendEvent } from '../backend/backend-event.js';
import { NAME_PATTERN, type BackendKind } from '../backend/backend-options.js';
import { startBackend } from '../backend/start-backend.js';
import type { RunningBackend } from '../backend/backend-options.js';
import { invalidArgument } from '../shared/errors.js';
import { formatHostPort } from '../shared/format.js';
import { parseEtcdUrl, type EtcdUrl } from '../proxy/discovery/etcd-url.js';
import type { BackendFlags } from './backend.js';
import { untilSignal } from './commander-setup.js';
import { parsePort } from './parse-port.js';

/*
 * The work behind `gw backend KIND`, imported only when it runs, so that
 * `gw backend --help` loads nothing but commander.
 */

/** Runs one backend until SIGINT or SIGTERM, printing its events. */
export async function runBackend(kind: BackendKind, flags: BackendFlags): Promise<void> {
  const json = flags.json === true;
  const quiet = flags.quiet === true;
  const print = (event: BackendEvent): void => {
    if (quiet && event.type !== 'listening') return;
    process.stdout.write(`${json ? JSON.stringify(event) : describeBackendEvent(event)}\n`);
  };
  const options = {
    host: flags.host,
    port: parsePort('--port', flags.port, { allowZero: true }),
    ...(flags.name === undefined ? {} : { name: parseName(flags.name) }),
    latencyMs: parseLatency(flags.latencyMs),
    failRate: parseFailRate(flags.failRate),
    banner: flags.banner === true,
    failHealth: flags.failHealth === true,
    onEvent: print,
  };
  // Listen for signals before the listening line is printed: a supervisor may stop us at once.
  const stopped = untilSignal();
  const etcd = flags.register === undefined ? undefined : parseRegister(flags.register);
  const backend = await startBackend(kind, options);
  const registration = etcd === undefined ? undefined : await register(etcd, backend, json);
  await stopped;
  // Deregister first: the gateway stops sending new work before the port closes.
  await registration?.close();
  await backend.close();
}

/** `--register etcd://HOST:PORT/PREFIX`: the backend's address under PREFIX+name, with a lease. */
function parseRegister(url: string): EtcdUrl {
  const parsed = parseEtcdUrl(url);
  if (typeof parsed === 'string') throw invalidArgument('--register', url, parsed);
  return parsed;
}

async function register(parsed: EtcdUrl, backend: RunningBackend, json: boolean) {
  const { registerInEtcd } = await import('../proxy/discovery/register.js');
  // A wildcard listen address is no address to connect to: register loopback instead.
  const host = ['0.0.0.0', '::', ''].includes(backend.host) ? '127.0.0.1' : backend.host;
  const address = formatHostPort(host, backend.port);
  return registerInEtcd({
    endpoint: parsed.endpoint,
    prefix: parsed.prefix,
    name: backend.name,
    address,
    log: (line) => {
      const text = json
        ? JSON.stringify({ type: 'registry', backend: backend.name, message: line })
        : `${backend.name}: ${line}`;
      process.stdout.write(`${text}\n`);
    },
  });
}

function parseName(value: string): string {
  if (!NAME_PATTERN.test(value)) {
    throw invalidArgument('--name', value, 'expected printable ASCII (it goes in headers)');
  }
  return value;
}

function parseLatency(value: string): number {
  const ms = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(ms)) {
    throw invalidArgument(
      '--latency-ms',
      value,
      'expected a whole number of milliseconds, 0 or more',
    );
  }
  return ms;
}

function parseFailRate(value: string): number {
  const rate = Number(value);
  if (value.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw invalidArgument('--fail-rate', value, 'expected a share between 0 and 1, such as 0.1');
  }
  return rate;
}
