import { configError, forbidden, isGwError } from '../../../shared/errors.js';
import {
  addReplyField,
  traceStep,
  type ConsumedCredential,
  type Exchange,
  type Handler,
} from '../../pipeline/types.js';
import { consumerLimits } from '../rate-limit/consumer-limits.js';
import { defineFeature } from '../feature.js';
import { apiKeyAuthenticator } from './api-key.js';
import { basicAuthenticator } from './basic.js';
import { FAILURE_LIMIT, FailureLimiter } from './failure-limit.js';
import { jwtAuthenticator, loadJwtKey } from './jwt.js';
import { authSchema, type AuthSettings } from './schema.js';

/**
 * Where a route's auth reads credentials from, for the terminal to remove
 * (see `Exchange.consumed`): both places of an API key (header and query
 * parameter), whichever one carried it, so the target gets neither.
 */
function consumedCredential(settings: AuthSettings): ConsumedCredential {
  return settings.type === 'api-key'
    ? { field: settings.header ?? 'x-api-key', param: settings.query ?? '' }
    : { field: 'authorization', param: '' };
}

/** What a 401 asks for, per type (RFC 9110 §11.6.1). */
const CHALLENGE = { 'api-key': 'ApiKey', basic: 'Basic realm="gw"', jwt: 'Bearer' } as const;

/**
 * `auth` on a route: who the client is (an API key, Basic credentials or a
 * JWT), checked before anything is forwarded, for HTTP requests, WebSocket
 * upgrades (refused before the target is asked) and gRPC calls (credentials
 * from metadata). Missing or bad credentials: 401 with `WWW-Authenticate`
 * (gRPC UNAUTHENTICATED 16); a consumer not in `allow`: 403 (gRPC
 * PERMISSION_DENIED 7). On success the exchange carries the consumer's name,
 * which goes upstream in `x-gw-consumer`, and the credential is removed from
 * what goes upstream (its header, and an API key's query parameter) unless
 * `forwardCredentials: true`. Failed authentications are limited per client
 * address (`failureLimit`, on by default: see failure-limit.ts): a client
 * with none left gets 429 before its credentials are looked at. No
 * credential is ever put in a log line or an answer.
 */
export const auth = defineFeature<AuthSettings>({
  key: 'auth',
  places: ['route'],
  schema: authSchema,
  describe,
  toJson: (s) => ({
    ...s,
    failureLimit: s.failureLimit ?? FAILURE_LIMIT,
    ...(s.type === 'jwt' && s.secret !== undefined ? { secret: '***' } : {}),
  }),
  secretParams: (s) => (s.type === 'api-key' && s.query !== undefined ? [s.query] : []),
  build(settings, deps) {
    const { consumers } = deps.config;
    if (settings.type !== 'jwt' && settings.allow !== undefined) {
      const known = new Set(consumers.map((c) => c.name));
      const unknown = settings.allow.filter((name) => !known.has(name));
      if (unknown.length > 0)
        throw configError(deps.config.source, [
          {
            kind: 'reference',
            path: `${deps.where}: auth.allow`,
            problem: `no consumer named ${unknown.join(', ')}`,
            allowed: 'names of consumers defined under consumers',
          },
        ]);
    }
    const check =
      settings.type === 'api-key'
        ? apiKeyAuthenticator(settings, consumers)
        : settings.type === 'basic'
          ? basicAuthenticator(consumers, deps.clock).check
          : jwtAuthenticator(
              settings,
              loadJwtKey(settings, deps.config.source, deps.where),
              deps.clock,
            ).check;
    const challenge = CHALLENGE[settings.type];
    const allowed = settings.allow === undefined ? undefined : new Set(settings.allow);
    const consumed =
      settings.forwardCredentials === true ? undefined : consumedCredential(settings);
    const failures =
      settings.failureLimit === false
        ? undefined
        : new FailureLimiter(settings.failureLimit ?? FAILURE_LIMIT, deps.where, deps);

    /** The refusal, asking for credentials when it is a 401; the trace says why (never a secret). */
    const refuse = (ex: Exchange, err: unknown): Promise<never> => {
      if (isGwError(err, 'GW_ERR_UNAUTHENTICATED')) {
        failures?.failed(ex);
        addReplyField(ex, 'www-authenticate', challenge);
        traceStep(ex, `auth: ${settings.type} refused, ${err.message}`);
      }
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    };
    // Each consumer's own rateLimit, shared by every route of this config load.
    const limits = consumerLimits(deps);
    const admit = (ex: Exchange, next: Handler, consumer: string): Promise<void> => {
      if (allowed !== undefined && !allowed.has(consumer))
        return Promise.reject(forbidden(`consumer ${consumer} is not allowed on this route`));
      ex.consumer = consumer;
      ex.consumed = consumed;
      traceStep(ex, `auth: ${settings.type} consumer ${consumer}`);
      return limits.check(ex, consumer, next) ?? next(ex);
    };
    return {
      route:
        (next: Handler): Handler =>
        (ex) => {
          // A client out of failures is refused before its credentials cost anything.
          const locked = failures?.refuse(ex);
          if (locked !== undefined) return locked;
          let found: string | Promise<string>;
          try {
            found = check(ex);
          } catch (err) {
            return refuse(ex, err);
          }
          if (typeof found === 'string') return admit(ex, next, found);
          return found.then(
            (consumer) => admit(ex, next, consumer),
            (err: unknown) => refuse(ex, err),
          );
        },
      close: () => {
        limits.close();
        failures?.close();
      },
    };
  },
});

/** The `--check` table's note: `auth basic allow alice,bob`, plus any non-default setting. */
function describe(s: AuthSettings): string {
  let text = `auth ${s.type}`;
  if (s.allow !== undefined) text += ` allow ${s.allow.join(',')}`;
  if (s.forwardCredentials === true) text += ' +forward';
  if (s.failureLimit === false) text += ' no failureLimit';
  else if (s.failureLimit !== undefined)
    text += ` failureLimit ${s.failureLimit.rps}/s burst ${s.failureLimit.burst}`;
  return text;
}
