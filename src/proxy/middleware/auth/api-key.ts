import { createHash, timingSafeEqual } from 'node:crypto';
import { unauthenticated } from '../../../shared/errors.js';
import type { Exchange } from '../../pipeline/types.js';
import type { ConsumerConfig } from './consumers.js';
import { queryParam } from './credentials.js';
import type { ApiKeySettings } from './schema.js';

/**
 * `api-key`: the key from a header (default `x-api-key`) or, when `query` is
 * set, a query parameter. Keys are known only as SHA-256 digests: the
 * presented key is hashed, looked up by digest, and the digests compared with
 * `timingSafeEqual` (a lookup by digest reveals nothing about the key).
 * Returns the consumer's name or throws 401.
 */
export function apiKeyAuthenticator(
  settings: ApiKeySettings,
  consumers: readonly ConsumerConfig[],
): (ex: Exchange) => string {
  const byDigest = new Map<string, { name: string; digest: Buffer }>();
  for (const c of consumers)
    for (const hex of c.apiKeyDigests)
      byDigest.set(hex, { name: c.name, digest: Buffer.from(hex, 'hex') });
  const header = settings.header ?? 'x-api-key';
  const query = settings.query;
  return (ex) => {
    const key = ex.header(header) ?? (query === undefined ? undefined : queryParam(ex.url, query));
    if (key === undefined || key === '') throw unauthenticated('no API key');
    const digest = createHash('sha256').update(key, 'utf8').digest();
    const found = byDigest.get(digest.toString('hex'));
    if (found === undefined || !timingSafeEqual(found.digest, digest))
      throw unauthenticated('unknown API key');
    return found.name;
  };
}
