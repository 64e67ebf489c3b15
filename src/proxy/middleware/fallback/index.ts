import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { configError } from '../../../shared/errors.js';
import {
  addReplyField,
  asLocalReply,
  traceStep,
  type Exchange,
  type Handler,
  type LocalReply,
} from '../../pipeline/types.js';
import type { UpstreamRuntime } from '../../upstream/upstream-runtime.js';
import { defineFeature, type FeatureDeps } from '../feature.js';
import { fallbackReason } from './reason.js';
import { fallbackSchema, type FallbackSettings, type StaticFallback } from './schema.js';

/**
 * What the fallback needs of an exchange beyond {@link Exchange}: every L7
 * exchange class has it (HTTP, WebSocket, gRPC), as methods, so the hot path
 * makes no closure.
 */
interface Resendable {
  /** True once any of the answer went out: nothing can replace it any more. */
  replyStarted(): boolean;
  /** Runs the exchange on another upstream; undefined when it cannot go again. */
  resendTo(upstream: UpstreamRuntime): Promise<void> | undefined;
}

/** The longest body a gRPC call gets as its `grpc-message`: a header field, not a page. */
const MAX_GRPC_MESSAGE_BYTES = 1024;

/**
 * A route's static fallback: a {@link LocalReply} every listener answers as
 * itself (HTTP status and body, gRPC trailers-only with the body as
 * `grpc-message`, a response before the WebSocket 101). Its code is empty,
 * so no `x-gw-error` goes out: it is an answer, not an error;
 * `x-gw-fallback` says why it was given. An Error only to be thrown: built
 * once per config load, thrown as it is for every exchange.
 */
class FallbackReply extends Error implements LocalReply {
  readonly code = '';
  readonly httpStatus: number;
  readonly grpcStatus: number;
  readonly body: string;
  readonly contentType?: string;

  constructor(settings: StaticFallback, body: string, route: string) {
    // The message is what a gRPC client reads: the body, unless there is none or it is a page.
    const bytes = Buffer.byteLength(body);
    super(
      bytes > 0 && bytes <= MAX_GRPC_MESSAGE_BYTES ? body : `${route} answers with its fallback`,
    );
    this.httpStatus = settings.status;
    this.grpcStatus = settings.grpcStatus;
    this.body = body;
    if (settings.contentType !== undefined) this.contentType = settings.contentType;
  }
}

/**
 * `fallback` on a route: when the upstream cannot answer (its circuit is
 * open, no target is available, or it failed after retries) or the gateway
 * sheds the route under load, and nothing of the answer went out yet, the
 * client gets the route's static answer, or the exchange goes to an
 * alternate upstream, with `x-gw-fallback: circuit-open | no-target |
 * upstream-failed | shed` on it. Shed exchanges get only a static fallback:
 * sending them elsewhere would be the work the gateway is shedding.
 */
export const fallback = defineFeature<FallbackSettings>({
  key: 'fallback',
  places: ['route'],
  schema: fallbackSchema,
  describe: (f) => (f.kind === 'upstream' ? `fallback →${f.upstream}` : `fallback ${f.status}`),
  toJson: (f) => {
    if (f.kind === 'upstream') return { upstream: f.upstream };
    const headers: Record<string, string> = {};
    for (let i = 0; i + 1 < f.fields.length; i += 2)
      headers[f.fields[i] ?? ''] = f.fields[i + 1] ?? '';
    if (f.contentType !== undefined) headers['content-type'] = f.contentType;
    return {
      status: f.status,
      ...(Object.keys(headers).length === 0 ? {} : { headers }),
      ...(f.body === undefined ? {} : { body: f.body }),
      ...(f.bodyFile === undefined ? {} : { bodyFile: f.bodyFile }),
      grpcStatus: f.grpcStatus,
    };
  },
  build(settings, deps) {
    const route = deps.where;
    if (settings.kind === 'upstream') {
      const name = settings.upstream;
      return {
        route: (next) => (ex) =>
          next(ex).catch((err: unknown) => {
            const reason = reasonFor(ex, err);
            if (reason === undefined || reason === 'shed') throw err;
            const alternate = deps.upstream(name);
            const resent =
              alternate === undefined
                ? undefined
                : (ex as unknown as Resendable).resendTo(alternate);
            if (resent === undefined) throw err;
            traceStep(ex, `fallback: ${reason}, to upstream ${name}`);
            addReplyField(ex, 'x-gw-fallback', reason);
            return resent;
          }),
      };
    }
    const reply = new FallbackReply(settings, bodyOf(settings, deps), route);
    const fields = settings.fields;
    return {
      route:
        (next: Handler): Handler =>
        (ex) =>
          next(ex).catch((err: unknown) => {
            const reason = reasonFor(ex, err);
            if (reason === undefined) throw err;
            traceStep(ex, `fallback: ${reason}, static ${reply.httpStatus}`);
            addReplyField(ex, 'x-gw-fallback', reason);
            for (let i = 0; i + 1 < fields.length; i += 2) {
              addReplyField(ex, fields[i] ?? '', fields[i + 1] ?? '');
            }
            throw reply;
          }),
    };
  },
});

/** Why `err` calls for the fallback of `ex`, or undefined (not a failure it covers, or too late). */
function reasonFor(ex: Exchange, err: unknown) {
  const code = asLocalReply(err)?.code;
  const reason = code === undefined ? undefined : fallbackReason(code);
  if (reason === undefined) return undefined;
  const resendable = ex as unknown as Partial<Resendable>;
  // An exchange of an unknown kind, or one whose answer began: only the error is left.
  if (typeof resendable.replyStarted !== 'function' || resendable.replyStarted()) return undefined;
  return reason;
}

/** The static body: `body`, the file's text (read once per config load), or empty. */
function bodyOf(settings: StaticFallback, deps: FeatureDeps): string {
  if (settings.body !== undefined) return settings.body;
  if (settings.bodyFile === undefined) return '';
  const source = deps.config.source;
  const fromFile = !source.startsWith('<') && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source);
  const path =
    isAbsolute(settings.bodyFile) || !fromFile
      ? settings.bodyFile
      : join(dirname(source), settings.bodyFile);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw configError(source, [
      {
        kind: 'invalid',
        path: `${deps.where}: fallback.bodyFile`,
        problem: `cannot read the fallback body: ${why}`,
        got: JSON.stringify(settings.bodyFile),
      },
    ]);
  }
}
