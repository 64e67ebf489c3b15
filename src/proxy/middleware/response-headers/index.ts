import type { Handler } from '../../pipeline/types.js';
import { defineFeature } from '../feature.js';
import { responseHeadersSchema, type ResponseHeaderFields } from './schema.js';

/**
 * `responseHeaders` on a route: its fields go out with every answer on the
 * route, whatever the protocol: an HTTP response (relayed or the gateway's
 * own error), the WebSocket 101 (or the refusal before it), a gRPC call's
 * response headers (or its trailers-only answer).
 */
export const responseHeaders = defineFeature<ResponseHeaderFields>({
  key: 'responseHeaders',
  places: ['route'],
  schema: responseHeadersSchema,
  describe: (fields) => `+headers ${fields.filter((_, i) => i % 2 === 0).join(',')}`,
  toJson: (fields) => {
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i] ?? ''] = fields[i + 1] ?? '';
    return out;
  },
  build(fields) {
    return {
      route:
        (next: Handler): Handler =>
        (ex) => {
          // A copy: a later middleware may add its own fields to the exchange's list.
          ex.replyFields =
            ex.replyFields === undefined ? fields.slice() : ex.replyFields.concat(fields);
          return next(ex);
        },
    };
  },
});
