/**
 * Endpoints as text, the way ss prints them: `127.0.0.1:8080`,
 * `[::1]:8080`, `[::ffff:127.0.0.1]:8080`, and `*` for port 0. Pure.
 */
import type { ConnSocket, Endpoint } from './types.js';

/** `addr:port` with IPv6 in brackets and port 0 as `*`. */
export function endpointText(e: Endpoint): string {
  const port = e.port === 0 ? '*' : String(e.port);
  return e.address.includes(':') ? `[${e.address}]:${port}` : `${e.address}:${port}`;
}

/**
 * The peer column: as {@link endpointText}, except that the unspecified
 * peer of a socket bound to an IPv4-mapped address prints as `*:*` — such a
 * socket takes IPv4 and ss, which knows it is not v6-only, writes `*`.
 */
export function remoteText(s: ConnSocket): string {
  if (s.remote.address === '::' && s.local.address.startsWith('::ffff:')) {
    return s.remote.port === 0 ? '*:*' : `*:${s.remote.port}`;
  }
  return endpointText(s.remote);
}

/** The owner as netstat's PID/Program name column writes it: `1234/node`; several joined by commas. */
export function ownerText(s: ConnSocket): string {
  if (s.owners === undefined || s.owners.length === 0) return '-';
  const seen = new Set<number>();
  const parts: string[] = [];
  for (const o of s.owners) {
    if (seen.has(o.pid)) continue;
    seen.add(o.pid);
    parts.push(`${o.pid}/${o.process}`);
  }
  return parts.join(',');
}

/**
 * The peer as the summaries count it: a client's address when this host is
 * the server (`listeningPorts` holds the local port; each client connection
 * has its own port), the whole endpoint when this host is the client (the
 * service it talks to).
 */
export function peerText(s: ConnSocket, listeningPorts: ReadonlySet<number>): string {
  return listeningPorts.has(s.local.port) ? s.remote.address : endpointText(s.remote);
}
