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

/**
 * A setting of a later release written where it will not go either (the
 * contract sets it elsewhere): refused as not supported yet, as at its
 * place, and the message names that place.
 */
function notYetHere(what: string, place: string) {
  return z
    .never({
      error: `not supported yet by this version of gw, which has no ${what}; when it comes it goes on ${place}, not here; remove it for now`,
    })
    .optional();
}

/** A supported setting written where it does not go: an error that names its place. */
function misplaced(key: string, place: string) {
  return z
    .unknown()
    .superRefine((_value, ctx) => {
      ctx.addIssue({
        code: 'custom',
        message: `${key} goes on ${place}, not here`,
        params: { at: 'key' },
      });
    })
    .optional();
}

/**
 * `auth` and `rateLimit` where a user may well write them (the top level, a
 * listener, an upstream) though they belong on a route (and rateLimit on a
 * consumer too).
 */
export const laterSettings = {
  auth: misplaced('auth', 'a route (listeners[].routes[].auth)'),
  rateLimit: notYetHere(
    'rate limiting',
    'a route or a consumer (routes[].rateLimit, consumers[].rateLimit)',
  ),
};
