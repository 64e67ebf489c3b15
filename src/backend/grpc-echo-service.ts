import { once, type EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { shouldFail, sleep, type ResolvedOptions } from './backend-options.js';
import type { EchoReply, EchoRequest } from './echo-proto.js';

/** Most replies one ServerStream call may ask for. */
export const MAX_STREAM_REPLIES = 100_000;

/** What the echo and health handlers share: the options and the name (known once bound). */
export interface GrpcContext {
  options: ResolvedOptions;
  name: string;
}

type Unary = grpc.ServerUnaryCall<EchoRequest, EchoReply>;
type ServerStream = grpc.ServerWritableStream<EchoRequest, EchoReply>;
type ClientStream = grpc.ServerReadableStream<EchoRequest, EchoReply>;
type Bidi = grpc.ServerDuplexStream<EchoRequest, EchoReply>;
type AnyCall = Unary | ServerStream | ClientStream | Bidi;

/** Per-call bookkeeping for the one event each call reports. */
interface CallLog {
  method: string;
  call: AnyCall;
  messagesIn: number;
  messagesOut: number;
  injected: boolean;
  /** Aborts when the client cancels or the deadline passes, so delays stop early. */
  signal: AbortSignal;
  reported: boolean;
}

/**
 * The handlers of `gw.echo.v1.Echo`. Every reply carries `backend`; every
 * call ends with trailing metadata `x-backend: NAME`, and successful calls
 * also send it as initial metadata. Each reply waits `latencyMs + delay_ms`.
 * The share `failRate` of calls ends at once with UNAVAILABLE (`injected
 * failure from NAME`, trailers only); `fail_code` ends the call with that
 * status (ServerStream after its replies, Bidi when that message is reached).
 * A delay longer than the call's deadline ends in DEADLINE_EXCEEDED, which
 * grpc-js enforces on both sides.
 */
export function echoService(ctx: GrpcContext): grpc.UntypedServiceImplementation {
  return {
    Unary: (call: Unary, callback: grpc.sendUnaryData<EchoReply>) => {
      void unary(call, callback, ctx);
    },
    ServerStream: (call: ServerStream) => {
      void serverStream(call, ctx);
    },
    ClientStream: (call: ClientStream, callback: grpc.sendUnaryData<EchoReply>) => {
      clientStream(call, callback, ctx);
    },
    Bidi: (call: Bidi) => {
      bidi(call, ctx);
    },
  };
}

async function unary(call: Unary, callback: grpc.sendUnaryData<EchoReply>, ctx: GrpcContext) {
  const log = startLog('Unary', call, ctx);
  log.messagesIn = 1;
  const failure = injectedFailure(log, ctx) ?? requestedFailure(call.request, ctx);
  if (failure !== undefined) {
    finish(log, ctx, failure.code);
    callback(failure);
    return;
  }
  await sleep(delayOf(call.request, ctx), log.signal);
  if (call.cancelled) return;
  call.sendMetadata(backendMetadata(ctx));
  log.messagesOut = 1;
  finish(log, ctx, grpc.status.OK);
  callback(null, reply(call.request, 0, call, ctx), backendMetadata(ctx));
}

async function serverStream(call: ServerStream, ctx: GrpcContext) {
  const log = startLog('ServerStream', call, ctx);
  log.messagesIn = 1;
  const count = (call.request.count ?? 0) > 0 ? (call.request.count ?? 1) : 1;
  const failure =
    injectedFailure(log, ctx) ??
    (count > MAX_STREAM_REPLIES
      ? statusError(
          grpc.status.INVALID_ARGUMENT,
          `count must be at most ${MAX_STREAM_REPLIES}`,
          ctx,
        )
      : undefined);
  if (failure !== undefined) {
    endWith(call, log, ctx, failure);
    return;
  }
  call.sendMetadata(backendMetadata(ctx));
  for (let index = 0; index < count; index++) {
    await sleep(delayOf(call.request, ctx), log.signal);
    if (call.cancelled) return;
    await writeReply(call, reply(call.request, index, call, ctx), log);
  }
  endWith(call, log, ctx, requestedFailure(call.request, ctx));
}

function clientStream(
  call: ClientStream,
  callback: grpc.sendUnaryData<EchoReply>,
  ctx: GrpcContext,
): void {
  const log = startLog('ClientStream', call, ctx);
  const failure = injectedFailure(log, ctx);
  if (failure !== undefined) {
    finish(log, ctx, failure.code);
    callback(failure);
    call.resume(); // discard what the client still sends
    return;
  }
  const messages: string[] = [];
  let delayMs = 0;
  let requested: grpc.ServerErrorResponse | undefined;
  call.on('data', (request: EchoRequest) => {
    log.messagesIn++;
    messages.push(request.message ?? '');
    delayMs = Math.max(delayMs, request.delayMs ?? 0);
    requested ??= requestedFailure(request, ctx);
  });
  call.on('end', () => {
    void (async () => {
      if (requested !== undefined) {
        finish(log, ctx, requested.code);
        callback(requested);
        return;
      }
      await sleep(ctx.options.latencyMs + delayMs, log.signal);
      if (call.cancelled) return;
      call.sendMetadata(backendMetadata(ctx));
      log.messagesOut = 1;
      finish(log, ctx, grpc.status.OK);
      const summary = { message: messages.join(','), count: 0 };
      callback(null, reply(summary, messages.length, call, ctx), backendMetadata(ctx));
    })();
  });
}

function bidi(call: Bidi, ctx: GrpcContext): void {
  const log = startLog('Bidi', call, ctx);
  const failure = injectedFailure(log, ctx);
  if (failure !== undefined) {
    endWith(call, log, ctx, failure);
    call.resume();
    return;
  }
  call.sendMetadata(backendMetadata(ctx));
  // One chain keeps replies in request order whatever their delays.
  let chain = Promise.resolve();
  let pending = 0;
  let ended = false;
  call.on('data', (request: EchoRequest) => {
    const index = log.messagesIn++;
    if (++pending > 64) call.pause(); // bound what a fast client can queue
    chain = chain.then(async () => {
      if (ended || call.cancelled) return;
      const requested = requestedFailure(request, ctx);
      if (requested !== undefined) {
        ended = true;
        endWith(call, log, ctx, requested);
        return;
      }
      await sleep(delayOf(request, ctx), log.signal);
      if (log.signal.aborted) return; // cancelled while waiting
      await writeReply(call, reply(request, index, call, ctx), log);
      if (--pending < 16 && call.isPaused()) call.resume();
    });
  });
  call.on('end', () => {
    chain = chain.then(() => {
      if (ended || call.cancelled) return;
      ended = true;
      endWith(call, log, ctx, undefined);
    });
  });
}

function startLog(method: string, call: AnyCall, ctx: GrpcContext): CallLog {
  const abort = new AbortController();
  const log: CallLog = {
    method,
    call,
    messagesIn: 0,
    messagesOut: 0,
    injected: false,
    signal: abort.signal,
    reported: false,
  };
  (call as EventEmitter).once('cancelled', () => {
    abort.abort();
    finish(log, ctx, grpc.status.CANCELLED);
  });
  return log;
}

/** Reports the call's outcome once (cancellation may race with the answer). */
function finish(log: CallLog, ctx: GrpcContext, code: number | undefined): void {
  if (log.reported) return;
  log.reported = true;
  ctx.options.onEvent({
    type: 'call',
    kind: 'grpc',
    backend: ctx.name,
    peer: log.call.getPeer(),
    method: log.method,
    code: code ?? grpc.status.UNKNOWN,
    messagesIn: log.messagesIn,
    messagesOut: log.messagesOut,
    injected: log.injected,
  });
}

/** Ends a server-streaming call: OK with the x-backend trailer, or the given error. */
function endWith(
  call: ServerStream | Bidi,
  log: CallLog,
  ctx: GrpcContext,
  failure: grpc.ServerErrorResponse | undefined,
): void {
  finish(log, ctx, failure === undefined ? grpc.status.OK : failure.code);
  // grpc-js turns an 'error' event on a server stream into the call's final status.
  if (failure !== undefined) call.emit('error', failure);
  else call.end(backendMetadata(ctx));
}

async function writeReply(call: ServerStream | Bidi, message: EchoReply, log: CallLog) {
  log.messagesOut++;
  if (call.write(message)) return;
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  log.signal.addEventListener('abort', stop, { once: true });
  await once(call, 'drain', { signal: ac.signal }).catch(() => undefined);
  log.signal.removeEventListener('abort', stop);
}

function injectedFailure(log: CallLog, ctx: GrpcContext): grpc.ServerErrorResponse | undefined {
  if (!shouldFail(ctx.options)) return undefined;
  log.injected = true;
  return statusError(grpc.status.UNAVAILABLE, `injected failure from ${ctx.name}`, ctx);
}

function requestedFailure(
  request: EchoRequest,
  ctx: GrpcContext,
): grpc.ServerErrorResponse | undefined {
  const code = request.failCode ?? 0;
  if (code === 0) return undefined;
  if (!isStatus(code)) {
    return statusError(grpc.status.INVALID_ARGUMENT, 'fail_code must be 0-16', ctx);
  }
  return statusError(code, `fail_code ${code} requested from ${ctx.name}`, ctx);
}

/** True for the gRPC status codes 0-16. */
function isStatus(code: number): code is grpc.status {
  return Number.isInteger(code) && Object.hasOwn(grpc.status, code);
}

/** A gRPC error status whose trailers carry `x-backend`. */
export function statusError(
  code: grpc.status,
  details: string,
  ctx: GrpcContext,
): grpc.ServerErrorResponse {
  return Object.assign(new Error(details), { code, details, metadata: backendMetadata(ctx) });
}

/** Metadata with the single entry `x-backend: NAME`. */
export function backendMetadata(ctx: GrpcContext): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('x-backend', ctx.name);
  return metadata;
}

function delayOf(request: EchoRequest, ctx: GrpcContext): number {
  return ctx.options.latencyMs + Math.max(0, request.delayMs ?? 0);
}

function reply(request: EchoRequest, index: number, call: AnyCall, ctx: GrpcContext): EchoReply {
  return {
    message: request.message ?? '',
    backend: ctx.name,
    index,
    metadata: metadataRecord(call.metadata),
  };
}

/** Request metadata as plain strings (binary `-bin` values base64), first value per key. */
function metadataRecord(metadata: grpc.Metadata): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) {
    record[key] = typeof value === 'string' ? value : value.toString('base64');
  }
  return record;
}
