import { isHttpToken } from './http-token.js';
import type { Parsed } from './parse-host-port.js';
import type { HashKey } from './types.js';

/** What `hashKey` accepts, for messages and help. */
export const HASH_KEY_ALLOWED = 'client-ip, header:NAME, cookie:NAME or path';

/**
 * Parses a `hashKey` setting: `client-ip`, `header:NAME` (the name lower-cased,
 * since header names are case-insensitive, RFC 9110 §5.1), `cookie:NAME` (kept
 * as written: cookie names are case-sensitive, RFC 6265 §4.1.1) or `path`. Pure.
 */
export function parseHashKey(text: string): Parsed<HashKey> {
  if (text === 'client-ip') return { ok: true, value: { kind: 'client-ip' } };
  if (text === 'path') return { ok: true, value: { kind: 'path' } };
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const name = colon < 0 ? '' : text.slice(colon + 1);
  if (kind !== 'header' && kind !== 'cookie') return fail('unknown hash key');
  if (name === '') return fail(`${kind}: needs a name, as in ${kind}:x-user`);
  if (!isHttpToken(name)) return fail(`${JSON.stringify(name)} is not a valid ${kind} name`);
  return kind === 'header'
    ? { ok: true, value: { kind, name: name.toLowerCase() } }
    : { ok: true, value: { kind, name } };
}

/** The inverse of {@link parseHashKey}: `client-ip`, `header:x-user`, `cookie:sid`, `path`. */
export function formatHashKey(key: HashKey): string {
  return key.kind === 'header' || key.kind === 'cookie' ? `${key.kind}:${key.name}` : key.kind;
}

function fail(problem: string): { readonly ok: false; readonly problem: string } {
  return { ok: false, problem };
}
