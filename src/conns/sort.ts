/** The table's order: protocol, state in lifecycle order, local then remote endpoint. Pure. */
import { parseIp } from './ip-address.js';
import { stateRank } from './states.js';
import type { ConnSocket } from './types.js';

/** A string that sorts addresses numerically: IPv4 before IPv6, then byte by byte. */
function addressKey(cache: Map<string, string>, address: string): string {
  let key = cache.get(address);
  if (key === undefined) {
    const ip = parseIp(address);
    key =
      ip === undefined
        ? `9${address}`
        : `${ip.family}${Array.from(ip.bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    cache.set(address, key);
  }
  return key;
}

/** A copy of `sockets` in table order. */
export function sortSockets(sockets: readonly ConnSocket[]): ConnSocket[] {
  const cache = new Map<string, string>();
  const keyed = sockets.map((s) => ({
    s,
    key: [
      s.proto,
      String(stateRank(s.state)).padStart(2, '0'),
      addressKey(cache, s.local.address),
      String(s.local.port).padStart(5, '0'),
      addressKey(cache, s.remote.address),
      String(s.remote.port).padStart(5, '0'),
    ].join(' '),
  }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.s);
}
