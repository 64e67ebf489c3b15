import { z } from 'zod';
import { parseCidr } from '../../config/parse-cidr.js';

/**
 * `allowFrom: [10.0.0.0/8, ::1]`: the client addresses that may use a route
 * or a tcp listener. Each entry is an IP address or CIDR; host names are
 * refused (an allow-list is decided on the peer's address).
 */
export const allowFromSchema = z
  .array(
    z
      .string()
      .transform((text, ctx) => {
        const result = parseCidr(text);
        if (result.ok) return result.value;
        ctx.addIssue({ code: 'custom', message: result.problem });
        return z.NEVER;
      })
      .describe('an IP address or CIDR, such as 10.0.0.0/8 or ::1'),
  )
  .min(1)
  .describe('a list of IP addresses or CIDRs, such as [10.0.0.0/8, ::1]');

export type AllowFromSettings = z.output<typeof allowFromSchema>;
