import net, { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import { ChunkedDecoder } from './chunked.js';
import { findHeadEnd, H1Error, parseResponseHead, resumeAt, type ResponseHead } from './head.js';

/** Why a request to a target failed, for the caller to map to a gateway error. */
export type FailureKind =
  /** Connecting failed (refused, unreachable): nothing reached the target. */
  | 'connect'
  | 'connect-timeout'
  | 'header-timeout'
  | 'idle-timeout'
  /** The connection closed or reset before the response was complete. */
  | 'reset'
  /** The target's response broke HTTP/1.1. */
  | 'bad-response';

export class UpstreamFailure extends Error {
  readonly kind: FailureKind;
  constructor(kind: FailureKind, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'UpstreamFailure';
    this.kind = kind;
  }
}

/** Receives one response. */
export interface ResponseHandler {
  /**
   * The final response head (interim 1xx answers are skipped). Returns true
   * to get a chunked body as it came (framing included), false to get its data.
   */
  head(head: ResponseHead, noBody: boolean): boolean;
  /** Body bytes; false asks for a pause (until {@link UpstreamRequest.resume}). */
  data(chunk: Buffer): boolean;
  end(): void;
  error(failure: UpstreamFailure): void;
  /** The bytes at hand are handled: anything held for one write goes out now. */
  flush(): void;
  /** Everything written so far has left (no write still holds a read buffer). */
  flushed(): boolean;
  /** The target can take more body bytes. */
  bodyDrained(): void;
}

export interface PoolOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly connectMs: number;
  /** From the request's head going out until the response head is in. */
  readonly headerMs: number;
  /** Longest silence while a response body flows. */
  readonly idleMs: number;
  /** How long an unused connection is kept. */
  readonly keepAliveMs: number;
}

/**
 * Deadlines of upstream connections are checked by one timer against a
 * clock it refreshes (nginx's cached time), not by a timer per socket: a
 * socket timeout allocates a timer each time it changes, three times a
 * request here. A deadline fires between its time and one sweep later.
 */
const SWEEP_MS = 25;
const timed = new Set<UpstreamConnection>();
let sweeper: NodeJS.Timeout | undefined;
let clock = performance.now();

function watchDeadline(connection: UpstreamConnection): void {
  timed.add(connection);
  if (sweeper !== undefined) return;
  clock = performance.now();
  sweeper = setInterval(sweep, SWEEP_MS);
  sweeper.unref();
}

