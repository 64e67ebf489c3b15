/** Keys and tokens for the auth tests, made fresh per run (nothing secret is checked in). */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { exportJWK, SignJWT, type JWTPayload } from 'jose';

export interface TestKeys {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly publicPem: string;
  /** Another key pair: what a forger holds. */
  readonly otherPrivate: KeyObject;
  /** A JWKS holding the public key under kid `k1`. */
  readonly jwks: { keys: object[] };
}

export async function makeKeys(): Promise<TestKeys> {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = await exportJWK(pair.publicKey);
  return {
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    otherPrivate: other.privateKey,
    jwks: { keys: [{ ...jwk, kid: 'k1', alg: 'RS256', use: 'sig' }] },
  };
}

/** An RS256 token; `iat` now, `exp` in an hour unless the claims say otherwise. */
export function rs256(
  key: KeyObject,
  claims: JWTPayload,
  header: { kid?: string } = {},
  nowSec = Math.floor(Date.now() / 1000),
): Promise<string> {
  return new SignJWT({ exp: nowSec + 3600, ...claims })
    .setProtectedHeader({ alg: 'RS256', ...header })
    .setIssuedAt(nowSec)
    .sign(key);
}

/** An RS256 token without `exp`: good for ever, which gw refuses unless `requireExp: false`. */
export function rs256WithoutExp(key: KeyObject, claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256' }).setIssuedAt().sign(key);
}

const b64 = (value: object | string): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** `alg: none`: an unsigned token, as an attacker writes it. */
export function unsigned(claims: JWTPayload): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

/** Algorithm confusion: HS256 keyed with the RSA public key's PEM text. */
export function hs256WithPem(pem: string, claims: JWTPayload): string {
  const signing = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  const mac = createHmac('sha256', pem).update(signing).digest('base64url');
  return `${signing}.${mac}`;
}
