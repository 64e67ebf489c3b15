import type { Socket } from 'node:net';
import { ChunkedDecoder } from './chunked.js';
import { ChunkQueue } from './chunk-queue.js';
import {
  findHeadEnd,
  H1Error,
  parseRequestHead,
  requestLineOf,
  resumeAt,
  skipLeadingCrlf,
} from './head.js';
import type { HeadOptions, RequestHead, RequestLine } from './head.js';

/** Limits and timeouts of one listener's connections. */
export interface H1ServerOptions {
  readonly maxHeaderBytes: number;
  /** A request head must be complete this long after its first byte (slowloris). */
  readonly headerTimeoutMs: number;
  /** A connection with nothing happening for this long is closed. */
  readonly idleTimeoutMs: number;
  /** The largest chunked request body (its data), 0 for no limit; a Content-Length is the handler's to check. */
  readonly maxBodyBytes: number;
  /** The longest silence between two reads of a request body (408 after it); 0 for none. */
  readonly bodyTimeoutMs: number;
  /**
   * After its first `bodyTimeoutMs`, a body must average this many bytes a second (time the
   * gateway paused it excluded), or it gets 408; 0 for no minimum.
   */
  readonly bodyMinBytesPerSecond: number;
  /** What the head parser does with field names holding `_` (see {@link HeadOptions}). */
  readonly head: HeadOptions;
}

/** What the gateway does with what a connection parsed. */
export interface H1Handler {
  /** A request head arrived; the handler answers through `conn`'s respond methods. */
  request(conn: H1ServerConnection, head: RequestHead): void;
  /** An upgrade request: the socket is the handler's now, with the bytes after the head. */
  upgrade(socket: Socket, head: RequestHead, rest: Buffer): void;
  /**
   * A head the connection refused; the handler writes the answer (the connection then closes).
   * `line` is the method and target as far as they could be read, for the log.
   */
  refuse(socket: Socket, error: H1Error, line: RequestLine): void;
}

/** Where the request body goes once the handler is ready for it. */
export interface BodyConsumer {
  /** Raw body bytes, framing included (chunked stays chunked); false asks for a pause. */
  write(chunk: Buffer): boolean;
  /** The body is complete. */
  finish(): void;
  /** The body failed: a malformed chunk (400), too large (413), or the client left. */
  fail(error: H1Error | undefined): void;
}

/** What answers the request in progress hears of its client connection. */
export interface ExchangeEvents {
  /** The client went before the response was complete. */
  aborted(): void;
  /** The client's socket drained: the response may be written again. */
  drained(): void;
}

/** How the response body travels to the client. */
export const BODY_NONE = 0;
/** Bytes pass as they are: a Content-Length body, or chunked to chunked. */
export const BODY_RAW = 1;
/** Data ranges are chunk-encoded here (the target's body ran to its close). */
export const BODY_ENCODE = 2;
/** Data passes raw and the connection closes after it (an HTTP/1.0 client, no length). */
export const BODY_UNTIL_CLOSE = 3;

const PHASE_HEAD = 0;
const PHASE_BODY = 1;
/** The request is read; its response is being written. */
const PHASE_RESPONSE = 2;
/** After the response: the rest of an unread body is read and dropped. */
const PHASE_DISCARD = 3;
const PHASE_CLOSED = 4;

/** Unread body (or pipelined requests) held before the client is paused. */
export const HOLD_BYTES = 64 * 1024;
/** An unread body up to this size is read and dropped to keep the connection; more closes it. */
const MAX_DISCARD_BYTES = 1024 * 1024;

/** A first body chunk up to this size is copied behind the head rather than written beside it. */
const COPY_BODY_BYTES = 16 * 1024;

function ignore(): void {
  // Socket errors end in 'close', which is handled there.
}

const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
const LF = 10;

/**
 * One client connection of an HTTP/1.1 listener: reads request heads with the
 * strict parser, hands each request to the handler, carries its body to a
 * {@link BodyConsumer} with backpressure, and writes the response. Requests
 * are answered in order; pipelined ones wait, held (and the client paused)
 * while the current one is answered. A response that ends before its request
 * body was read drops the rest (up to 1 MiB) to keep the connection.
 *
 * Bytes read ahead (pipelined requests, the start of an incomplete head) are
 * held as a queue of the chunks read, never copied onto one another: reading
 * stops while more than HOLD_BYTES are held and goes on once they are
 * parsed. Only a head that straddles chunks is joined into one buffer,
 * bounded by the head limit. One request per read (the common case) never
 * touches the queue.
 */
