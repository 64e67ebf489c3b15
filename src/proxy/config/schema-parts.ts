/**
 * Schema pieces every part of the config uses (listeners, upstreams, health
 * checks, breakers, discovery): one definition, so each setting of a kind
 * says the same thing when it is wrong. A leaf module: it imports only zod,
 * so feature schemas can use it without an import cycle. Pure.
 */
import { z } from 'zod';

/** Node's timers fire at once for delays above 2^31 − 1 ms, so no timeout may exceed it. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A duration in whole milliseconds a timer can hold. */
export const millis = z
  .number()
  .int()
  .min(1)
  .max(MAX_TIMER_MS)
  .describe('a whole number of milliseconds, 1 to 2147483647');

/** A share of something, 0 to 1. */
export const share = z.number().min(0).max(1).describe('a share from 0 to 1');
