import { z } from 'zod';
import { isHttpToken } from '../../config/http-token.js';
import { limitStoreSchema } from '../../store/schema.js';

/** What a request is counted under: its client, a header's value, its consumer, or the route as a whole. */
export type RateLimitKey =
  | { readonly kind: 'client-ip' }
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'consumer' }
  | { readonly kind: 'route' };

const KEY_ALLOWED = 'client-ip, header:NAME, consumer or route';

/** The longest a burst may take to earn back: beyond it the numbers stop being a rate limit. */
const MAX_REFILL_SECONDS = 365 * 86_400;

const rps = z
  .number()
  .min(0.001)
  .max(1e9)
  .describe('requests per second, 0.001 to 1e9 (fractions allowed: 0.5 is one every 2 s)');

const burst = z
  .number()
  .int()
  .min(1)
  .max(1e9)
  .describe('a whole number of requests, 1 to 1e9: how many an idle client may send at once');

function rateKey(text: string, ctx: z.RefinementCtx): RateLimitKey {
  if (text === 'client-ip' || text === 'consumer' || text === 'route') return { kind: text };
  if (text.toLowerCase().startsWith('header:')) {
    const name = text.slice('header:'.length);
    if (isHttpToken(name)) return { kind: 'header', name: name.toLowerCase() };
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(name)} is not a header name` });
    return z.NEVER;
  }
  ctx.addIssue({ code: 'custom', message: `not a rate-limit key (${KEY_ALLOWED})` });
  return z.NEVER;
}

/**
 * `rateLimit: { rps: 100, burst: 20, key: client-ip, headers: true }` on a
 * route. `burst` defaults to one second's worth (rps rounded up); `key` to
 * `client-ip`. Requests with nothing to key on (no such header, no
 * authenticated consumer) share one limit under the key `-`. `store: redis`
 * keeps the keys in the top-level store, shared by every gateway using it.
 */
export const rateLimitSchema = z
  .strictObject({
    rps,
    burst: burst.optional(),
    key: z.string().transform(rateKey).describe(KEY_ALLOWED).optional(),
    headers: z.boolean().optional(),
    store: limitStoreSchema.optional(),
  })
  .transform((s, ctx) => {
    const settings = {
      rps: s.rps,
      burst: s.burst ?? Math.ceil(s.rps),
      key: s.key ?? ({ kind: 'client-ip' } as const),
      headers: s.headers ?? false,
      store: s.store ?? 'memory',
    };
    if (settings.burst / settings.rps > MAX_REFILL_SECONDS) {
      ctx.addIssue({
        code: 'custom',
        path: ['burst'],
        message: 'the burst would take more than a year to earn back at this rps',
      });
    }
    return settings;
  })
  .describe(
    '{ rps, burst, key: client-ip | header:NAME | consumer | route, headers: true, store: memory | redis }',
  );

export type RateLimitSettings = z.output<typeof rateLimitSchema>;

/** The key as written (`header:x-api-key`). */
export function keyText(key: RateLimitKey): string {
  return key.kind === 'header' ? `header:${key.name}` : key.kind;
}

/**
 * `connectionsPerSecond: 100` or `{ rate: 100, burst: 200 }` on a tcp
 * listener: new connections over it are reset. `burst` defaults to one
 * second's worth.
 */
export const connectionsPerSecondSchema = z
  .union([
    rps.transform((rate) => ({ rate, burst: Math.ceil(rate) })),
    z
      .strictObject({ rate: rps, burst: burst.optional() })
      .transform((s) => ({ rate: s.rate, burst: s.burst ?? Math.ceil(s.rate) })),
  ])
  .describe('connections per second, such as 100, or { rate: 100, burst: 200 }');

export type ConnectionsPerSecondSettings = z.output<typeof connectionsPerSecondSchema>;
