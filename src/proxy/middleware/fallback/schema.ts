import { z } from 'zod';
import { responseHeadersSchema } from '../response-headers/schema.js';

/** gRPC UNAVAILABLE: what a static fallback answers a gRPC call with unless `grpcStatus` says. */
export const DEFAULT_FALLBACK_GRPC_STATUS = 14;

const status = z
  .number()
  .int()
  .min(200)
  .max(599)
  .describe('an HTTP status 200–599 (101 and other 1xx cannot be a reply)');

/**
 * `fallback: { status, headers?, body? | bodyFile?, grpcStatus? }`: a static
 * answer given by the gateway itself; `headers` as `responseHeaders` (names
 * are tokens, `content-type` sets the body's type); `body` a string, or
 * `bodyFile` a file read when the config is loaded (relative to the config
 * file); `grpcStatus` what a gRPC call gets (trailers-only), default 14
 * UNAVAILABLE with the body as `grpc-message` (up to 1 KiB; no body, or a
 * longer one: a sentence naming the route).
 */
const staticFallback = z
  .strictObject({
    status,
    headers: responseHeadersSchema.optional(),
    body: z.string().describe('the body as text').optional(),
    bodyFile: z
      .string()
      .min(1)
      .describe('the path of a file with the body, relative to the config file')
      .optional(),
    grpcStatus: z
      .number()
      .int()
      .min(0)
      .max(16)
      .describe('a gRPC status code 0–16 (default 14 UNAVAILABLE)')
      .optional(),
  })
  .superRefine((f, ctx) => {
    if (f.body !== undefined && f.bodyFile !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['bodyFile'],
        message: 'give either body or bodyFile, not both',
      });
    }
  })
  .transform((f) => {
    const fields = f.headers ?? [];
    let contentType: string | undefined;
    const rest: string[] = [];
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i] ?? '';
      const value = fields[i + 1] ?? '';
      if (name === 'content-type') contentType = value;
      else rest.push(name, value);
    }
    return {
      kind: 'static' as const,
      status: f.status,
      fields: rest,
      ...(contentType === undefined ? {} : { contentType }),
      ...(f.body === undefined ? {} : { body: f.body }),
      ...(f.bodyFile === undefined ? {} : { bodyFile: f.bodyFile }),
      grpcStatus: f.grpcStatus ?? DEFAULT_FALLBACK_GRPC_STATUS,
    };
  });

/** `fallback: { upstream: NAME }`: the route's exchange goes to another upstream instead. */
const upstreamFallback = z
  .strictObject({
    upstream: z.string().min(1).describe('the name of an upstream defined under upstreams'),
  })
  .transform((f) => ({ kind: 'upstream' as const, upstream: f.upstream }));

/** A route's `fallback`: a static answer or an alternate upstream. */
export const fallbackSchema = z
  .union([upstreamFallback, staticFallback])
  .describe('{ status, headers?, body? | bodyFile?, grpcStatus? } or { upstream: NAME }');

export type FallbackSettings = z.output<typeof fallbackSchema>;
export type StaticFallback = Extract<FallbackSettings, { kind: 'static' }>;
