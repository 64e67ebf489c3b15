/**
 * The top-level `store`: where limits shared by many gateway instances are
 * kept (a Redis server), and what an instance does when it cannot reach it.
 * Pure: the URL is parsed here, the connection is made by
 * redis-connection.ts.
 *
 * ```yaml
 * store: { redis: redis://127.0.0.1:6379/0, keyPrefix: "gw:", failureMode: open, timeoutMs: 50 }
 * ```
 */
import { z } from 'zod';

/** Where the Redis server is, parsed from `redis://[USER:PASSWORD@]HOST[:PORT][/DB]`. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  /** The URL without credentials, for log lines and messages: `redis://127.0.0.1:6379/0`. */
  readonly name: string;
  /** The URL as written, credentials included: two configs with the same one share a connection. */
  readonly url: string;
}

/**
 * What an instance does with a request whose limit is kept in Redis while
 * Redis is unreachable or too slow: `open` limits it locally (the same
 * policy, counted by this instance alone), `closed` refuses it with 503.
 */
export type FailureMode = 'open' | 'closed';

/** The top-level `store`, defaults filled. */
export interface StoreSettings {
  readonly redis: RedisAddress;
  /** Put before every key gw writes (`gw:rl:web/api:10.0.0.1`), so one Redis can serve others too. */
  readonly keyPrefix: string;
  readonly failureMode: FailureMode;
  /** The longest a decision waits for Redis before the failure mode applies. */
  readonly timeoutMs: number;
}

/** Where a limit's keys are kept: this process's memory (the default) or the top-level store. */
export type LimitStoreKind = 'memory' | 'redis';

export const STORE_DEFAULTS = { keyPrefix: 'gw:', failureMode: 'open', timeoutMs: 50 } as const;

const REDIS_URL_ALLOWED = 'redis://HOST:PORT or redis://HOST:PORT/DB (PORT default 6379, DB 0)';

/** Parses `redis://[USER:PASSWORD@]HOST[:PORT][/DB]`, or says what is wrong with it. */
export function parseRedisUrl(text: string): RedisAddress | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a URL';
  }
  if (url.protocol === 'rediss:') return 'TLS (rediss://) is not supported; use redis://';
  if (url.protocol !== 'redis:') return 'must start with redis://';
  if (url.hostname === '') return 'no host';
  if (url.search !== '' || url.hash !== '') return 'options (?…, #…) are not supported';
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,6}$/.test(path)) return 'the path must be a database number (/0)';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 6379 : Number(url.port);
  const db = path === '' ? 0 : Number(path);
  const shown = url.hostname.includes(':') || host !== url.hostname ? `[${host}]` : host;
  return {
    host,
    port,
    db,
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    name: `redis://${shown}:${port}/${db}`,
    url: text,
  };
}

const redisUrl = z
  .string()
  .transform((text, ctx) => {
    const parsed = parseRedisUrl(text);
    if (typeof parsed !== 'string') return parsed;
    // A URL with credentials is pointed at, never echoed.
    ctx.addIssue({
      code: 'custom',
      message: parsed,
      params: text.includes('@') ? { at: 'key' } : {},
    });
    return z.NEVER;
  })
  .describe(REDIS_URL_ALLOWED);

export const storeSchema = z
  .strictObject({
    redis: redisUrl,
    keyPrefix: z
      .string()
      .max(100)
      .describe('a string of up to 100 characters, such as "gw:"')
      .optional(),
    failureMode: z.enum(['open', 'closed']).describe('open or closed').optional(),
    timeoutMs: z
      .number()
      .int()
      .min(1)
      .max(60_000)
      .describe('a whole number of milliseconds, 1 to 60000')
      .optional(),
  })
  .transform((s): StoreSettings => ({
    redis: s.redis,
    keyPrefix: s.keyPrefix ?? STORE_DEFAULTS.keyPrefix,
    failureMode: s.failureMode ?? STORE_DEFAULTS.failureMode,
    timeoutMs: s.timeoutMs ?? STORE_DEFAULTS.timeoutMs,
  }))
  .describe('{ redis: redis://HOST:PORT[/DB], keyPrefix, failureMode: open | closed, timeoutMs }');

/** `store:` on a rate limit: `memory` (the default) or `redis` (the top-level store). */
export const limitStoreSchema = z
  .enum(['memory', 'redis'])
  .describe('memory, or redis (the top-level store)');