export class H1ServerConnection {
  readonly socket: Socket;
  private readonly handler: H1Handler;
  private readonly options: H1ServerOptions;
  private phase: number = PHASE_HEAD;
  /** Bytes read and not parsed yet: requests that came while one is answered, or an incomplete head. */
  private readonly queue = new ChunkQueue();
  /** The queue is the start of a head and its continuations (no line end among the latter). */
  private headPartial = false;
  private drainScheduled = false;
  private scanFrom = 0;
  private headTimer: NodeJS.Timeout | undefined;
  /** Times the silence of a request body; created once, refreshed by each body read. */
  private bodyTimer: NodeJS.Timeout | undefined;
  /** When the body must be complete at the minimum rate; each byte read moves it on. */
  private bodyDeadlineMs = 0;
  /** When reading the body was paused by the gateway (-1: it is not). */
  private bodyPausedAtMs = -1;
  // The request being read.
  private head: RequestHead | undefined;
  private bodyLeft = 0;
  private decoder: ChunkedDecoder | undefined;
  private consumer: BodyConsumer | undefined;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private bodyDone = true;
  private paused = false;
  /** The body's consumer is full, or too many body bytes wait for it: reading waits. */
  private bodyFull = false;
  private discarded = 0;
  // The response being written.
  private responding = false;
  private headSent = false;
  /** A response head written but not yet sent (see writeHead). */
  private headOut: string | undefined;
  private bodyMode = BODY_NONE;
  private closeAfter = false;
  private clientEnded = false;
  /** Reading stopped until the client drains the answers written to it. */
  private waitingDrain = false;
  /** Whoever answers the request in progress (set by the handler, cleared when it is answered). */
  exchange: ExchangeEvents | undefined;

  constructor(socket: Socket, handler: H1Handler, options: H1ServerOptions) {
    this.socket = socket;
    this.handler = handler;
    this.options = options;
    socket.setNoDelay(true);
    socket.setTimeout(options.idleTimeoutMs);
    socket.on('timeout', this.handlers.timeout);
    socket.on('data', this.handlers.data);
    socket.on('end', this.handlers.end);
    socket.on('error', ignore);
    socket.on('close', this.handlers.close);
    socket.on('drain', this.handlers.drain);
  }

  /** This connection's socket listeners, kept so that handing the socket over removes only them. */
  private readonly handlers = {
    // The listener's idleMs is for a connection with no request in flight; a request in
    // flight is timed by the upstream's timeouts (a client that stops reading included).
    timeout: (): void => {
      if (!this.responding) this.socket.destroy();
    },
    data: (chunk: Buffer): void => this.onData(chunk),
    end: (): void => this.onEnd(),
    close: (): void => this.onClose(),
    drain: (): void => this.onSocketDrain(),
    backlog: (): void => this.drainQueue(),
    bodyTimeout: (): void => this.onBodyTimeout(),
  };

  /** Bytes read and held here, not yet parsed or passed on (for tests and diagnostics). */
  get bufferedBytes(): number {
    return this.queue.bytes + this.heldBytes;
  }

