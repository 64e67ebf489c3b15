import type { HashKey } from '../config/types.js';

/**
 * What a hash key may be taken from: every exchange offers this (a TCP
 * session has no path or headers, and the config allows it only `client-ip`).
 */
export interface KeySource {
  readonly clientIp: string;
  /** The normalised path without the query. */
  readonly path: string;
  /** A request header by lower-case name (repeated ones joined with `, `). */
  header(name: string): string | undefined;
}

/**
 * Extracts the configured hash key from an exchange, or undefined when it
 * does not carry it (then the balancer falls back to rotation).
 */
export function hashKeyOf(hashKey: HashKey, source: KeySource): string | undefined {
  switch (hashKey.kind) {
    case 'client-ip':
      return source.clientIp;
    case 'path':
      return source.path;
    case 'header':
      return source.header(hashKey.name);
    case 'cookie':
      return cookieValue(source.header('cookie'), hashKey.name);
  }
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4 `name=value; ...`). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
