import http2 from 'node:http2';
import {
  GwError,
  isGwError,
  toGwError,
  upstreamReset,
  upstreamTimeout,
} from '../../shared/errors.js';
import type { Exchange, Handler } from '../pipeline/types.js';
import type { RuntimeRef } from '../runtime.js';
import { tryTargets } from './try-targets.js';
import type { TargetRuntime } from './upstream-runtime.js';

const { NGHTTP2_CANCEL } = http2.constants;

/** gRPC status codes the gateway itself answers with. */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  DEADLINE_EXCEEDED: 4,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** One gRPC call on its way through the gateway. */
export interface GrpcExchange extends Exchange {
  readonly stream: http2.ServerHttp2Stream;
  readonly headers: http2.IncomingHttpHeaders;
  /** `:path` to send upstream (`/package.Service/Method`, after any rewrite). */
  readonly forwardPath: string;
  /** The call's deadline from `grpc-timeout`, in ms from `startMs`; undefined for none. */
  readonly deadlineMs: number | undefined;
  readonly idleMs: number;
}

/** Request headers that must not be copied onto the upstream stream. */
const DROP = new Set([
  ':path',
  ':authority',
  ':method',
  ':scheme',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * The terminal handler for gRPC: one target per call (balancing per call,
 * not per connection), the call's headers, messages and trailers relayed
 * unchanged over a shared HTTP/2 session. Failures become gRPC statuses
 * (UNAVAILABLE, DEADLINE_EXCEEDED) in a trailers-only response, never an
 * HTTP error page. Resolves when the call is over.
 */
export function forwardGrpc(ref: RuntimeRef): Handler<GrpcExchange> {
  return async (ex) => {
    const upstream = ref.current.upstream(ex.upstream);
    await tryTargets(
      upstream,
      ex,
      { clientIp: ex.clientIp, path: ex.forwardPath, headers: ex.headers },
      {
        // Only connecting can fail here: relayCall answers every later failure itself.
        send: async (target) => relayCall(ex, await upstream.h2Session(target), target),
        mapError: (err) => toGwError(err),
        // Nothing was sent when the session could not be had: another target may take the call.
        mayRetry: () => true,
        clientGone: () => ex.stream.destroyed,
      },
    );
  };
}

function upstreamHeaders(ex: GrpcExchange): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {
    ':method': 'POST',
    ':path': ex.forwardPath,
    ':authority': ex.headers[':authority'] ?? ex.target,
    // No :scheme: node:http2 sets the session's own (http, or https to a TLS upstream).
  };
  for (const name in ex.headers) {
    if (!DROP.has(name)) out[name] = ex.headers[name];
  }
  return out;
}

/** Relays one call; resolves when both directions are finished. */
function relayCall(
  ex: GrpcExchange,
  session: http2.ClientHttp2Session,
  target: TargetRuntime,
): Promise<void> {
  const down = ex.stream;
  return new Promise<void>((resolve) => {
    let up: http2.ClientHttp2Stream;
    try {
      up = session.request(upstreamHeaders(ex), { endStream: false });
    } catch (err) {
      answerStatus(ex, GRPC_STATUS.UNAVAILABLE, upstreamReset(target.id, err));
      resolve();
      return;
    }
    let trailers: http2.IncomingHttpHeaders | undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      resolve();
    };
    const fail = (status: number, error: GwError): void => {
      if (done) return;
      if (!up.destroyed) up.close(NGHTTP2_CANCEL);
      if (down.headersSent && !down.sentTrailers && !down.destroyed) {
        // Mid-stream: end the relayed messages with the failure as the trailers.
        up.unpipe(down);
        ex.errorCode = error.code;
        trailers = {
          'grpc-status': String(status),
          'grpc-message': encodeURIComponent(error.message),
        };
        down.end();
      } else {
        answerStatus(ex, status, error);
      }
      finish();
    };
    const deadline =
      ex.deadlineMs === undefined
        ? undefined
        : setTimeout(
            () =>
              fail(
                GRPC_STATUS.DEADLINE_EXCEEDED,
                upstreamTimeout(target.id, 'deadline', ex.deadlineMs ?? 0),
              ),
            Math.max(0, ex.deadlineMs - (performance.now() - ex.startMs)),
          );
    const idle = (): void =>
      fail(GRPC_STATUS.DEADLINE_EXCEEDED, upstreamTimeout(target.id, 'idle', ex.idleMs));
    up.setTimeout(ex.idleMs, idle);
    down.setTimeout(ex.idleMs, idle);

    let responded = false;
    up.on('response', (headers, flags) => {
      responded = true;
      const status = headers[':status'];
      const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      const out = responseHeaders(headers);
      if (down.destroyed) return;
      if (endStream) {
        // Trailers-only response (an error status, usually): pass it as is.
        ex.status = Number(
          headers['grpc-status'] ?? (status === 200 ? 0 : GRPC_STATUS.UNAVAILABLE),
        );
        down.respond(out, { endStream: true });
        return;
      }
      down.respond(out, { waitForTrailers: true });
      up.pipe(down);
    });
    up.on('trailers', (t: http2.IncomingHttpHeaders) => {
      trailers = t;
    });
    down.on('wantTrailers', () => {
      const out =
        trailers === undefined
          ? {
              'grpc-status': String(GRPC_STATUS.INTERNAL),
              'grpc-message': 'upstream sent no trailers',
            }
          : responseHeaders(trailers);
      ex.status = Number(out['grpc-status'] ?? GRPC_STATUS.INTERNAL);
      down.sendTrailers(out);
    });
    up.on('error', (err) =>
      fail(GRPC_STATUS.UNAVAILABLE, isGwError(err) ? err : upstreamReset(target.id, err)),
    );
    up.on('close', () => {
      if (!responded && !down.headersSent && !done) {
        fail(
          GRPC_STATUS.UNAVAILABLE,
          upstreamReset(target.id, `stream closed with code ${up.rstCode}`),
        );
        return;
      }
      if (up.rstCode !== 0 && !down.destroyed && !down.sentTrailers) {
        fail(
          GRPC_STATUS.UNAVAILABLE,
          upstreamReset(target.id, `stream reset with code ${up.rstCode}`),
        );
        return;
      }
      if (down.closed || down.destroyed) finish();
    });
    down.on('close', () => {
      // The client cancelled or the call is complete: either way, stop the upstream side.
      if (!up.closed) up.close(NGHTTP2_CANCEL);
      finish();
    });
    down.pipe(up);
  });
}

