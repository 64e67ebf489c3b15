import {
  GwError,
  type GwErrorCode,
  routeNotFound,
  toGwError,
  upstreamConnect,
  upstreamReset,
  upstreamTimeout,
} from '../../shared/errors.js';
import { sweeper, type StopSweep } from '../../shared/sweeper.js';
import { withoutQueryParam } from './consumed-credential.js';
import { encodeGrpcMessage } from './grpc-message.js';
import type { H2Connection, H2Stream, StreamHandler } from '../h2/connection.js';
import { H2_ERROR } from '../h2/frames.js';
import { checkTrailerFields } from '../h2/request-check.js';
import { L7Exchange, type ExchangeStart } from '../pipeline/types.js';
import { MAX_ATTEMPTS, tryTargets, type Forwarder } from './try-targets.js';
import type { TargetRuntime, UpstreamRuntime } from './upstream-runtime.js';

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

type GrpcStart = ExchangeStart &
  Pick<
    GrpcExchange,
    | 'call'
    | 'headers'
    | 'fields'
    | 'forwardPath'
    | 'deadlineMs'
    | 'idleMs'
    | 'upstreamRuntime'
    | 'refusal'
  >;

/** One gRPC call on its way through the gateway. */
export class GrpcExchange extends L7Exchange {
  /** Both streams of the call: the client's, and the target's once opened. */
  readonly call: GrpcCall;
  /** Request headers by name (repeated ones joined with `, `), for routing and hashing. */
  readonly headers: Readonly<Record<string, string>>;
  /** Request header fields as received: name, value, name, value ... */
  readonly fields: readonly string[];
  /** `:path` to send upstream (`/package.Service/Method`, after any rewrite). */
  readonly forwardPath: string;
  /** The call's deadline from `grpc-timeout`, in ms from `startMs`; undefined for none. */
  readonly deadlineMs: number | undefined;
  readonly idleMs: number;
  /** The upstream of the config the call was routed with (undefined: no route). */
  readonly upstreamRuntime: UpstreamRuntime | undefined;
  /** Why the call is refused before routing (a :path not in normal form, not POST). */
  readonly refusal: GwError | undefined;

  constructor(start: GrpcStart) {
    super(start);
    this.call = start.call;
    this.headers = start.headers;
    this.fields = start.fields;
    this.forwardPath = start.forwardPath;
    this.deadlineMs = start.deadlineMs;
    this.idleMs = start.idleMs;
    this.upstreamRuntime = start.upstreamRuntime;
    this.refusal = start.refusal;
    start.call.ex = this;
  }

  header(name: string): string | undefined {
    return this.headers[name];
  }

  /** True once the target's answer began, or the call is over (the client left, it was answered). */
  replyStarted(): boolean {
    return this.call.answered || this.call.gone || this.call.done;
  }

  /**
   * Sends the call to another upstream (a route's fallback) after its own
   * failed: only connecting fails without an answer, so nothing reached a target.
   */
  resendTo(upstream: UpstreamRuntime): Promise<void> | undefined {
    return this.replyStarted() ? undefined : tryTargets(upstream, this, GRPC_FORWARDER);
  }
}

/** Header fields that must not be copied from one connection to the other (RFC 9113 §8.2.2). */
const DROP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // Only the gateway says who the consumer is (added after the copy, when authenticated).
  'x-gw-consumer',
]);

const EMPTY = Buffer.alloc(0);
/**
 * Streams a call may open on a target: the first, and one more when the
 * target refused it unprocessed (GOAWAY, REFUSED_STREAM). Each refusal may
 * cost a new connection, so this bounds connections made per call.
 */
const MAX_CONNECTION_TRIES = 2;
/** Times a call may find the connection it waited for already full (the target limits its streams). */
const MAX_FULL_WAITS = 8;
/** Request bytes kept until the answer starts, so a refused stream can be sent again. */
const REPLAY_BYTES = 64 * 1024;

/**
 * Response bytes a target may send on a call's stream before the gateway
 * returns credit, and credit returns only once those bytes left toward the
 * client: so what the gateway holds for a client that reads nothing is
 * bounded by the windows its calls' target streams were given. Each has
 * the base window (16 KiB, UPSTREAM_STREAM_WINDOW in h2/connection.ts) and
 * the first calls of a client connection get RESPONSE_TOP_UP_BYTES more
 * while their sum stays within this budget: per client connection at most
 * `open calls × 16 KiB + 2 MiB` (4 MiB at 128 streams), against 256 KiB per
 * call before. A top-up returns to the budget when its call is over.
 */
