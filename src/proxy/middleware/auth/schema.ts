import { z } from 'zod';
import { isHttpToken } from '../../config/http-token.js';
import { FAILURE_LIMIT } from './failure-limit.js';

/** The JWT algorithms gw accepts; `none` is never one of them. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export const KEY_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
const ALGORITHMS = [...HMAC_ALGORITHMS, ...KEY_ALGORITHMS] as const;

const allow = z
  .array(z.string().min(1).describe('a consumer name'))
  .min(1)
  .describe('the consumers allowed on the route, such as [alice, bob]')
  .optional();

/**
 * `failureLimit: { rps, burst }`: failed authentications allowed per client
 * address (FAILURE_LIMIT when absent, each field defaulting to it); `false`
 * turns the limit off.
 */
const failureLimit = z
  .union([
    z.literal(false),
    z
      .strictObject({
        rps: z
          .number()
          .min(0.001)
          .max(1e9)
          .describe('failures per second earned back, 0.001 to 1e9')
          .optional(),
        burst: z
          .number()
          .int()
          .min(1)
          .max(1e9)
          .describe('a whole number of failures, 1 to 1e9')
          .optional(),
      })
      .transform((s) => ({
        rps: s.rps ?? FAILURE_LIMIT.rps,
        burst: s.burst ?? FAILURE_LIMIT.burst,
      })),
  ])
  .describe(
    '{ rps, burst }: failed logins allowed per client address (default { rps: 1, burst: 10 }), or false',
  )
  .optional();

/** `forwardCredentials: true` sends the credential on to the target; by default it is removed. */
const forwardCredentials = z
  .boolean()
  .describe('true sends the credential on to the target; false (the default) removes it')
  .optional();

const headerName = z
  .string()
  .refine(isHttpToken, { error: 'not a header name' })
  .transform((name) => name.toLowerCase())
  .describe('a header name such as x-api-key');

const apiKeySchema = z.strictObject({
  type: z.literal('api-key'),
  header: headerName.optional(),
  query: z
    .string()
    .regex(/^[A-Za-z0-9._~-]+$/, 'not a plain query parameter name')
    .describe('a query parameter name such as api_key')
    .optional(),
  allow,
  forwardCredentials,
  failureLimit,
});

const basicSchema = z.strictObject({
  type: z.literal('basic'),
  allow,
  forwardCredentials,
  failureLimit,
});

const jwtSchema = z
  .strictObject({
    type: z.literal('jwt'),
    secret: z
      .string()
      .superRefine((secret, ctx) => {
        // Pointed at, never shown: the value is a secret.
        if (Buffer.byteLength(secret) < 32)
          ctx.addIssue({
            code: 'custom',
            message: 'an HMAC secret must be at least 32 bytes (RFC 7518 §3.2)',
            params: { at: 'key' },
          });
      })
      .optional(),
    publicKeyFile: z
      .string()
      .min(1)
      .describe('the path of a PEM public key (or certificate)')
      .optional(),
    jwksFile: z.string().min(1).describe('the path of a JWKS (JSON) file').optional(),
    algorithms: z
      .array(z.enum(ALGORITHMS).describe(ALGORITHMS.join(', ')))
      .min(1)
      .describe('the accepted algorithms, such as [RS256]'),
    issuer: z.string().min(1).optional(),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    clockSkewSec: z
      .number()
      .int()
      .min(0)
      .max(600)
      .describe('a whole number of seconds, 0 to 600')
      .optional(),
    consumerClaim: z
      .string()
      .min(1)
      .describe('the claim naming the consumer (default sub)')
      .optional(),
    requireExp: z
      .boolean()
      .describe('true (the default): a token without exp is refused; false accepts one')
      .optional(),
    allow,
    forwardCredentials,
    failureLimit,
  })
  .superRefine((jwt, ctx) => {
    const sources = [jwt.secret, jwt.publicKeyFile, jwt.jwksFile].filter((s) => s !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of secret, publicKeyFile, jwksFile',
        params: { at: 'key' },
      });
      return;
    }
    // An HMAC secret only verifies HS*, a public key never does: no algorithm confusion.
    const hmac = jwt.secret !== undefined;
    const wrong = jwt.algorithms.filter(
      (a) => (HMAC_ALGORITHMS as readonly string[]).includes(a) !== hmac,
    );
    if (wrong.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['algorithms'],
        message: hmac
          ? `a secret verifies HS256/HS384/HS512 only, not ${wrong.join(', ')}`
          : `a public key or JWKS cannot verify ${wrong.join(', ')} (an HMAC algorithm: use secret)`,
      });
  });

/**
 * `auth` on a route: `{ type: api-key, header?: x-api-key, query?: NAME }`,
 * `{ type: basic }` or `{ type: jwt, secret | publicKeyFile | jwksFile,
 * algorithms, issuer?, audience?, clockSkewSec?, consumerClaim?, requireExp? }`, each with
 * `allow?: [consumer names]`, `forwardCredentials?: true` (keep the credential
 * in what goes to the target) and `failureLimit?: { rps, burst } | false`.
 */
export const authSchema = z
  .discriminatedUnion('type', [apiKeySchema, basicSchema, jwtSchema])
  .describe('{ type: api-key | basic | jwt, ... }');

export type AuthSettings = z.output<typeof authSchema>;
export type ApiKeySettings = z.output<typeof apiKeySchema>;
export type JwtSettings = z.output<typeof jwtSchema>;
