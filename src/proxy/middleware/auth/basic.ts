import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Clock } from '../../../shared/clock.js';
import { unauthenticated } from '../../../shared/errors.js';
import type { Exchange } from '../../pipeline/types.js';
import type { ConsumerConfig } from './consumers.js';
import { authorization } from './credentials.js';
import { TtlCache } from './ttl-cache.js';

/** How long a checked username and password skip bcrypt, and how many are remembered. */
export const BASIC_CACHE = { ttlMs: 60_000, maxEntries: 10_000 } as const;

/**
 * bcrypt compares run by this process, over every route's `basic`: what
 * failed logins cost the gateway. Read by tests (a client out of failures
 * must cost none); one integer add per compare, next to ~70 ms of bcrypt.
 */
export const basicStats = { bcryptCompares: 0 };

/**
 * Compared against when the username is unknown, so an unknown user costs a
 * bcrypt (cost 10) too and timing does not tell which usernames exist.
 */
const DUMMY_HASH = '$2b$10$GTis.c0nZ7vBD9tnhykki.NYb6SgzPEBYPFxfUokphFqip.qaZYRC';

/**
 * `basic`: `Authorization: Basic base64(user:password)`, the password checked
 * against the consumer's bcrypt hash (bcryptjs). A success is remembered for
 * {@link BASIC_CACHE}.ttlMs by the SHA-256 of `user:password` (never the
 * password itself), so a client's next requests do not pay bcrypt again.
 * Failures are never cached. Concurrent checks of the same credentials
 * share one bcrypt. A password over 72 bytes is refused: bcrypt reads only
 * the first 72, so any tail would pass. Returns the consumer's name or throws 401.
 */
export function basicAuthenticator(
  consumers: readonly ConsumerConfig[],
  clock: Clock,
): { check: (ex: Exchange) => string | Promise<string>; cache: TtlCache<string> } {
  const byUser = new Map<string, { name: string; hash: string }>();
  for (const c of consumers)
    if (c.basic !== undefined)
      byUser.set(c.basic.username, { name: c.name, hash: c.basic.passwordHash });
  const cache = new TtlCache<string>(clock, BASIC_CACHE.maxEntries);
  // Bounded by the requests in flight: each entry goes when its bcrypt ends.
  const pending = new Map<string, Promise<string>>();
  const check = (ex: Exchange): string | Promise<string> => {
    const encoded = authorization(ex, 'Basic');
    if (encoded === undefined) throw unauthenticated('no Basic credentials');
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw unauthenticated('malformed Basic credentials');
    const digest = createHash('sha256').update(decoded, 'utf8').digest('hex');
    const cached = cache.get(digest) ?? pending.get(digest);
    if (cached !== undefined) return cached;
    const password = decoded.slice(colon + 1);
    if (Buffer.byteLength(password) > 72) throw unauthenticated('password over 72 bytes');
    const user = byUser.get(decoded.slice(0, colon));
    basicStats.bcryptCompares++;
    const checking = bcrypt
      .compare(password, user?.hash ?? DUMMY_HASH)
      .then((ok: boolean) => {
        if (!ok || user === undefined) throw unauthenticated('wrong username or password');
        cache.set(digest, user.name, BASIC_CACHE.ttlMs);
        return user.name;
      })
      .finally(() => pending.delete(digest));
    pending.set(digest, checking);
    return checking;
  };
  return { check, cache };
}