export const CLIENT_TOP_UP_BUDGET_BYTES = 2 << 20;
/**
 * Window granted to a call's target stream beyond its base one (64 KiB in
 * all): a streaming call whose target is a few ms away keeps its speed.
 */
const RESPONSE_TOP_UP_BYTES = 48 << 10;

/** Wider windows granted to targets on behalf of one client connection. */
interface ClientBudget {
  committedBytes: number;
}
const budgets = new WeakMap<H2Connection, ClientBudget>();

function budgetOf(connection: H2Connection): ClientBudget {
  let budget = budgets.get(connection);
  if (budget === undefined) {
    budget = { committedBytes: 0 };
    budgets.set(connection, budget);
  }
  return budget;
}

/** The code logged for a malformed request (the HTTP listener's 400 code). */
export const MALFORMED_CODE: GwErrorCode = 'GW_ERR_BAD_REQUEST';

/** The target refused a stream it did not process (RFC 9113 §8.7): the call may be sent again. */
class StreamRefused extends Error {}

/**
 * The terminal handler for gRPC: one target per call (balancing per call,
 * not per connection), the call's headers, messages and trailers relayed
 * frame by frame over a shared HTTP/2 connection to the target. Failures
 * become gRPC statuses (UNAVAILABLE, DEADLINE_EXCEEDED) in a trailers-only
 * response, never an HTTP error page. Resolves when the call is over.
 */
export async function forwardGrpc(ex: GrpcExchange): Promise<void> {
  const upstream = ex.upstreamRuntime;
  if (upstream === undefined) throw ex.refusal ?? routeNotFound(ex.listener);
  await tryTargets(upstream, ex, GRPC_FORWARDER);
}

/** How calls go to a target: one object for every call (see Forwarder). */
const GRPC_FORWARDER: Forwarder<GrpcExchange> = {
  maxAttempts: MAX_ATTEMPTS,
  // Only connecting can fail here: the call answers every later failure itself.
  send: sendCall,
  mapError: (_ex, err) => toGwError(err),
  // Nothing was sent when no connection could be had: another target may take the call.
  mayRetry: () => true,
  clientGone: (ex) => ex.call.gone,
  // UNAVAILABLE is the target's failure; DEADLINE_EXCEEDED is the client's own deadline, which
  // says more about the client's patience than the target's health.
  answeredFailure: (ex) => ex.status === GRPC_STATUS.UNAVAILABLE,
};

/** Opens the call's stream on a connection to `target`; resolves when the call is over. */
async function sendCall(
  ex: GrpcExchange,
  target: TargetRuntime,
  upstream: UpstreamRuntime,
): Promise<void> {
  const scheme = upstream.config.tls ? 'https' : 'http';
  // Several calls may wait for one new connection: each checks for room as it opens.
  let tries = 0;
  let waits = 0;
  while (tries < MAX_CONNECTION_TRIES && waits <= MAX_FULL_WAITS) {
    const connection = await target.h2Connection();
    if (!connection.canOpen) {
      // Full (other calls took its streams), or refused already (GOAWAY after SETTINGS).
      if (connection.goingAway || connection.closed) tries++;
      else waits++;
      continue;
    }
    tries++;
    try {
      await ex.call.relay(connection, target, scheme);
      return;
    } catch (err) {
      // The target refused the stream unprocessed (GOAWAY, REFUSED_STREAM): send it again.
      if (!(err instanceof StreamRefused)) throw err;
    }
  }
  throw upstreamConnect(
    target.id,
    tries < MAX_CONNECTION_TRIES
      ? 'every connection to the target is at its stream limit'
      : 'the target refused the call unprocessed on every try',
  );
}

/**
 * One call's two streams and everything between them. It is the handler of
 * both: what the client sends goes to the target (held until the target's
 * stream is open), what the target answers goes back, and flow-control
 * credit is returned to each side only once the other side took the bytes.
 */
export class GrpcCall implements StreamHandler {
  ex!: GrpcExchange;
  up: H2Stream | undefined;
  target: TargetRuntime | undefined;
  /** The client reset the call or its connection closed. */
  gone = false;
  /** The call is over: answered, failed or abandoned. */
  done = false;
  /** Response headers went to the client. */
  private responded = false;

