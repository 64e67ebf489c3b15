import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import {
  createLocalJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import type { Clock } from '../../../shared/clock.js';
import { configError, unauthenticated } from '../../../shared/errors.js';
import type { Exchange } from '../../pipeline/types.js';
import { authorization, isHeaderSafeName } from './credentials.js';
import type { JwtSettings } from './schema.js';
import { TtlCache } from './ttl-cache.js';

/** A verified token is trusted again, without verifying, until min(its exp, this), bounded in number. */
export const JWT_CACHE = { ttlMs: 60_000, maxEntries: 10_000 } as const;
/** Default tolerance for exp and nbf. */
export const DEFAULT_CLOCK_SKEW_SEC = 30;

type VerifyKey = Uint8Array | KeyObject | JWTVerifyGetKey;

/**
 * A path relative to the config file's directory (as TLS files are, see
 * config/resolve.ts); a config not read from a file keeps it relative to the
 * working directory.
 */
function fromConfigDir(path: string, source: string): string {
  const fromFile = !source.startsWith('<') && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source);
  return isAbsolute(path) || !fromFile ? path : join(dirname(source), path);
}

/**
 * The verification key, read once when the config is loaded (a reload reads
 * the files again). A file that is missing or holds no key is a config error.
 */
export function loadJwtKey(settings: JwtSettings, source: string, where: string): VerifyKey {
  if (settings.secret !== undefined) return new TextEncoder().encode(settings.secret);
  const field = settings.publicKeyFile !== undefined ? 'publicKeyFile' : 'jwksFile';
  const path = fromConfigDir(settings.publicKeyFile ?? settings.jwksFile ?? '', source);
  try {
    const text = readFileSync(path, 'utf8');
    if (field === 'publicKeyFile') {
      const key = createPublicKey(text);
      if (key.type !== 'public') throw new Error('not a public key');
      return key;
    }
    return createLocalJWKSet(JSON.parse(text) as JSONWebKeySet);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw configError(source, [
      {
        kind: 'file',
        path: `${where}: auth.${field}`,
        problem: `cannot use ${path}: ${reason}`,
        allowed:
          field === 'publicKeyFile'
            ? "a PEM public key or certificate; relative paths start at the config file's directory"
            : "a JWKS JSON file ({ keys: [...] }); relative paths start at the config file's directory",
      },
    ]);
  }
}

/**
 * `jwt`: `Authorization: Bearer <token>` verified with jose's `jwtVerify`
 * against the algorithm whitelist (so `alg: none` and an HS256 token signed
 * with an RSA public key are refused), `exp`/`nbf` with `clockSkewSec` of
 * tolerance, `iss` and `aud` when set; with a JWKS, a `kid` it does not hold
 * is refused. A token must carry `exp` unless `requireExp: false`: `exp` is
 * optional in JWT (RFC 7519 §4.1.4), but a token without one is good for
 * ever, so a leaked one could never be made to lapse short of changing the
 * key. The consumer is the `consumerClaim` (default `sub`), which must be a
 * header-safe string. Verified tokens are remembered by their SHA-256
 * until min(exp, {@link JWT_CACHE}.ttlMs). Returns the consumer or throws 401.
 */
export function jwtAuthenticator(
  settings: JwtSettings,
  key: VerifyKey,
  clock: Clock,
  now: () => number = Date.now,
): { check: (ex: Exchange) => string | Promise<string>; cache: TtlCache<string> } {
  const skewSec = settings.clockSkewSec ?? DEFAULT_CLOCK_SKEW_SEC;
  const claim = settings.consumerClaim ?? 'sub';
  const base: JWTVerifyOptions = {
    algorithms: [...settings.algorithms],
    clockTolerance: skewSec,
    ...(settings.requireExp === false ? {} : { requiredClaims: ['exp'] }),
    ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
    ...(settings.audience === undefined ? {} : { audience: settings.audience }),
  };
  const cache = new TtlCache<string>(clock, JWT_CACHE.maxEntries);
  /** Tokens up to this long are cache keys as they are (at most maxEntries × 4 KiB in all). */
  const MAX_TOKEN_KEY_CHARS = 4096;
  const verify = (token: string) =>
    typeof key === 'function'
      ? jwtVerify(token, key, { ...base, currentDate: new Date(now()) })
      : jwtVerify(token, key, { ...base, currentDate: new Date(now()) });
  const check = (ex: Exchange): string | Promise<string> => {
    const token = authorization(ex, 'Bearer');
    if (token === undefined) throw unauthenticated('no bearer token');
    // The token itself is the cache key (a Map hashes a string far faster than SHA-256 does);
    // an unusually long one is keyed by its digest, so the cache's memory stays bounded.
    const digest =
      token.length <= MAX_TOKEN_KEY_CHARS
        ? token
        : createHash('sha256').update(token, 'utf8').digest('hex');
    const cached = cache.get(digest);
    if (cached !== undefined) return cached;
    return verify(token).then(
      ({ payload }) => {
        const consumer = payload[claim];
        if (typeof consumer !== 'string' || !isHeaderSafeName(consumer))
          throw unauthenticated(`token has no usable ${claim} claim`);
        const untilExpMs =
          payload.exp === undefined ? JWT_CACHE.ttlMs : (payload.exp + skewSec) * 1000 - now();
        cache.set(digest, consumer, Math.min(JWT_CACHE.ttlMs, untilExpMs));
        return consumer;
      },
      (err: unknown) => {
        throw unauthenticated(`invalid token (${reasonOf(err)})`);
      },
    );
  };
  return { check, cache };
}

/** Why jose refused a token, in words that name no part of it. */
function reasonOf(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed && err.reason === 'missing')
    return `no ${err.claim} claim`;
  if (err instanceof errors.JWTClaimValidationFailed) return `${err.claim} claim check failed`;
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key with its kid';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof errors.JOSEError) return err.code;
  return 'malformed';
}
