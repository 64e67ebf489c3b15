import { z } from 'zod';
import { isHttpToken } from '../../config/http-token.js';

/**
 * Fields a route may not add: the framing and connection management belong
 * to the gateway (RFC 9110 §7.6.1, RFC 9112 §6), and the gateway's own
 * `x-gw-error` must mean that the gateway answered.
 */
const RESERVED = new Set([
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
  'x-gw-error',
]);

/**
 * `responseHeaders: { x-served-by: gw, cache-control: no-store }`: fields
 * added to every answer on the route, relayed or the gateway's own. Values
 * are visible ASCII and spaces; names are tokens, stored in lower case (HTTP/2
 * and gRPC require it), each once.
 */
export const responseHeadersSchema = z
  .custom<Readonly<Record<string, unknown>>>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    { error: 'must be a mapping of header name to value' },
  )
  .transform((headers, ctx) => {
    const fields: string[] = [];
    const seen = new Set<string>();
    for (const [name, value] of Object.entries(headers)) {
      const lower = name.toLowerCase();
      const problem = !isHttpToken(name)
        ? 'not a header name'
        : RESERVED.has(lower) || lower.startsWith(':')
          ? `${lower} is set by the gateway itself and cannot be added`
          : typeof value !== 'string'
            ? 'must be a string (quote numbers: "60")'
            : !/^[\x20-\x7e]*$/.test(value) || value.trim() !== value
              ? 'must be visible ASCII without leading or trailing spaces'
              : seen.has(lower)
                ? 'the same header twice (names ignore case)'
                : undefined;
      if (problem !== undefined) {
        ctx.addIssue({ code: 'custom', path: [name], message: problem });
        continue;
      }
      seen.add(lower);
      fields.push(lower, value as string);
    }
    if (fields.length === 0 && Object.keys(headers).length === 0) {
      ctx.addIssue({ code: 'custom', message: 'must name at least one header' });
    }
    return fields;
  })
  .describe('header name → value, such as { cache-control: no-store }');

/** The fields as name, value, name, value ... (names in lower case). */
export type ResponseHeaderFields = z.output<typeof responseHeadersSchema>;