  /** True once the target's response headers went to the client. */
  get answered(): boolean {
    return this.responded;
  }
  /** Client bytes that arrived before the target's stream was open. */
  private held: Buffer[] = [];
  /** Credit owed to each side, waiting for the other side to take the bytes. */
  private owedDown = 0;
  private owedUp = 0;
  private lastActivity = performance.now();
  private deadlineAt = Number.POSITIVE_INFINITY;
  private resolve: (() => void) | undefined;
  private reject: ((err: Error) => void) | undefined;
  /** The client ended its side (END_STREAM seen). */
  private requestEnded = false;
  /**
   * What went to the target before it answered, for a refused stream to be
   * sent again; undefined once past REPLAY_BYTES or after one replay.
   */
  private sent: Buffer[] | undefined = [];
  private sentBytes = 0;
  /** Bytes to send first on the next stream (already credited to the client). */
  private replay: Buffer[] = [];
  /** The request's content-length (-1 for none), and the DATA bytes seen so far (§8.1.1). */
  private readonly declaredBytes: number;
  private bodyBytes = 0;
  /** Window beyond the base one held in the client connection's budget for this call. */
  private budget: ClientBudget | undefined;
  private reservedBytes = 0;

  readonly down: H2Stream;

  constructor(down: H2Stream, endStream: boolean, declaredBytes = -1) {
    this.down = down;
    down.handler = this;
    this.requestEnded = endStream;
    this.declaredBytes = declaredBytes;
  }

  /** Relays the call to `target` over `connection`; resolves when the call is over. */
  relay(connection: H2Connection, target: TargetRuntime, scheme: string): Promise<void> {
    if (this.gone || this.done) return Promise.resolve();
    this.target = target;
    if (!connection.canOpen) {
      this.fail(
        GRPC_STATUS.UNAVAILABLE,
        upstreamReset(target.id, 'the connection to the target is closing'),
      );
      return Promise.resolve();
    }
    const { ex } = this;
    const consumed = ex.consumed;
    const fields: string[] = [
      ':method',
      'POST',
      ':scheme',
      scheme,
      ':path',
      consumed === undefined || consumed.param === ''
        ? ex.forwardPath
        : withoutQueryParam(ex.forwardPath, consumed.param),
      ':authority',
      ex.headers[':authority'] ?? target.id,
    ];
    const from = ex.fields;
    // The metadata that carried a credential auth consumed is not sent (undefined: none).
    const consumedField = consumed?.field;
    for (let i = 0; i + 1 < from.length; i += 2) {
      const name = from[i] ?? ':';
      if (name.charCodeAt(0) !== 58 /* : */ && !DROP.has(name) && name !== consumedField)
        fields.push(name, from[i + 1] ?? '');
    }
    if (ex.consumer !== '') fields.push('x-gw-consumer', ex.consumer);
    const { held, replay } = this;
    this.held = [];
    this.replay = [];
    const total = replay.length + held.length;
    this.up = connection.open(fields, this.requestEnded && total === 0, this);
    this.widenUp(this.up);
    for (let i = 0; i < total; i++) {
      const fresh = i >= replay.length;
      const chunk = (fresh ? held[i - replay.length] : replay[i]) ?? EMPTY;
      this.keep(chunk);
      this.up.sendData(chunk, this.requestEnded && i === total - 1);
      // Replayed bytes were credited to the client when they first went out.
      if (fresh) this.credit(this.down, this.up, chunk.length);
    }
    if (ex.deadlineMs !== undefined) this.deadlineAt = ex.startMs + ex.deadlineMs;
    this.lastActivity = performance.now();
    active.add(this);
    startSweeper();
    return new Promise((resolve, reject) => {
      if (this.done) resolve();
      else {
        this.resolve = resolve;
        this.reject = reject;
      }
    });
  }

  /**
   * Grants the target's stream more than its base window while the client
   * connection's budget allows: the bytes a target may send are held here
   * whenever the client reads slower, so the budget bounds them.
   */
  private widenUp(up: H2Stream): void {
    if (this.budget === undefined) {
      const budget = budgetOf(this.down.connection);
      this.budget = budget;
      if (budget.committedBytes + RESPONSE_TOP_UP_BYTES <= CLIENT_TOP_UP_BUDGET_BYTES) {
        this.reservedBytes = RESPONSE_TOP_UP_BYTES;
        budget.committedBytes += RESPONSE_TOP_UP_BYTES;
      }
    }
    up.grant(this.reservedBytes);
  }