  /** True once the response head went out. */
  get headersSent(): boolean {
    return this.headSent;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  // --- Reading.

  private onData(chunk: Buffer): void {
    if (!this.queue.empty) this.queued(chunk);
    else this.dispatch(chunk);
  }

  /** Handles the next bytes in order (none are queued before them). */
  private dispatch(chunk: Buffer): void {
    const phase = this.phase;
    if (phase === PHASE_HEAD) this.readHeads(chunk);
    else if (phase === PHASE_BODY || phase === PHASE_DISCARD) {
      const end = this.readBody(chunk, 0);
      if (end >= 0 && end < chunk.length) this.afterBody(chunk, end);
    } else if (phase === PHASE_RESPONSE) this.hold(chunk, false);
  }

  /** A read while bytes are queued: they come first. */
  private queued(chunk: Buffer): void {
    if (!this.headPartial) {
      // Pipelined bytes behind the ones held; a drain is due (after an answer or the client's drain).
      this.hold(chunk, false);
      return;
    }
    if (chunk.indexOf(LF) < 0) {
      // The head goes on without a line end (1-byte segments, say): kept without a copy.
      this.queue.push(chunk);
      if (this.queue.bytes > this.options.maxHeaderBytes)
        this.refuse(new H1Error(431, 'request head too large'), this.queue.first, 0);
      return;
    }
    this.headPartial = false;
    this.readHeads(this.queue.takeAll(chunk));
  }

  /**
   * Parses requests from `chunk` (after any incomplete head kept from
   * before), in a loop: pipelined requests answered at once (a 404) must not
   * recurse.
   */
  private readHeads(chunk: Buffer): void {
    let buf = chunk;
    let at = 0;
    while (this.phase === PHASE_HEAD) {
      const start = skipLeadingCrlf(buf, at, buf.length);
      if (start === buf.length) {
        // Empty lines only: they start the head's clock too (a client cannot idle on CRLFs).
        if (at < buf.length) this.startHeadTimer();
        return;
      }
      let end: number;
      try {
        end = findHeadEnd(buf, start, Math.max(start, this.scanFrom));
      } catch (err) {
        this.refuse(err as H1Error, buf, start);
        return;
      }
      if (end < 0) {
        if (buf.length - start > this.options.maxHeaderBytes) {
          this.refuse(new H1Error(431, 'request head too large'), buf, start);
          return;
        }
        const tail = start === 0 ? buf : buf.subarray(start);
        this.scanFrom = resumeAt(tail.length, 0);
        if (!this.queue.empty) {
          // The head goes on in the chunks held: it is parsed from one buffer.
          buf = this.queue.joinHead(tail, this.options.maxHeaderBytes);
          at = 0;
          continue;
        }
        this.queue.unshift(tail);
        this.headPartial = true;
        this.startHeadTimer();
        return;
      }
      this.scanFrom = 0;
      if (this.headTimer !== undefined) {
        clearTimeout(this.headTimer);
        this.headTimer = undefined;
      }
      if (end - start > this.options.maxHeaderBytes) {
        this.refuse(new H1Error(431, 'request head too large'), buf, start);
        return;
      }
      let head: RequestHead;
      try {
        head = parseRequestHead(buf, start, end, this.options.head);
      } catch (err) {
        this.refuse(err instanceof H1Error ? err : new H1Error(400, String(err)), buf, start);
        return;
      }
      if (head.upgrade) {
        this.phase = PHASE_CLOSED;
        this.detach();
        this.handler.upgrade(this.socket, head, this.queue.takeAll(buf.subarray(end), true));
        return;
      }
      // The handler may answer at once (a 404), which moves the phase on.
      this.startRequest(head);
      at = end;
      if (at === buf.length) return;
      if (this.phaseNow() === PHASE_HEAD && this.socket.writableNeedDrain) {
        // Answers pile up unread: the next requests wait until the client reads.
        this.holdUntilDrain(buf.subarray(at));
        return;
      }
      const phase = this.phaseNow();
      if (phase === PHASE_BODY || phase === PHASE_DISCARD) {
        at = this.readBody(buf, at);
        if (at < 0 || at === buf.length) return;
      }
      if (this.phaseNow() === PHASE_RESPONSE) {
        this.hold(buf.subarray(at), true);
        return;
      }
    }
  }

  private startHeadTimer(): void {
    this.headTimer ??= setTimeout(() => this.onHeadTimeout(), this.options.headerTimeoutMs);
  }

  // --- The bytes read ahead.

  /** Holds bytes that must wait; past HOLD_BYTES the client is paused. */
  private hold(part: Buffer, front: boolean): void {
    if (part.length === 0) return;
    if (front) this.queue.unshift(part);
    else this.queue.push(part);
    if (this.queue.bytes > HOLD_BYTES) this.pause();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(this.handlers.backlog);
  }

  /** Parses the queued bytes (in a new tick: not inside the handler's answer); reads on once few are left. */
  private drainQueue(): void {
    this.drainScheduled = false;
    while (!this.queue.empty && !this.headPartial && !this.waitingDrain) {
      const phase = this.phase;
      if (phase === PHASE_RESPONSE || phase === PHASE_CLOSED) break;
      this.dispatch(this.queue.shift());
    }
    this.resumeIfCan();
  }

  /** The phase, read afresh (a handler call may have moved it on). */
  private phaseNow(): number {
    return this.phase;
  }

  /** What follows a body in `buf[at…]`: the next request, read now or held. */
  private afterBody(buf: Buffer, at: number): void {
    if (this.phase === PHASE_HEAD) this.readHeads(buf.subarray(at));
    else if (this.phase === PHASE_RESPONSE) this.hold(buf.subarray(at), true);
  }

  private startRequest(head: RequestHead): void {
    this.head = head;
    this.responding = true;
    this.headSent = false;
    this.closeAfter = head.close;
    this.held = [];
    this.heldBytes = 0;
    this.consumer = undefined;
    this.bodyError = undefined;
    this.bodyFull = false;
    if (head.chunked) {
      this.decoder = new ChunkedDecoder(
        400,
        this.options.maxHeaderBytes,
        undefined,
        this.options.head.underscores === 'pass',
      );
      this.bodyDone = false;
      this.phase = PHASE_BODY;
      this.armBodyTimer();
    } else if (head.contentLength > 0) {
      this.decoder = undefined;
      this.bodyLeft = head.contentLength;
      this.bodyDone = false;
      this.phase = PHASE_BODY;
      this.armBodyTimer();
    } else {
      this.decoder = undefined;
      this.bodyDone = true;
      this.phase = PHASE_RESPONSE;
    }
    this.handler.request(this, head);
  }

  /**
   * Reads body bytes from `buf[at…]`. Returns where the body ended in `buf`
   * (`buf.length` when it goes on), or -1 when reading stopped for good.
   */
  private readBody(buf: Buffer, at: number): number {
    let end: number;
    /** Where the bytes passed on as they are stop (a trailer section is rewritten). */
    let rawEnd: number;
    const decoder = this.decoder;
    if (decoder !== undefined) {
      try {
        end = decoder.push(buf, at, buf.length);
      } catch (err) {
        this.failBody(err as H1Error);
        return -1;
      }
      rawEnd = decoder.rawEnd(end);
      if (decoder.done) this.bodyDone = true;
      else if (this.options.maxBodyBytes > 0 && decoder.total > this.options.maxBodyBytes) {
        this.failBody(new H1Error(413, 'the body is over the limit'));
        return -1;
      }
    } else {
      end = Math.min(buf.length, at + this.bodyLeft);
      rawEnd = end;
      this.bodyLeft -= end - at;
      if (this.bodyLeft === 0) this.bodyDone = true;
    }
    if (this.phase === PHASE_BODY) {
      this.bodyTimer?.refresh();
      // A body that is complete here passes, however late its last byte.
      const minRate = this.options.bodyMinBytesPerSecond;
      if (minRate > 0 && !this.bodyDone && this.belowMinRate(end - at, minRate)) return -1;
    }
    if (rawEnd > at) {
      const part = at === 0 && rawEnd === buf.length ? buf : buf.subarray(at, rawEnd);
      if (this.phase === PHASE_DISCARD) {
        this.discarded += part.length;
        if (this.discarded > MAX_DISCARD_BYTES) {
          this.socket.destroy();
          return -1;
        }
      } else this.deliver(part);
    }
    // A trailer section comes out of the decoder rewritten (framing and routing fields dropped).
    if (this.bodyDone && decoder !== undefined && rawEnd < end && this.phase !== PHASE_DISCARD)
      this.deliver(decoder.trailerSection());
    if (!this.bodyDone) return end;
    this.decoder = undefined;
    if (this.phase === PHASE_DISCARD) {
      this.phase = PHASE_HEAD;
      return end;
    }
    this.phase = PHASE_RESPONSE;
    this.consumer?.finish();
    return end;
  }

  private deliver(part: Buffer): void {
    const consumer = this.consumer;
    if (consumer !== undefined && this.held.length === 0) {
      if (!consumer.write(part)) this.pauseBody();
      return;
    }
    this.held.push(part);
    this.heldBytes += part.length;
    if (this.heldBytes > HOLD_BYTES) this.pauseBody();
  }

  private failBody(error: H1Error): void {
    if (this.phase === PHASE_DISCARD) {
      // A body being dropped after its answer broke: nobody to tell, the connection is done.
      this.phase = PHASE_CLOSED;
      this.socket.destroy();
      return;
    }
    this.decoder = undefined;
    this.bodyDone = true;
    this.closeAfter = true;
    const consumer = this.consumer;
    if (consumer !== undefined) consumer.fail(error);
    else this.bodyError = error;
    this.phase = PHASE_RESPONSE;
  }

  /** A body failure that came before the consumer did. */
  private bodyError: H1Error | undefined;

  /**
   * Starts taking the request body: held bytes first, then as they arrive.
   * `end` (or `fail`) is called on the consumer when the body is over.
   */
  consumeBody(consumer: BodyConsumer): void {
    this.consumer = consumer;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    let ok = true;
    for (const part of held) ok = consumer.write(part) && ok;
    if (this.bodyError !== undefined) {
      const error = this.bodyError;
      this.bodyError = undefined;
      consumer.fail(error);
      return;
    }
    if (this.bodyDone && this.phase !== PHASE_BODY) consumer.finish();
    if (ok) this.resumeBody();
    else this.pauseBody();
  }

  /** The consumer drained: read on. */
  resumeBody(): void {
    this.bodyFull = false;
    this.resumeIfCan();
  }

  private pauseBody(): void {
    this.bodyFull = true;
    this.pause();
  }

  /** Reads on unless something still asks for a pause: unread answers, held bytes, a full consumer. */
  private resumeIfCan(): void {
    if (
      this.waitingDrain ||
      this.bodyFull ||
      this.queue.bytes > HOLD_BYTES ||
      this.phase === PHASE_CLOSED
    )
      return;
    this.resume();
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
    if (this.phase === PHASE_BODY && this.options.bodyMinBytesPerSecond > 0)
      this.bodyPausedAtMs = performance.now();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
    // The body's silence (and its slowness) is the client's only while the gateway reads.
    if (this.phase === PHASE_BODY) this.bodyTimer?.refresh();
    if (this.bodyPausedAtMs >= 0) {
      this.bodyDeadlineMs += performance.now() - this.bodyPausedAtMs;
      this.bodyPausedAtMs = -1;
    }
  }

  private armBodyTimer(): void {
    const ms = this.options.bodyTimeoutMs;
    // The minimum rate counts from here even without a silence timer (ms 0: no grace period).
    if (this.options.bodyMinBytesPerSecond > 0) {
      this.bodyDeadlineMs = performance.now() + ms;
      this.bodyPausedAtMs = -1;
    }
    if (ms <= 0) return;
    if (this.bodyTimer === undefined) {
      this.bodyTimer = setTimeout(this.handlers.bodyTimeout, ms);
      this.bodyTimer.unref();
    } else this.bodyTimer.refresh();
  }

  /**
   * Counts `bytes` of body read against the minimum rate (each buys 1/rate s), and refuses the
   * body (408) once it is behind: a client that trickles a byte every few seconds is cut at its
   * next byte, one that stops by the silence timer.
   */
  private belowMinRate(bytes: number, rate: number): boolean {
    this.bodyDeadlineMs += (bytes * 1000) / rate;
    if (performance.now() <= this.bodyDeadlineMs) return false;
    this.failBody(new H1Error(408, `request body slower than ${rate} bytes/s`));
    return true;
  }

  /** No body byte for `bodyTimeoutMs` while the gateway was reading: 408, the request stops. */
  private onBodyTimeout(): void {
    if (this.phase !== PHASE_BODY || this.paused) return;
    this.failBody(
      new H1Error(408, `request body idle for more than ${this.options.bodyTimeoutMs} ms`),
    );
  }

  // --- Writing.

  /** Sends `100 Continue` (the client waits for it before sending its body). */
  writeContinue(): void {
    this.socket.write(CONTINUE);
  }

  /**
   * Writes the response head. `fields` is the header block (each line
   * ending in CRLF) without framing or connection fields; `framing` is what
   * the body needs: `content-length` given, chunked, or neither. Returns the
   * body mode for {@link writeBody}.
   */
  writeHead(
    status: number,
    reason: string,
    fields: string,
    length: number,
    chunked: boolean,
    noBody: boolean,
  ): number {
    const head = this.head;
    const http10 = head?.versionMinor === 0;
    let mode = BODY_RAW;
    let framing = '';
    if (noBody) {
      mode = BODY_NONE;
      // HEAD and 304 keep the length the GET would have had.
      if (length >= 0 && status !== 204) framing = `content-length: ${length}\r\n`;
    } else if (length >= 0) framing = `content-length: ${length}\r\n`;
    else if (http10) {
      mode = BODY_UNTIL_CLOSE;
      this.closeAfter = true;
    } else if (chunked) framing = 'transfer-encoding: chunked\r\n';
    else {
      mode = BODY_ENCODE;
      framing = 'transfer-encoding: chunked\r\n';
    }
    // A body still unread when the response ends is dropped, up to a bound; past it, close.
    if (this.clientEnded) this.closeAfter = true;
    const connection = this.closeAfter
      ? 'connection: close\r\n'
      : http10
        ? 'connection: keep-alive\r\n'
        : '';
    this.bodyMode = mode;
    this.headSent = true;
    // Held until the body's first bytes (or the end, or `flushHead`), so both leave in one write.
    this.headOut = `HTTP/1.1 ${status} ${reason}\r\n${fields}${framing}${connection}\r\n`;
    return mode;
  }

  /** Writes body bytes in the mode writeHead returned; false when the client is full. */
  writeBody(chunk: Buffer): boolean {
    const socket = this.socket;
    const head = this.headOut;
    if (this.bodyMode === BODY_ENCODE) {
      socket.cork();
      if (head !== undefined) {
        this.headOut = undefined;
        socket.write(head, 'latin1');
      }
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      const ok = socket.write(CRLF);
      socket.uncork();
      return ok;
    }
    if (head === undefined) return socket.write(chunk);
    this.headOut = undefined;
    if (chunk.length <= COPY_BODY_BYTES) {
      // One buffer, one write: cheaper than a gathered write of two for a small body.
      const out = Buffer.allocUnsafe(head.length + chunk.length);
      out.write(head, 0, 'latin1');
      chunk.copy(out, head.length);
      return socket.write(out);
    }
    socket.cork();
    socket.write(head, 'latin1');
    const ok = socket.write(chunk);
    socket.uncork();
    return ok;
  }

  /** Sends a response head that is still held (the body is not here yet). */
  flushHead(): void {
    const head = this.headOut;
    if (head === undefined) return;
    this.headOut = undefined;
    this.socket.write(head, 'latin1');
  }

  /** Ends the response; the next request (if any) is read. */
  endResponse(): void {
    const head = this.headOut;
    this.headOut = undefined;
    if (this.bodyMode === BODY_ENCODE)
      this.socket.write(head === undefined ? LAST_CHUNK : `${head}0\r\n\r\n`, 'latin1');
    else if (head !== undefined) this.socket.write(head, 'latin1');
    this.finish();
  }

  /** A complete response in one write (errors, 404s). */
  respond(status: number, reason: string, fields: string, body: string, close = false): void {
    if (close) this.closeAfter = true;
    // A HEAD request gets the head alone (with the length the body would have had).
    const noBody = this.head?.method === 'HEAD';
    this.writeHead(status, reason, fields, Buffer.byteLength(body, 'latin1'), false, noBody);
    const head = this.headOut ?? '';
    this.headOut = undefined;
    this.socket.write(noBody ? head : head + body, 'latin1');
    this.finish();
  }

  /** Cuts the connection: the only signal left once a response is under way. */
  destroy(): void {
    this.socket.destroy();
  }

  private finish(): void {
    this.responding = false;
    this.bodyMode = BODY_NONE;
    this.head = undefined;
    this.exchange = undefined;
    this.bodyFull = false;
    if (this.closeAfter || this.clientEnded) {
      this.endConnection();
      return;
    }
    if (!this.bodyDone) {
      // The answer came before the body was read: read the rest and drop it.
      this.consumer = undefined;
      this.held = [];
      this.heldBytes = 0;
      this.phase = PHASE_DISCARD;
      this.discarded = 0;
      this.resumeIfCan();
      if (!this.queue.empty) this.scheduleDrain();
      return;
    }
    this.phase = PHASE_HEAD;
    if (this.socket.writableNeedDrain) {
      // The client is not reading its answers: read no more requests until it does.
      this.holdUntilDrain(undefined);
      return;
    }
    if (this.queue.empty) {
      this.resume();
      return;
    }
    // Requests that came while this one was answered (pipelining) are read next; reading goes on
    // only while few bytes are held, so a client cannot pile up an unbounded backlog.
    this.resumeIfCan();
    this.scheduleDrain();
  }

  /** Stops reading requests until the client drains its answers; `rest` is kept for then. */
  private holdUntilDrain(rest: Buffer | undefined): void {
    if (rest !== undefined && rest.length > 0) this.queue.unshift(rest);
    this.waitingDrain = true;
    this.pause();
  }

  private onSocketDrain(): void {
    if (this.waitingDrain) {
      this.waitingDrain = false;
      if (this.phase !== PHASE_HEAD) return;
      this.resumeIfCan();
      if (!this.queue.empty) this.scheduleDrain();
      return;
    }
    this.exchange?.drained();
  }

  // --- Closing.

  /** Refuses the head that starts at `buf[start]` (the method and target are read from there for the log). */
  private refuse(error: H1Error, buf: Buffer | undefined, start: number): void {
    const line = requestLineOf(buf, start);
    this.phase = PHASE_CLOSED;
    this.clearQueue();
    this.detach();
    this.handler.refuse(this.socket, error, line);
  }

  private onHeadTimeout(): void {
    this.headTimer = undefined;
    if (this.phase !== PHASE_HEAD) return;
    this.refuse(new H1Error(408, 'request head not complete in time'), this.queue.first, 0);
  }

  private onEnd(): void {
    this.clientEnded = true;
    // A client that ends its side before its answer came has given up on it (as nginx reads a
    // FIN): the request to the target stops.
    if (this.responding) this.socket.destroy();
    else this.socket.end();
  }

  private onClose(): void {
    this.phase = PHASE_CLOSED;
    if (this.headTimer !== undefined) clearTimeout(this.headTimer);
    if (this.bodyTimer !== undefined) clearTimeout(this.bodyTimer);
    if (this.responding) {
      this.responding = false;
      const consumer = this.consumer;
      this.consumer = undefined;
      if (consumer !== undefined && !this.bodyDone) consumer.fail(undefined);
      this.exchange?.aborted();
    }
  }

  /** Stops listening to the socket: someone else owns it now. */
  private detach(): void {
    const socket = this.socket;
    if (this.headTimer !== undefined) clearTimeout(this.headTimer);
    this.headTimer = undefined;
    if (this.bodyTimer !== undefined) clearTimeout(this.bodyTimer);
    this.bodyTimer = undefined;
    const { handlers } = this;
    socket.off('data', handlers.data);
    socket.off('end', handlers.end);
    socket.off('timeout', handlers.timeout);
    socket.off('drain', handlers.drain);
    socket.off('close', handlers.close);
    socket.setTimeout(0);
  }

  /**
   * The listener is closing: a connection waiting for a request ends now, a
   * busy one after its response (which says `connection: close`).
   */
  closeWhenIdle(): void {
    this.closeAfter = true;
    if (this.phase === PHASE_HEAD) {
      this.detach();
      this.endConnection();
    }
  }

  /**
   * Ends the gateway's side. Bytes still held are dropped, and reading goes
   * on (what comes is dropped too): a paused socket would never see the
   * client's FIN, and a half-open connection would then stay forever.
   */
  private endConnection(): void {
    this.phase = PHASE_CLOSED;
    this.clearQueue();
    this.socket.end();
    this.paused = false;
    this.socket.resume();
  }

  private clearQueue(): void {
    this.queue.clear();
    this.headPartial = false;
  }
}
