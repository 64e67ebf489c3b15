/**
 * `etcd://HOST:PORT[,HOST:PORT…]/KEY`: where a gateway config kept in etcd
 * lives, as `--config` and `gw proxy config put|get` take it. Several
 * endpoints of one etcd cluster may be listed, comma-separated; a call goes to
 * one of them and, when it cannot be reached, to the next. The key is the
 * URL's path as written, with its leading slash (`etcd://127.0.0.1:2379/gw/config`
 * is key `/gw/config`, as `etcdctl get /gw/config` names it). Plain HTTP only:
 * etcd with TLS or authentication is not supported yet. Pure.
 */
import { invalidArgument } from '../../shared/errors.js';
import { formatHostPort } from '../../shared/format.js';
import { parseHostPort } from './parse-host-port.js';

export interface EtcdConfigSpec {
  /** Client URLs for the etcd client: `http://127.0.0.1:2379`. */
  readonly endpoints: readonly string[];
  /** The key holding the config text: `/gw/config`. */
  readonly key: string;
  /** The spec, normalised, for messages: `etcd://127.0.0.1:2379/gw/config`. */
  readonly label: string;
}

/** What `--config` and `gw proxy config put|get` accept, for messages. */
export const ETCD_CONFIG_FORM =
  'etcd://HOST:PORT/KEY, or etcd://HOST:PORT,HOST:PORT/KEY for a cluster';

/** True when `spec` names an etcd key rather than a file (it starts with `etcd://`). */
export function isEtcdConfigSpec(spec: string): boolean {
  return /^etcd:\/\//i.test(spec);
}

/** Parses `etcd://HOST:PORT[,HOST:PORT…]/KEY`, or says what is wrong with it. */
export function parseEtcdConfigSpec(spec: string): EtcdConfigSpec | string {
  if (!isEtcdConfigSpec(spec)) return 'not an etcd URL: it starts with etcd://';
  const rest = spec.slice('etcd://'.length);
  const slash = rest.indexOf('/');
  if (slash < 0 || slash === rest.length - 1) return 'missing the key after the address';
  const key = rest.slice(slash);
  if (/\s/.test(key)) return `the key ${JSON.stringify(key)} contains whitespace`;
  const hosts: string[] = [];
  for (const part of rest.slice(0, slash).split(',')) {
    if (part === '') return 'missing HOST:PORT before the key';
    const parsed = parseHostPort(part, { allowPortZero: false });
    if (!parsed.ok) return `${JSON.stringify(part)}: ${parsed.problem}`;
    const host = formatHostPort(parsed.value.host, parsed.value.port);
    if (!hosts.includes(host)) hosts.push(host);
  }
  return {
    endpoints: hosts.map((h) => `http://${h}`),
    key,
    label: `etcd://${hosts.join(',')}${key}`,
  };
}

/** {@link parseEtcdConfigSpec}, throwing GW_ERR_INVALID_ARGUMENT (exit 2) naming `name` (`--config`). */
export function etcdConfigSpec(spec: string, name: string): EtcdConfigSpec {
  const parsed = parseEtcdConfigSpec(spec);
  if (typeof parsed === 'string') {
    throw invalidArgument(name, spec, `${parsed} (allowed: ${ETCD_CONFIG_FORM})`);
  }
  return parsed;
}
