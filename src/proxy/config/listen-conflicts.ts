import { parseHostPort } from './parse-host-port.js';
import { fields, text } from './raw-fields.js';
import type { Add } from './cross-checks.js';

/**
 * Reports each listener whose address collides with an earlier one's when
 * bound. Tolerant like the other cross-checks: a listener without a valid
 * `listen` is the schema's to report. Pure.
 */
export function listenConflicts(listeners: readonly unknown[], add: Add): void {
  const ports = new Map<number, PortListeners>();
  listeners.forEach((listener, i) => {
    const listen = text(fields(listener)?.listen);
    const parsed =
      listen === undefined ? undefined : parseHostPort(listen, { allowPortZero: true });
    // Port 0 never collides: each bind gets its own free port.
    if (parsed?.ok !== true || parsed.value.port === 0) return;
    const { host, port } = parsed.value;
    let earlier = ports.get(port);
    if (earlier === undefined) ports.set(port, (earlier = { hosts: new Map() }));
    const clash = firstClash(host, earlier);
    if (clash !== undefined) {
      const problem =
        clash.kind === 'same'
          ? `the same address as listeners[${clash.index}]`
          : `overlaps listeners[${clash.index}] on port ${port}: ${clash.kind} covers ${clash.kind === '::' ? 'every address' : 'every IPv4 address'}`;
      add(['listeners', i, 'listen'], problem, {
        kind: clash.kind === 'same' ? 'duplicate' : 'conflict',
        allowed: 'an address and port no other listener uses',
      });
    }
    if (!earlier.hosts.has(host)) earlier.hosts.set(host, i);
    if (isIpv4(host) && host !== '0.0.0.0') earlier.ipv4 ??= i;
    earlier.any ??= i;
  });
}

/** The listeners seen so far on one port: the first index of each host, of any IPv4 host, of any. */
interface PortListeners {
  readonly hosts: Map<string, number>;
  ipv4?: number;
  any?: number;
}

/**
 * The earliest listener on the same port that binding `host` would collide
 * with: the same address, or a wildcard that covers the other (on Linux,
 * binding 127.0.0.1:80 after 0.0.0.0:80 fails with EADDRINUSE; Node binds
 * `::` dual-stack, covering IPv4 too). Indexed by port and host, so a config
 * with 100,000 listeners is checked in linear time.
 */
function firstClash(
  host: string,
  earlier: PortListeners,
): { index: number; kind: 'same' | '::' | '0.0.0.0' } | undefined {
  const candidates: { index: number | undefined; kind: 'same' | '::' | '0.0.0.0' }[] = [
    { index: earlier.hosts.get(host), kind: 'same' },
  ];
  if (host === '::') candidates.push({ index: earlier.any, kind: '::' });
  else candidates.push({ index: earlier.hosts.get('::'), kind: '::' });
  if (host === '0.0.0.0') candidates.push({ index: earlier.ipv4, kind: '0.0.0.0' });
  else if (isIpv4(host)) candidates.push({ index: earlier.hosts.get('0.0.0.0'), kind: '0.0.0.0' });
  let first: { index: number; kind: 'same' | '::' | '0.0.0.0' } | undefined;
  for (const { index, kind } of candidates) {
    // On a tie the same address wins: it is listed first.
    if (index !== undefined && (first === undefined || index < first.index))
      first = { index, kind };
  }
  return first;
}

function isIpv4(host: string): boolean {
  return /^[\d.]+$/.test(host);
}
