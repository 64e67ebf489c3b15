/**
 * Settings of later releases (DESIGN's config contract): present, they are
 * an error that says "not supported yet", never "unknown setting" and never
 * silently ignored. Pure.
 */
import { z } from 'zod';

/** A setting of a later release at its place: an error that says so, not "unknown key". */
export function notYet(what: string) {
  return z
    .never({
      error: `not supported yet by this version of gw, which has no ${what}; remove it for now`,
    })
    .optional();
}

/** The schemas of settings written where they do not go: never offered as valid keys there. */
export const MISPLACED = new WeakSet<z.ZodType>();

/** A setting gw has, written where it does not go: an error that names its place. */
function elsewhere(key: string, place: string) {
  const schema = z
    .unknown()
    .superRefine((_value, ctx) => {
      ctx.addIssue({
        code: 'custom',
        message: `${key} goes on ${place}, not here`,
        params: { kind: 'misplaced', at: 'key' },
      });
    })
    .optional();
  MISPLACED.add(schema);
  return schema;
}

/**
 * `auth` and `rateLimit` where a user may well write them (the top level, a
 * listener, an upstream) though they belong on a route (and rateLimit on a
 * consumer too).
 */
export const laterSettings = {
  auth: elsewhere('auth', 'a route (listeners[].routes[].auth)'),
  rateLimit: elsewhere(
    'rateLimit',
    'a route or a consumer (routes[].rateLimit, consumers[].rateLimit)',
  ),
};
