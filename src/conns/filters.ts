/**
 * Which sockets to show: the `--state`, `--port`, `--sport`, `--dport`,
 * `--local`, `--remote`, `--listen`, `--pid` and `-4`/`-6` filters, parsed
 * from their flag text and combined into one predicate. Pure.
 */
import { invalidArgument } from '../shared/errors.js';
import { cidrContains, parseCidr, type Cidr } from './ip-address.js';
import type { TcpState } from './states.js';
import type { ConnSocket, Family } from './types.js';

/** A port or an inclusive range of ports. */
export interface PortSpan {
  low: number;
  high: number;
}

/** Every condition a socket must meet; an absent field does not filter. */
export interface ConnsFilter {
  states?: ReadonlySet<TcpState>;
  /** Local or remote port. */
  ports?: readonly PortSpan[];
  sports?: readonly PortSpan[];
  dports?: readonly PortSpan[];
  local?: readonly Cidr[];
  remote?: readonly Cidr[];
  /** Listening sockets only: TCP LISTEN, and unconnected UDP sockets (as `ss -l`). */
  listen?: boolean;
  families?: ReadonlySet<Family>;
  /** Sockets held by one of these processes (needs owners resolved). */
  pids?: ReadonlySet<number>;
}

function splitList(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim());
}

function port(flag: string, text: string, whole: string): number {
  const value = Number(text);
  if (!/^\d{1,5}$/.test(text) || value > 65535) {
    throw invalidArgument(
      flag,
      whole,
      'expected ports 0-65535 or ranges like 8000-8100, comma-separated',
    );
  }
  return value;
}

/** Parses `80`, `80,443`, `8000-8100` (repeatable). GW_ERR_INVALID_ARGUMENT (exit 2) otherwise. */
export function parsePorts(flag: string, values: readonly string[]): PortSpan[] {
  return splitList(values).map((part) => {
    const dash = part.indexOf('-');
    if (dash < 0) {
      const p = port(flag, part, part);
      return { low: p, high: p };
    }
    const low = port(flag, part.slice(0, dash), part);
    const high = port(flag, part.slice(dash + 1), part);
    if (low > high)
      throw invalidArgument(flag, part, 'a range goes from the lower port to the higher');
    return { low, high };
  });
}

/** Parses addresses or CIDR blocks (`10.0.0.0/8`, `::1`, `[::1]`), comma-separated or repeated. */
export function parseAddresses(flag: string, values: readonly string[]): Cidr[] {
  return splitList(values).map((part) => {
    const cidr = parseCidr(part);
    if (cidr === undefined) {
      throw invalidArgument(
        flag,
        part,
        'expected an IPv4 or IPv6 address or CIDR block, e.g. 127.0.0.1, 10.0.0.0/8, ::1, fe80::/10',
      );
    }
    return cidr;
  });
}

/** Parses process ids, comma-separated or repeated. */
export function parsePids(values: readonly string[]): Set<number> {
  return new Set(
    splitList(values).map((part) => {
      if (!/^\d{1,10}$/.test(part) || Number(part) < 1) {
        throw invalidArgument('--pid', part, 'expected process ids such as 1234 or 1234,5678');
      }
      return Number(part);
    }),
  );
}

function inSpans(spans: readonly PortSpan[], value: number): boolean {
  return spans.some((s) => value >= s.low && value <= s.high);
}

/** Caches address-in-blocks answers: a table repeats few addresses many times. */
function addressTest(blocks: readonly Cidr[]): (address: string) => boolean {
  const cache = new Map<string, boolean>();
  return (address) => {
    let hit = cache.get(address);
    if (hit === undefined) {
      hit = blocks.some((b) => cidrContains(b, address));
      cache.set(address, hit);
    }
    return hit;
  };
}

function isListening(s: ConnSocket): boolean {
  return s.proto === 'tcp' ? s.state === 'LISTEN' : s.state === 'CLOSE';
}

/** The predicate for `filter`: true for the sockets to show. */
export function socketFilter(filter: ConnsFilter): (s: ConnSocket) => boolean {
  const tests: ((s: ConnSocket) => boolean)[] = [];
  const { states, ports, sports, dports, families, pids } = filter;
  if (states) tests.push((s) => states.has(s.state));
  if (filter.listen === true) tests.push(isListening);
  if (families) tests.push((s) => families.has(s.family));
  if (ports) tests.push((s) => inSpans(ports, s.local.port) || inSpans(ports, s.remote.port));
  if (sports) tests.push((s) => inSpans(sports, s.local.port));
  if (dports) tests.push((s) => inSpans(dports, s.remote.port));
  if (filter.local) {
    const test = addressTest(filter.local);
    tests.push((s) => test(s.local.address));
  }
  if (filter.remote) {
    const test = addressTest(filter.remote);
    tests.push((s) => test(s.remote.address));
  }
  if (pids) tests.push((s) => s.owners?.some((o) => pids.has(o.pid)) === true);
  return (s) => tests.every((test) => test(s));
}
