import { z } from 'zod';

/** A route's `priority`: `normal` routes are shed first under overload, `core` only past the hard limits. */
export const prioritySchema = z.enum(['core', 'normal']).describe('core or normal');

const count = z
  .number()
  .int()
  .min(1)
  .max(10_000_000)
  .describe('a whole number of requests, 1 to 10000000');
const delay = z
  .number()
  .min(1)
  .max(60_000)
  .describe('milliseconds of event-loop delay (p99 over the last second), 1 to 60000');

/**
 * Top-level `shedding`: when the gateway is overloaded it refuses `normal`
 * routes' requests (503 GW_ERR_SHED, or their fallback) so `core` ones keep
 * being served. Soft limits (`maxInFlight`, `maxEventLoopDelayMs`) shed
 * `normal` routes; hard limits (`hardMaxInFlight`, `hardMaxEventLoopDelayMs`)
 * shed `core` ones too; a hard limit left out never sheds `core` routes.
 */
export const sheddingSchema = z
  .strictObject({
    maxInFlight: count.optional(),
    maxEventLoopDelayMs: delay.optional(),
    hardMaxInFlight: count.optional(),
    hardMaxEventLoopDelayMs: delay.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.maxInFlight === undefined && s.maxEventLoopDelayMs === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'needs maxInFlight or maxEventLoopDelayMs (or both): the limits that shed normal routes',
      });
    }
    const pairs = [
      ['maxInFlight', 'hardMaxInFlight'],
      ['maxEventLoopDelayMs', 'hardMaxEventLoopDelayMs'],
    ] as const;
    for (const [soft, hard] of pairs) {
      const softValue = s[soft];
      const hardValue = s[hard];
      if (hardValue === undefined) continue;
      if (softValue === undefined) {
        ctx.addIssue({ code: 'custom', path: [hard], message: `${hard} needs ${soft}` });
      } else if (hardValue <= softValue) {
        ctx.addIssue({
          code: 'custom',
          path: [hard],
          message: `must be more than ${soft} (${softValue}): core routes are shed after normal ones`,
        });
      }
    }
  })
  .describe('{ maxInFlight?, maxEventLoopDelayMs?, hardMaxInFlight?, hardMaxEventLoopDelayMs? }');

export type SheddingLimits = z.output<typeof sheddingSchema>;
