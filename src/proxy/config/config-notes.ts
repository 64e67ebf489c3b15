/**
 * Facts about a valid config worth one line when the gateway starts: what a
 * default chose that the config does not show. Pure.
 */
import type { ProxyConfig } from './types.js';

/**
 * One line per upstream that hashes without a `hashKey`: it hashes on the
 * client's IP address, so every request of one client (or of everyone behind
 * one NAT or proxy) goes to the same target.
 */
export function configNotes(config: ProxyConfig): string[] {
  return [...config.upstreams.values()]
    .filter((u) => u.balance === 'hash' && u.hashKeyDefaulted === true)
    .map(
      (u) =>
        `note: upstream ${u.name} has balance: hash without hashKey, so it hashes on client-ip (one client, or everyone behind one NAT, always reaches the same target); set hashKey: header:NAME, cookie:NAME or path to choose`,
    );
}
