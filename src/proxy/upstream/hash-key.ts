import type { HashKey } from '../config/types.js';

/** What a hash key may be taken from. */
export interface KeySource {
  readonly clientIp: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * Extracts the configured hash key from a request, or undefined when the
 * request does not carry it (then the balancer falls back to rotation).
 */
export function hashKeyOf(hashKey: HashKey, source: KeySource): string | undefined {
  switch (hashKey.kind) {
    case 'client-ip':
      return source.clientIp;
    case 'path':
      return source.path;
    case 'header': {
      const value = source.headers[hashKey.name];
      return Array.isArray(value) ? value[0] : value;
    }
    case 'cookie':
      return cookieValue(source.headers.cookie, hashKey.name);
  }
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4 `name=value; ...`). */
export function cookieValue(
  header: string | string[] | undefined,
  name: string,
): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join('; ') : header;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