  /** Gives the call's window back to the client connection's budget. */
  private release(): void {
    if (this.budget === undefined) return;
    this.budget.committedBytes -= this.reservedBytes;
    this.reservedBytes = 0;
  }

  /**
   * The client's request turned out malformed after it was accepted: its
   * content-length disagrees with its DATA, or it sent bad trailers. The
   * target's stream is reset and the client's refused (RFC 9113 §8.1.1).
   * The access line says GW_ERR_BAD_REQUEST (the reason is not kept per call).
   */
  private refuse(): void {
    if (this.done) return;
    this.gone = true;
    this.ex.status = GRPC_STATUS.INTERNAL;
    this.ex.errorCode = MALFORMED_CODE;
    if (this.up !== undefined && !this.up.closed) this.up.reset(H2_ERROR.CANCEL);
    // Never forwarded (RFC 9113 §8.1.1), and counted against the client's fault allowance.
    this.down.resetByClientFault(H2_ERROR.PROTOCOL_ERROR);
    this.finish();
  }

  /** Counts request DATA against its content-length: false (and the call refused) on a mismatch. */
  private countBody(bytes: number, endStream: boolean): boolean {
    this.bodyBytes += bytes;
    const declared = this.declaredBytes;
    if (
      declared < 0 ||
      (this.bodyBytes <= declared && (!endStream || this.bodyBytes === declared))
    ) {
      return true;
    }
    this.refuse(); // request DATA length differs from content-length
    return false;
  }

  /** Keeps a copy (by reference) of what goes to the target until it answers. */
  private keep(chunk: Buffer): void {
    if (this.sent === undefined || this.responded || chunk.length === 0) return;
    this.sentBytes += chunk.length;
    if (this.sentBytes > REPLAY_BYTES) this.sent = undefined;
    else this.sent.push(chunk);
  }

  headers(stream: H2Stream, fields: string[], endStream: boolean): void {
    this.lastActivity = performance.now();
    if (stream === this.down) {
      // Trailers from a client (gRPC clients send none): only the end of the request matters,
      // once they are well formed (RFC 9113 §8.1: they end the stream and have no pseudo-headers).
      if (this.done) return;
      // A second HEADERS without END_STREAM is malformed too.
      const bad = endStream ? checkTrailerFields(fields) : 'HEADERS without END_STREAM';
      if (bad !== undefined) {
        this.refuse();
        return;
      }
      if (!this.countBody(0, true)) return;
      this.requestEnded = true;
      this.up?.sendData(EMPTY, true);
      return;
    }
    if (this.done) return;
    const out = responseFields(fields);
    if (!this.responded) {
      this.responded = true;
      const extra = this.ex.replyFields;
      if (extra !== undefined) out.push(...extra);
      // The target took the call: nothing will be sent again, the kept request can go.
      this.sent = undefined;
      if (endStream) {
        // Trailers-only (an error status, usually): passed as is.
        this.ex.status =
          statusOf(fields) ??
          (valueOf(fields, ':status') === '200' ? GRPC_STATUS.OK : GRPC_STATUS.UNAVAILABLE);
        this.down.sendHeaders(out, true);
        this.finish();
        return;
      }
      this.down.sendHeaders(out, false);
      return;
    }
    this.ex.status = statusOf(fields) ?? GRPC_STATUS.INTERNAL;
    this.down.sendHeaders(out, true);
    this.finish();
  }

  data(stream: H2Stream, chunk: Buffer, endStream: boolean): void {
    this.lastActivity = performance.now();
    if (stream === this.down) {
      const up = this.up;
      if (this.done || up?.closed === true) {
        stream.consumed(chunk.length);
        return;
      }
      if (!this.countBody(chunk.length, endStream)) return;
      if (endStream) this.requestEnded = true;
      if (up === undefined) {
        // The target's stream is not open yet: held, within the window the client was given.
        if (chunk.length > 0) this.held.push(chunk);
        return;
      }
      this.keep(chunk);
      up.sendData(chunk, endStream);
      this.credit(stream, up, chunk.length);
      return;
    }
    if (this.done) {
      stream.consumed(chunk.length);
      return;
    }
    this.down.sendData(chunk, false);
    this.credit(stream, this.down, chunk.length);
    if (endStream) {
      // The target ended the call without trailers: the client still needs a status.
      this.ex.status = GRPC_STATUS.INTERNAL;
      this.down.sendHeaders(
        ['grpc-status', String(GRPC_STATUS.INTERNAL), 'grpc-message', 'upstream sent no trailers'],
        true,
      );
      this.finish();
    }
  }