function sweep(): void {
  clock = performance.now();
  for (const connection of timed) if (connection.deadline <= clock) connection.expire();
  if (timed.size === 0 && sweeper !== undefined) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** A deadline `ms` from now, late rather than early by up to one sweep. */
function deadlineIn(ms: number): number {
  return clock + ms + SWEEP_MS;
}

/** The size of an upstream read (what Node reads at most at once). */
const READ_BYTES = 64 * 1024;

/** Body bytes kept while the connection is being made, before the client is paused. */
const HOLD_BYTES = 64 * 1024;
/** A response head larger than this is refused (502). */
const MAX_RESPONSE_HEAD = 64 * 1024;

/**
 * A keep-alive pool of HTTP/1.1 connections to one target, one request at a
 * time on each (no pipelining upstream). A connection goes back to the pool
 * only after a response that ended cleanly, with nothing extra after it,
 * whose request was sent whole and that did not say `close`. A request
 * without a body that finds a reused connection closed before any byte of
 * its answer came is sent again on a new connection (the target closed an
 * idle connection as the request went out: the race every keep-alive client has).
 */
export class H1Pool {
  readonly options: PoolOptions;
  private readonly idle: UpstreamConnection[] = [];
  private readonly busy = new Set<UpstreamConnection>();
  private closing = false;

  constructor(options: PoolOptions) {
    this.options = options;
  }

  /**
   * Sends a request: `head` is its complete head, `hasBody` whether body
   * bytes follow, `idempotent` whether it may be sent twice (RFC 9110
   * §9.2.2; only such a request is resent after a stale connection).
   */
  request(
    head: string,
    noBodyExpected: boolean,
    hasBody: boolean,
    idempotent: boolean,
    handler: ResponseHandler,
  ): UpstreamRequest {
    const request = new UpstreamRequest(this, head, noBodyExpected, hasBody, idempotent, handler);
    this.dispatch(request, false);
    return request;
  }

  /** @internal Gives `request` a connection: an idle one, or (`fresh`) a new one. */
  dispatch(request: UpstreamRequest, fresh: boolean): void {
    if (!fresh) {
      for (;;) {
        const connection = this.idle.pop();
        if (connection === undefined) break;
        if (connection.socket.destroyed) continue;
        this.busy.add(connection);
        connection.start(request);
        return;
      }
    }
    const connection = new UpstreamConnection(this);
    this.busy.add(connection);
    connection.start(request);
  }

  /** @internal A connection that finished its response cleanly. */
  release(connection: UpstreamConnection): void {
    this.busy.delete(connection);
    if (this.closing) {
      connection.socket.destroy();
      return;
    }
    this.idle.push(connection);
  }

  /** @internal A connection that closed. */
  forget(connection: UpstreamConnection): void {
    this.busy.delete(connection);
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
  }

  /** Closes idle connections now and busy ones once their response is done. */
  close(): Promise<void> {
    this.closing = true;
    for (const connection of this.idle.splice(0)) connection.socket.destroy();
    const busy = [...this.busy];
    return Promise.all(
      busy.map(
        (connection) =>
          new Promise<void>((resolve) => {
            if (connection.socket.destroyed) resolve();
            else connection.socket.once('close', () => resolve());
          }),
      ),
    ).then(() => undefined);
  }
}

/** One request on its way to a target; the caller streams its body with `write`/`end`. */
export class UpstreamRequest {
  readonly head: string;
  readonly noBodyExpected: boolean;
  readonly handler: ResponseHandler;
  /** Body bytes follow the head (such a request is never sent twice). */
  readonly hadBody: boolean;
  private readonly pool: H1Pool;
  /** @internal The connection carrying it, once given one. */
  connection: UpstreamConnection | undefined;
  /** @internal Body bytes not yet written (before a connection is up). */
  held: Buffer[] = [];
  private heldBytes = 0;
  /** @internal The whole body has been handed over. */
  bodyEnded: boolean;
  /** It may be sent twice (RFC 9110 §9.2.2). */
  readonly idempotent: boolean;
  /** @internal It was sent again after a stale connection. */
  retried = false;
  /** @internal Over: answered, failed or aborted. */
  done = false;
  /** Its head went out on some connection: something may have reached the target. */
  sent = false;

  constructor(
    pool: H1Pool,
    head: string,
    noBodyExpected: boolean,
    hasBody: boolean,
    idempotent: boolean,
    handler: ResponseHandler,
  ) {
    this.pool = pool;
    this.idempotent = idempotent;
    this.head = head;
    this.noBodyExpected = noBodyExpected;
    this.bodyEnded = !hasBody;
    this.hadBody = hasBody;
    this.handler = handler;
  }

  /** Body bytes for the target; false when the caller should pause its source. */
  write(chunk: Buffer): boolean {
    const connection = this.connection;
    if (connection?.headWritten) {
      // The wait for the answer starts once the body is sent: a long upload is not a late answer.
      connection.deadline = deadlineIn(this.pool.options.headerMs);
      return connection.socket.write(chunk);
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    return this.heldBytes < HOLD_BYTES;
  }

  /** The body is complete. */
  end(): void {
    this.bodyEnded = true;
    const connection = this.connection;
    if (connection?.headWritten) connection.deadline = deadlineIn(this.pool.options.headerMs);
  }

  /** Reading the response may go on (the client drained). */
  resume(): void {
    this.connection?.resumeReading();
  }

  /** Stops the request: its connection is closed, and no handler method is called any more. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.connection?.socket.destroy();
  }

  /**
   * The body bytes it took and never sent, once it failed before sending
   * anything (a failed connect): they may go to another target. Undefined
   * when its head went out (or it is not over).
   */
  takeUnsent(): Buffer[] | undefined {
    if (this.sent || !this.done) return undefined;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    return held;
  }

  /** @internal Hands the held body bytes to the socket. */
  flushHeld(socket: Socket): boolean {
    let ok = true;
    for (const chunk of this.held) ok = socket.write(chunk);
    this.held = [];
    this.heldBytes = 0;
    return ok;
  }

  /** @internal Sends it again on a new connection. */
  retry(): void {
    this.retried = true;
    this.connection = undefined;
    this.pool.dispatch(this, true);
  }
}

const CONNECTING = 0;
const IDLE = 1;
const AWAIT_HEAD = 2;
const BODY_LENGTH = 3;
const BODY_CHUNKED = 4;
const BODY_UNTIL_CLOSE = 5;
const DEAD = 6;

/** One connection to the target. */
class UpstreamConnection {
  readonly socket: Socket;
  private readonly pool: H1Pool;
  private state = CONNECTING;
  private request: UpstreamRequest | undefined;
  /** Answered a request before: a close before any byte may be the keep-alive race. */
  private reused = false;
  private gotBytes = false;
  headWritten = false;
  /** When the current wait (connect, response head, body silence, idle in the pool) times out. */
  deadline = 0;
  private pending: Buffer | undefined;
  private scanFrom = 0;
  private left = 0;
  private decoder: ChunkedDecoder | undefined;
  private rawChunks = true;
  private readonly onChunkData = (buf: Buffer, start: number, end: number): void => {
    const request = this.request;
    if (request !== undefined && !request.handler.data(buf.subarray(start, end)))
      this.pauseReading();
  };
  /** Reading is paused until the client drains (backpressure). */
  private paused = false;
  /** The buffer plain-TCP reads go into, reused while no write still holds it. */
  private readBuffer: Buffer | undefined;

  constructor(pool: H1Pool) {
    this.pool = pool;
    const { options } = pool;
    const { host, port } = options;
    let socket: Socket;
    if (options.tls) {
      socket = tls.connect({
        host,
        port,
        ALPNProtocols: ['http/1.1'],
        ...(isIP(host) === 0 ? { servername: host } : {}),
      });
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
    } else {
      // Reads land in one reused buffer instead of a new 64 KiB allocation each: with large
      // bodies those allocations were what made V8 run a mark-compact every ~100 ms.
      socket = net.connect({
        host,
        port,
        onread: {
          buffer: () => (this.readBuffer ??= Buffer.allocUnsafeSlow(READ_BYTES)),
          callback: (bytes: number, buf: Uint8Array) => this.onRead(bytes, buf),
        },
      });
    }
    socket.setNoDelay(true);
    this.socket = socket;
    this.deadline = deadlineIn(options.connectMs);
    watchDeadline(this);
    socket.once(options.tls ? 'secureConnect' : 'connect', () => this.onConnect());
    socket.on('end', () => this.onEnd());
    socket.on('error', (err: Error) => this.onError(err));
    socket.on('close', () => this.onClose());
    socket.on('drain', () => this.request?.handler.bodyDrained());
  }

  start(request: UpstreamRequest): void {
    this.request = request;
    request.connection = this;
    this.gotBytes = false;
    this.headWritten = false;
    if (request.done) {
      // Aborted before it got here.
      this.socket.destroy();
      return;
    }
    if (this.state === IDLE) {
      this.reused = true;
      this.sendHead();
    }
  }

  private onConnect(): void {
    if (this.state !== CONNECTING) return;
    this.state = IDLE;
    if (this.request !== undefined) this.sendHead();
  }

  private sendHead(): void {
    const request = this.request;
    if (request === undefined) return;
    const socket = this.socket;
    this.state = AWAIT_HEAD;
    this.deadline = deadlineIn(this.pool.options.headerMs);
    if (this.paused) this.resumeReading();
    this.headWritten = true;
    request.sent = true;
    if (request.held.length === 0) {
      socket.write(request.head, 'latin1');
      return;
    }
    socket.cork();
    socket.write(request.head, 'latin1');
    const ok = request.flushHeld(socket);
    socket.uncork();
    if (ok) request.handler.bodyDrained();
  }

  /** A read into the reused buffer (plain TCP); returns false to stop reading. */
  private onRead(bytes: number, buf: Uint8Array): boolean {
    const handler = this.request?.handler;
    this.onData(Buffer.from(buf.buffer, buf.byteOffset, bytes));
    // Bytes of this buffer may still wait in the client's write queue: the next read must not
    // overwrite them, so it gets a new buffer (this one is freed with the write).
    if (handler !== undefined && !handler.flushed()) this.readBuffer = undefined;
    return !this.paused;
  }

  private pauseReading(): void {
    this.paused = true;
    this.socket.pause();
  }

  /** @internal Reading may go on. */
  resumeReading(): void {
    this.paused = false;
    this.socket.resume();
  }

  private onData(chunk: Buffer): void {
    const request = this.request;
    if (request === undefined || this.state === IDLE || this.state === CONNECTING) {
      // Bytes nobody asked for: the connection cannot be trusted with the next request.
      this.socket.destroy();
      return;
    }
    this.gotBytes = true;
    // Silence is timed from the last byte once the body flows; the head's wait is not extended.
    if (this.state !== AWAIT_HEAD) this.deadline = deadlineIn(this.pool.options.idleMs);
    try {
      this.read(chunk, 0, request);
      if (this.request === request && !request.done) request.handler.flush();
    } catch (err) {
      this.fail(
        new UpstreamFailure('bad-response', `invalid response: ${(err as Error).message}`, err),
      );
    }
  }

  private read(chunk: Buffer, at: number, request: UpstreamRequest): void {
    let buf = chunk;
    let i = at;
    if (this.state === AWAIT_HEAD) {
      if (this.pending !== undefined) {
        buf = Buffer.concat([this.pending, chunk.subarray(at)]);
        this.pending = undefined;
        i = 0;
      }
      for (;;) {
        const end = findHeadEnd(buf, i, Math.max(i, this.scanFrom));
        if (end < 0) {
          if (buf.length - i > MAX_RESPONSE_HEAD) throw new H1Error(502, 'response head too large');
          // A copy: the read buffer is reused.
          this.pending = Buffer.from(buf.subarray(i));
          this.scanFrom = resumeAt(this.pending.length, 0);
          return;
        }
        this.scanFrom = 0;
        if (end - i > MAX_RESPONSE_HEAD) throw new H1Error(502, 'response head too large');
        const head = parseResponseHead(buf, i, end);
        i = end;
        if (head.status >= 100 && head.status < 200) {
          // Interim (100 Continue, 103 Early Hints): the final answer follows.
          if (head.status === 101) throw new H1Error(502, 'unexpected 101 Switching Protocols');
          if (i === buf.length) return;
          continue;
        }
        const noBody = request.noBodyExpected || head.status === 204 || head.status === 304;
        this.deadline = deadlineIn(this.pool.options.idleMs);
        this.rawChunks = request.handler.head(head, noBody);
        if (request.done) return;
        if (noBody || (!head.chunked && head.contentLength === 0)) {
          this.finish(request, head.close, buf.length - i);
          return;
        }
        this.keepAlive = !head.close;
        if (head.chunked) {
          this.state = BODY_CHUNKED;
          this.decoder = new ChunkedDecoder(502, undefined, undefined, true);
        } else if (head.contentLength >= 0) {
          this.state = BODY_LENGTH;
          this.left = head.contentLength;
        } else this.state = BODY_UNTIL_CLOSE;
        break;
      }
    }
    if (i >= buf.length) return;
    if (this.state === BODY_LENGTH) {
      const end = Math.min(buf.length, i + this.left);
      this.left -= end - i;
      const part = i === 0 && end === buf.length ? buf : buf.subarray(i, end);
      const ok = request.handler.data(part);
      if (request.done) return;
      if (this.left === 0) this.finish(request, !this.keepAlive, buf.length - end);
      else if (!ok) this.pauseReading();
      return;
    }
    if (this.state === BODY_CHUNKED) {
      const decoder = this.decoder;
      if (decoder === undefined) return;
      let end: number;
      if (this.rawChunks) {
        end = decoder.push(buf, i, buf.length);
        // A trailer section goes out rewritten, without framing and hop-by-hop fields.
        const rawEnd = decoder.rawEnd(end);
        if (rawEnd > i && !request.handler.data(buf.subarray(i, rawEnd))) this.pauseReading();
        if (decoder.done && rawEnd < end && !request.done)
          request.handler.data(decoder.trailerSection());
      } else end = decoder.push(buf, i, buf.length, this.onChunkData);
      if (request.done) return;
      if (decoder.done) this.finish(request, !this.keepAlive, buf.length - end);
      return;
    }
    if (this.state === BODY_UNTIL_CLOSE) {
      const part = i === 0 ? buf : buf.subarray(i);
      if (!request.handler.data(part)) this.pauseReading();
    }
  }

  private keepAlive = true;

  /** The response is complete; `extra` bytes came after it (a broken target). */
  private finish(request: UpstreamRequest, close: boolean, extra: number): void {
    this.request = undefined;
    this.decoder = undefined;
    request.done = true;
    request.connection = undefined;
    const reusable = !close && extra === 0 && request.bodyEnded;
    if (reusable) {
      this.state = IDLE;
      this.deadline = deadlineIn(this.pool.options.keepAliveMs);
      this.pool.release(this);
    } else {
      this.state = DEAD;
      this.socket.destroy();
    }
    request.handler.end();
  }

  /** @internal Its deadline passed (the sweeper calls this). */
  expire(): void {
    const request = this.request;
    const { options } = this.pool;
    const state = this.state;
    this.socket.destroy();
    if (request === undefined) return;
    if (state === CONNECTING)
      this.fail(
        new UpstreamFailure('connect-timeout', `connect timeout after ${options.connectMs} ms`),
      );
    else if (state === AWAIT_HEAD)
      this.fail(
        new UpstreamFailure('header-timeout', `no response head within ${options.headerMs} ms`),
      );
    else this.fail(new UpstreamFailure('idle-timeout', `response idle for ${options.idleMs} ms`));
  }

  private onEnd(): void {
    const request = this.request;
    if (this.state === BODY_UNTIL_CLOSE && request !== undefined) {
      // The body ran to the close, as announced.
      this.request = undefined;
      this.state = DEAD;
      request.done = true;
      this.socket.destroy();
      request.handler.end();
      return;
    }
    this.socket.destroy();
  }

  private onError(err: Error): void {
    if (this.state === CONNECTING) {
      this.fail(new UpstreamFailure('connect', `cannot connect: ${describe(err)}`, err));
      return;
    }
    this.fail(new UpstreamFailure('reset', `connection failed: ${describe(err)}`, err));
  }

  private onClose(): void {
    this.state = DEAD;
    timed.delete(this);
    this.pool.forget(this);
    if (this.request !== undefined)
      this.fail(
        new UpstreamFailure(
          'reset',
          'the target closed the connection before the response was complete',
        ),
      );
  }

  private fail(failure: UpstreamFailure): void {
    const request = this.request;
    this.request = undefined;
    this.state = DEAD;
    this.socket.destroy();
    if (request === undefined || request.done) return;
    // The keep-alive race: a reused connection closed before any byte of the answer.
    if (
      failure.kind === 'reset' &&
      this.reused &&
      !this.gotBytes &&
      !request.retried &&
      !request.hadBody &&
      request.idempotent
    ) {
      request.retry();
      return;
    }
    request.done = true;
    request.connection = undefined;
    request.handler.error(failure);
  }
}

function describe(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? `${code} ${err.message}` : err.message;
}
