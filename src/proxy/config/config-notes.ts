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
    )
    .concat(plainKeyNotes(config));
}

/**
 * One line per consumer whose API keys are written in plain text: anyone who
 * reads the config can use them. The note never shows a key.
 */
function plainKeyNotes(config: ProxyConfig): string[] {
  return config.consumers
    .filter((c) => c.plainApiKeys > 0)
    .map(
      (c) =>
        `note: consumer ${c.name} has ${c.plainApiKeys} API key(s) in plain text; anyone who reads the config can use them: write "sha256:" and the key's SHA-256 instead (printf %s KEY | sha256sum)`,
    );
}