  reset(stream: H2Stream, code: number, reason: string): void {
    if (stream === this.down) {
      this.gone = true;
      this.release();
      // The client cancelled (or its connection went) before the call was over: the log says so.
      if (!this.done) this.ex.status = GRPC_STATUS.CANCELLED;
      if (this.up !== undefined && !this.up.closed) this.up.reset(H2_ERROR.CANCEL);
      this.finish();
      return;
    }
    if (code === H2_ERROR.REFUSED_STREAM && this.replayable()) {
      // Nothing was processed: the same bytes go again on another stream (once).
      this.replay = this.sent ?? [];
      this.sent = undefined;
      this.up = undefined;
      active.delete(this);
      const reject = this.reject;
      this.resolve = undefined;
      this.reject = undefined;
      reject?.(new StreamRefused(reason));
      return;
    }
    this.fail(GRPC_STATUS.UNAVAILABLE, upstreamReset(this.target?.id ?? '', reason));
  }

  /** True when a refused stream may be sent again: no answer yet, the request kept whole. */
  private replayable(): boolean {
    return (
      !this.done &&
      !this.gone &&
      !this.responded &&
      this.sent !== undefined &&
      this.reject !== undefined
    );
  }

  drained(stream: H2Stream): void {
    this.lastActivity = performance.now();
    this.payOwed();
    // The end went out to a client still sending: end its side too (RFC 9113 §8.1).
    if (stream === this.down && this.done && this.down.peerSending()) {
      this.down.reset(H2_ERROR.NO_ERROR);
    }
  }

  /** Ends the call with a gateway status: as trailers after what was relayed, or trailers-only. */
  fail(status: number, error: GwError): void {
    if (this.done) return;
    if (this.up !== undefined && !this.up.closed) this.up.reset(H2_ERROR.CANCEL);
    if (this.responded) {
      this.ex.status = status;
      this.ex.errorCode = error.code;
      this.down.sendHeaders(
        ['grpc-status', String(status), 'grpc-message', encodeGrpcMessage(error.message)],
        true,
      );
    } else {
      answerStatus(this.ex, status, error);
    }
    this.finish();
  }

  /** @internal the sweeper's check: deadline and idle timeout. */
  check(now: number): void {
    if (this.done) {
      // Over, but the end is still queued for a client that does not read: give it idleMs.
      const { down } = this;
      if (down.closed || down.queuedBytes === 0) {
        active.delete(this);
        this.release();
      } else if (now - this.lastActivity >= this.ex.idleMs) {
        down.reset(H2_ERROR.CANCEL);
        active.delete(this);
        this.release();
      }
      return;
    }
    if (now >= this.deadlineAt) {
      this.fail(
        GRPC_STATUS.DEADLINE_EXCEEDED,
        upstreamTimeout(this.target?.id ?? '', 'deadline', this.ex.deadlineMs ?? 0),
      );
    } else if (now - this.lastActivity >= this.ex.idleMs) {
      this.fail(
        GRPC_STATUS.DEADLINE_EXCEEDED,
        upstreamTimeout(this.target?.id ?? '', 'idle', this.ex.idleMs),
      );
    }
  }

  /** `from` may send `bytes` more once `to` took them (no flow-control hold, socket not backed up). */
  private credit(from: H2Stream, to: H2Stream, bytes: number): void {
    if (to.queuedBytes === 0 && !to.connection.congested) {
      from.consumed(bytes);
      return;
    }
    if (from === this.down) this.owedDown += bytes;
    else this.owedUp += bytes;
    if (to.queuedBytes === 0) to.connection.whenDrained(() => this.payOwed());
  }