/** Response headers or trailers without connection-specific fields. */
function responseHeaders(headers: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (name === ':status' || !DROP.has(name)) out[name] = headers[name];
  }
  return out;
}

/**
 * Ends a call with a gRPC status from the gateway: a trailers-only response
 * when nothing was sent yet, otherwise trailers after what was relayed.
 */
export function answerStatus(ex: GrpcExchange, status: number, error: GwError): void {
  ex.status = status;
  ex.errorCode = error.code;
  const stream = ex.stream;
  if (stream.destroyed || stream.closed) return;
  const message = encodeURIComponent(error.message);
  try {
    if (!stream.headersSent) {
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(status),
          'grpc-message': message,
          'x-gw-error': error.code,
        },
        { endStream: true },
      );
    } else if (!stream.sentTrailers) {
      stream.close(NGHTTP2_CANCEL);
    }
  } catch {
    stream.destroy();
  }
}

/** Parses `grpc-timeout` (`100m`, `5S`, up to 8 digits and a unit) into milliseconds. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return undefined;
  const n = Number(match[1]);
  const unit = match[2];
  const factor =
    unit === 'H'
      ? 3_600_000
      : unit === 'M'
        ? 60_000
        : unit === 'S'
          ? 1000
          : unit === 'm'
            ? 1
            : unit === 'u'
              ? 0.001
              : 0.000001;
  return n * factor;
}
