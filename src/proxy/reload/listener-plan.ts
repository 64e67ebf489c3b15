/**
 * What a reload does to the listeners, decided before anything is touched:
 * a listener whose name, protocol and address are unchanged keeps its
 * socket; one with a new address is opened there before its old socket
 * closes; a new one is opened; one the config dropped is closed. Changes a
 * live socket cannot take are config issues, and reject the reload whole.
 * Pure.
 */
import type { ConfigIssue } from '../../shared/errors.js';
import { formatHostPort } from '../../shared/format.js';
import type { HostPort, ListenerConfig } from '../config/types.js';

/** A listener of the running config, as the planner sees it. */
export interface RunningEntry<L> {
  readonly config: ListenerConfig;
  readonly listener: L;
}

export interface ListenerPlan<L> {
  /** Same name, protocol and address: the socket stays, the settings change. */
  readonly keep: readonly { readonly entry: RunningEntry<L>; readonly config: ListenerConfig }[];
  /** To bind before the new config takes over; `replaces` is the moved listener's old socket. */
  readonly open: readonly {
    readonly config: ListenerConfig;
    readonly replaces: RunningEntry<L> | undefined;
  }[];
  /** Dropped by the new config: closed gracefully once it took over. */
  readonly removed: readonly RunningEntry<L>[];
  /** Changes a running listener cannot make; any rejects the reload. */
  readonly issues: readonly ConfigIssue[];
}

/** Plans the listener changes from the running listeners to `next` (a validated config's). */
export function planListeners<L>(
  running: readonly RunningEntry<L>[],
  next: readonly ListenerConfig[],
): ListenerPlan<L> {
  const byName = new Map(running.map((entry) => [entry.config.name, entry]));
  const keep: { entry: RunningEntry<L>; config: ListenerConfig }[] = [];
  const open: { config: ListenerConfig; replaces: RunningEntry<L> | undefined }[] = [];
  const issues: ConfigIssue[] = [];
  next.forEach((config, i) => {
    const entry = byName.get(config.name);
    const sameAddress = entry !== undefined && sameHostPort(entry.config.listen, config.listen);
    if (entry === undefined || !sameAddress) {
      const holder = holderOf(running, config, entry);
      if (holder !== undefined) issues.push(addressHeld(i, config, holder));
      else open.push({ config, replaces: entry });
      return;
    }
    const problem = liveProblem(entry.config, config, i);
    if (problem !== undefined) issues.push(problem);
    else keep.push({ entry, config });
  });
  const names = new Set(next.map((l) => l.name));
  const removed = running.filter((entry) => !names.has(entry.config.name));
  return { keep, open, removed, issues };
}

function sameHostPort(a: HostPort, b: HostPort): boolean {
  return a.host === b.host && a.port === b.port;
}

/**
 * The running listener (other than `self`) whose socket holds the address
 * `config` wants: it is still open when the new one binds. Port 0 is never
 * held (each bind gets its own).
 */
function holderOf<L>(
  running: readonly RunningEntry<L>[],
  config: ListenerConfig,
  self: RunningEntry<L> | undefined,
): RunningEntry<L> | undefined {
  if (config.listen.port === 0) return undefined;
  return running.find((r) => r !== self && sameHostPort(r.config.listen, config.listen));
}

function addressHeld<L>(i: number, config: ListenerConfig, holder: RunningEntry<L>): ConfigIssue {
  const address = formatHostPort(config.listen.host, config.listen.port);
  return {
    kind: 'invalid',
    path: `listeners[${i}].listen`,
    problem: `${address} is held by listener ${holder.config.name} (${holder.config.protocol}) of the running config, which closes only after the new config is in force`,
    allowed:
      'a free address; to keep an address, keep its listener’s name and protocol; or restart gw',
  };
}

/** Why `next` cannot be taken by the running listener `was` on its socket, or undefined. */
function liveProblem(
  was: ListenerConfig,
  next: ListenerConfig,
  i: number,
): ConfigIssue | undefined {
  if (was.protocol !== next.protocol) {
    return {
      kind: 'invalid',
      path: `listeners[${i}].protocol`,
      problem: `listener ${next.name} runs ${was.protocol} on this address: its socket is kept on reload, so its protocol cannot change`,
      got: next.protocol,
      allowed: `${was.protocol}; or a new address (opened before the old one closes); or restart gw`,
    };
  }
  const tlsWas = was.protocol !== 'tcp' && was.tls !== undefined;
  const tlsNext = next.protocol !== 'tcp' && next.tls !== undefined;
  if (tlsWas === tlsNext) return undefined;
  return {
    kind: 'invalid',
    path: `listeners[${i}].tls`,
    problem: `listener ${next.name} ${tlsWas ? 'speaks' : 'does not speak'} TLS on its running socket: turning TLS ${tlsNext ? 'on' : 'off'} needs a new socket`,
    allowed: `a new address for the listener (opened before the old one closes); or restart gw; certificates and keys may change`,
  };
}