  private payOwed(): void {
    if (this.owedDown > 0 && (this.up === undefined || this.up.queuedBytes === 0)) {
      this.down.consumed(this.owedDown);
      this.owedDown = 0;
    }
    if (this.owedUp > 0 && this.up !== undefined && this.down.queuedBytes === 0) {
      this.up.consumed(this.owedUp);
      this.owedUp = 0;
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.down.queuedBytes > 0 && !this.down.closed) {
      // The answer is still queued for the client: its window stays counted until it leaves.
      active.add(this);
      startSweeper();
    } else {
      active.delete(this);
      this.release();
    }
    // The response is complete while the client may still be sending: end its side (RFC 9113 §8.1).
    const { down, up } = this;
    this.held = [];
    if (!down.closed && !down.remoteClosed && down.queuedBytes === 0 && down.localClosed) {
      down.reset(H2_ERROR.NO_ERROR);
    }
    // The target is done (or failed) while our side of its stream is open: close that too.
    if (up !== undefined && !up.closed) up.reset(H2_ERROR.CANCEL);
    this.payOwed();
    const resolve = this.resolve;
    this.resolve = undefined;
    resolve?.();
  }
}

/** Calls being relayed, checked for deadline and idleness by the process's one sweeper. */
const active = new Set<GrpcCall>();
let stopSweep: StopSweep | undefined;
const SWEEP_MS = 25;

function startSweeper(): void {
  stopSweep ??= sweeper.every(SWEEP_MS, (now) => {
    for (const call of active) call.check(now);
    if (active.size === 0) {
      stopSweep?.();
      stopSweep = undefined;
    }
  });
}

/** Response headers or trailers without connection-specific fields. */
function responseFields(fields: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] ?? ':';
    if (name === ':status' || (name.charCodeAt(0) !== 58 && !DROP.has(name))) {
      out.push(name, fields[i + 1] ?? '');
    }
  }
  return out;
}

/** The value of the first field called `name`, or undefined. */
function valueOf(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The `grpc-status` among `fields`; undefined when it is missing or not a number. */
function statusOf(fields: readonly string[]): number | undefined {
  const n = Number(valueOf(fields, 'grpc-status') ?? NaN);
  return Number.isInteger(n) ? n : undefined;
}

/**
 * Ends a call with a gRPC status from the gateway: a trailers-only response
 * when nothing was sent yet, otherwise a reset after what was relayed.
 * `httpStatus` is 200 as gRPC wants, or another (405) with `extra` fields.
 */
export function answerStatus(
  ex: GrpcExchange,
  status: number,
  error: { readonly code: string; readonly message: string },
  httpStatus = '200',
  extra: readonly string[] = [],
): void {
  ex.status = status;
  ex.errorCode = error.code;
  const stream = ex.call.down;
  if (stream.closed || stream.localClosed) return;
  const fields = [
    ':status',
    httpStatus,
    ...extra,
    ...(ex.replyFields ?? []),
    'content-type',
    'application/grpc',
    'grpc-status',
    String(status),
    'grpc-message',
    encodeGrpcMessage(error.message),
  ];
  if (error.code !== '') fields.push('x-gw-error', error.code);
  stream.sendHeaders(fields, true);
  // The client may still be sending: end its side too (RFC 9113 §8.1).
  if (stream.peerSending()) stream.reset(H2_ERROR.NO_ERROR);
}

/** Parses `grpc-timeout` (`100m`, `5S`: 1 to 8 digits and a unit) into milliseconds. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value.length < 2 || value.length > 9) return undefined;
  let n = 0;
  for (let i = 0; i < value.length - 1; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    n = n * 10 + digit;
  }
  switch (value[value.length - 1]) {
    case 'H':
      return n * 3_600_000;
    case 'M':
      return n * 60_000;
    case 'S':
      return n * 1000;
    case 'm':
      return n;
    case 'u':
      return n / 1000;
    case 'n':
      return n / 1_000_000;
    default:
      return undefined;
  }
}

/**
 * Bytes the relay holds now in flow-control queues: response bytes waiting
 * for clients' windows, request bytes waiting for targets' windows.
 */
export function relayQueuedBytes(): { toClientsBytes: number; toTargetsBytes: number } {
  let toClientsBytes = 0;
  let toTargetsBytes = 0;
  for (const call of active) {
    toClientsBytes += call.down.queuedBytes;
    toTargetsBytes += call.up?.queuedBytes ?? 0;
  }
  return { toClientsBytes, toTargetsBytes };
}
