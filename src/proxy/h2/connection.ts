import type { Socket } from 'node:net';
import {
  DEFAULT_MAX_FRAME,
  FLAG,
  FRAME,
  FrameBatch,
  FrameReader,
  H2_ERROR,
  H2ConnectionError,
  MAX_WINDOW,
  PREFACE,
  SETTING,
  unpad,
} from './frames.js';
import { HpackDecoder, HpackEncoder, HpackError } from './hpack.js';
import { H2Stream, type StreamHandler } from './stream.js';

export { H2Stream, type StreamHandler } from './stream.js';

/**
 * One HTTP/2 connection (RFC 9113) as the gateway's relay needs it: frames,
 * HPACK, streams, settings, PING, GOAWAY and flow control, with no request
 * or response objects. Header lists are flat arrays (name, value, ...);
 * DATA payloads are handed over as views of the bytes read, never copied.
 *
 * The same class serves both ends: `server` faces a client (it expects the
 * preface and accepts streams), `client` faces a target (it sends the
 * preface and opens streams). Everything written in one turn of the event
 * loop leaves in one socket write.
 */

export interface ConnectionOptions {
  readonly role: 'server' | 'client';
  /** server role: a new stream from the peer, with its request headers. */
  onStream?(stream: H2Stream, fields: string[], endStream: boolean): void;
  /** The connection is gone (socket closed); every open stream was reset first. */
  onClose?(connection: H2Connection): void;
  /** The peer sent GOAWAY: no new streams may be opened on this connection. */
  onGoaway?(connection: H2Connection): void;
  /** Largest decoded header list accepted, in RFC 9113 §6.5.2 octets. Default 64 KiB. */
  readonly maxHeaderListBytes?: number;
  /**
   * Our initial receive window per stream (SETTINGS_INITIAL_WINDOW_SIZE): what the
   * peer may send on a stream before we return credit. Default STREAM_WINDOW facing
   * clients, UPSTREAM_STREAM_WINDOW facing targets (a stream's user may `grant()` more).
   */
  readonly streamWindowBytes?: number;
  /**
   * server role: connection timers, checked by `checkTimers` (the listener's
   * sweeper). `headerMs` bounds the preface with the first SETTINGS, and each
   * header block (HEADERS + CONTINUATION); `idleMs` closes a connection that
   * had no open stream for that long.
   */
  readonly timeouts?: { readonly headerMs: number; readonly idleMs: number };
}

/*
 * Limits and timers. Every frame costs O(1) against them; nothing here
 * allocates per frame. RFC 9113 §5.1.2 (stream concurrency), §6.5 (SETTINGS),
 * §10.5 (denial of service: "an endpoint MAY treat activity that is
 * suspicious as a connection error of type ENHANCE_YOUR_CALM").
 */

/**
 * Our receive window per stream facing clients, advertised in SETTINGS: the most
 * a stream can have buffered in the gateway when the target does not take it.
 * 64 KiB, as nginx's http2_body_preread_size; not below 65,535, so a client
 * sending before it saw our SETTINGS never overruns it (RFC 9113 §6.9.2).
 */
const STREAM_WINDOW = 64 << 10;
/**
 * Our receive window per stream facing targets: what a target may always send
 * on a call's stream while its client does not read. The relay grants a call
 * more from its client connection's budget (see GrpcCall), so that many calls
 * of one client that reads nothing cannot make the gateway hold 64 KiB each.
 */
const UPSTREAM_STREAM_WINDOW = 16 << 10;
/** Our receive window for the whole connection, opened right after the preface. */
const CONNECTION_WINDOW = 16 << 20;
/**
 * Streams a client may have open at once on one connection: advertised as
 * SETTINGS_MAX_CONCURRENT_STREAMS and enforced with REFUSED_STREAM (§5.1.2).
 * 128 is nginx's default (http2_max_concurrent_streams).
 */
const MAX_CLIENT_STREAMS = 128;
/** Above this much unsent output the connection counts as congested: peers get no more credit. */
const CONGESTED_BYTES = 1 << 20;
const DEFAULT_WINDOW = 65_535;
const EMPTY = Buffer.alloc(0);
/** CONTINUATION frames one header block may take (empty ones would cost nothing otherwise). */
const MAX_CONTINUATIONS = 64;
/**
 * Stream churn (§10.5; CVE-2023-44487 Rapid Reset, CVE-2025-8671 MadeYouReset):
 * streams the client resets, and streams the gateway resets because of the
 * client's errors, share one allowance: a burst of RESET_BURST_STREAMS,
 * refilled at RESETS_PER_SECOND (nghttp2's defaults). Past it: GOAWAY ENHANCE_YOUR_CALM.
 */
const RESET_BURST_STREAMS = 1000;
const RESETS_PER_SECOND = 33;
/**
 * Streams the gateway resets because the client broke the protocol on them
 * (WINDOW_UPDATE of 0, a window overrun, frames after END_STREAM, a malformed
 * request) also draw from a much smaller allowance: a correct client makes
 * none, and each one may have cost an upstream stream already (MadeYouReset).
 * nginx answers the first with GOAWAY; a burst of FAULT_BURST_STREAMS leaves
 * room for a client with one bug, without letting an attacker make the
 * gateway open and cancel a thousand upstream streams per connection.
 */
const FAULT_BURST_STREAMS = 32;
const FAULTS_PER_SECOND = 1;
/**
 * Control frames (SETTINGS, PING, RST_STREAM, PRIORITY, WINDOW_UPDATE, empty
 * DATA without END_STREAM, empty CONTINUATION, unknown types) a peer may send: a token bucket of
 * CONTROL_BURST_FRAMES refilled at CONTROL_FRAMES_PER_SECOND, plus credit
 * earned by the peer's legitimate reasons to send them: each DATA frame we
 * send (it answers with WINDOW_UPDATE, grpc-go with a BDP PING) and each
 * stream opened. Whether the peer reads the answers does not matter (§6.5, §6.7, §10.5).
 */
const CONTROL_BURST_FRAMES = 1000;
const CONTROL_FRAMES_PER_SECOND = 100;
const CONTROL_CREDIT_PER_DATA_FRAME = 2;
const CONTROL_CREDIT_PER_STREAM = 2;
/** Earned credit is kept up to this many frames (a client answers DATA after it read it). */
const CONTROL_BANK_FRAMES = 10 * CONTROL_BURST_FRAMES;
/** Unread output beyond which PING and SETTINGS from the peer count as a flood. */
const FLOOD_BYTES = 16 << 20;
/**
 * A connection we ended (GOAWAY, then FIN) is destroyed this long after,
 * whatever the peer does: one that never closes its side would otherwise
 * hold the socket (FIN-WAIT-2) and its descriptor forever.
 */
const CLOSE_GRACE_MS = 2000;

export class H2Connection {
  readonly socket: Socket;
  readonly role: 'server' | 'client';
  readonly batch = new FrameBatch();
  readonly streams = new Map<number, H2Stream>();
  /** Streams holding data for lack of send window. */
  readonly blocked = new Set<H2Stream>();
  /** Streams whose user waits for this connection's socket to drain. */
  private readonly drainWaiters = new Set<() => void>();
  private readonly reader: FrameReader;
  private readonly decoder = new HpackDecoder();
  private readonly encoder = new HpackEncoder();
  private readonly options: ConnectionOptions;
  private readonly maxHeaderListBytes: number;
  /** Our initial receive window per stream (advertised in SETTINGS). */
  readonly streamWindow: number;
  private prefaceLeft: number;
  private scheduled = false;
  private nextStreamId: number;
  private lastPeerStreamId = 0;
  /** Header block being assembled from HEADERS + CONTINUATION. */
  private pendingBlock: Buffer[] | undefined;
  private pendingStreamId = 0;
  private pendingEnd = false;
  private pendingBytes = 0;
  private sendWindow = DEFAULT_WINDOW;
  private connectionOwed = 0;
  /** DATA bytes received and not yet returned to the peer as connection credit. */
  private connectionOutstanding = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  peerMaxFrame = DEFAULT_MAX_FRAME;
  peerMaxStreams = Number.POSITIVE_INFINITY;
  /** The peer's first SETTINGS arrived: its limits are known. */
  settled = false;
  /** Called once, when the peer's first SETTINGS arrive. */
  onSettled: (() => void) | undefined;
  /** A connection error was sent: what the peer sends next is not read. */
  private failed = false;
  /** Rapid-reset allowance (RFC 9113 §10.5; CVE-2023-44487): streams the client may still reset. */
  private resetTokens = RESET_BURST_STREAMS;
  /** Client-fault allowance (FAULT_BURST_STREAMS): streams the gateway may still reset for the client's errors. */
  private faultTokens = FAULT_BURST_STREAMS;
  private faultRefilledAt = performance.now();
  private resetRefilledAt = performance.now();
  /** Control frames the peer may still send (refilled lazily, only when spent). */
  private controlTokens = CONTROL_BURST_FRAMES;
  private controlRefilledAt = this.resetRefilledAt;
  /** server role timers (see ConnectionOptions.timeouts): when the connection and the pending block began. */
  private readonly timeouts: ConnectionOptions['timeouts'];
  private readonly openedAt = this.resetRefilledAt;
  private blockStartedAt = 0;
  /** Idleness is noticed lazily by the sweeper: no stream open, and no new one since `idleSince`. */
  private idleSince = this.resetRefilledAt;
  private idleMarkStreamId = 0;
  /** The destroy deadline of a connection we are ending. */
  private closeTimer: NodeJS.Timeout | undefined;
  /** GOAWAY sent or received: no new streams. */
  goingAway = false;
  closed = false;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.role = options.role;
    this.options = options;
    this.maxHeaderListBytes = options.maxHeaderListBytes ?? 64 * 1024;
    this.streamWindow =
      options.streamWindowBytes ??
      (options.role === 'client' ? UPSTREAM_STREAM_WINDOW : STREAM_WINDOW);
    this.timeouts = options.role === 'server' ? options.timeouts : undefined;
    this.nextStreamId = options.role === 'client' ? 1 : 2;
    this.prefaceLeft = options.role === 'server' ? PREFACE.length : 0;
    this.reader = new FrameReader((type, flags, streamId, payload) =>
      this.onFrame(type, flags, streamId, payload),
    );
    const settings: [number, number][] = [
      [SETTING.INITIAL_WINDOW_SIZE, this.streamWindow],
      [SETTING.MAX_HEADER_LIST_SIZE, this.maxHeaderListBytes],
    ];
    if (options.role === 'client') settings.unshift([SETTING.ENABLE_PUSH, 0]);
    else settings.unshift([SETTING.MAX_CONCURRENT_STREAMS, MAX_CLIENT_STREAMS]);
    const start = new FrameBatch();
    start.settings(settings);
    start.frame32(FRAME.WINDOW_UPDATE, 0, CONNECTION_WINDOW - DEFAULT_WINDOW);
    const first = start.take() ?? EMPTY;
    socket.write(options.role === 'client' ? Buffer.concat([PREFACE, first]) : first);
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => undefined);
    socket.on('close', () => this.onSocketClose());
  }

  /** True while too much output waits in the socket: hold back credit to the other side. */
  get congested(): boolean {
    return this.socket.writableLength > CONGESTED_BYTES;
  }

  /** Runs `callback` once when the socket drained (at once if it is not congested). */
  whenDrained(callback: () => void): void {
    if (!this.congested) callback();
    else this.drainWaiters.add(callback);
  }

  /** Streams open now. */
  get activeStreams(): number {
    return this.streams.size;
  }

  /** True when a new stream may be opened now. */
  get canOpen(): boolean {
    return (
      !this.goingAway &&
      !this.closed &&
      this.streams.size < this.peerMaxStreams &&
      this.nextStreamId < MAX_WINDOW
    );
  }

  /** Stream ids are used up: the connection can only finish what it has. */
  get exhausted(): boolean {
    return this.nextStreamId >= MAX_WINDOW;
  }

  /** client role: opens a stream with its request headers. */
  open(fields: readonly string[], endStream: boolean, handler: StreamHandler): H2Stream {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new H2Stream(this, id, this.peerInitialWindow);
    stream.handler = handler;
    this.streams.set(id, stream);
    this.earnControl(CONTROL_CREDIT_PER_STREAM);
    this.writeHeaders(stream, fields, endStream);
    if (endStream) stream.localClosed = true;
    return stream;
  }

  /**
   * Stops new streams: GOAWAY (with the last stream the peer opened) and the
   * socket ends once the open streams are done.
   */
  goaway(code: number = H2_ERROR.NO_ERROR): void {
    if (this.closed) return;
    if (!this.goingAway) {
      this.goingAway = true;
      this.batch.goaway(this.lastPeerStreamId, code);
      this.schedule();
    }
    if (this.streams.size === 0) this.endSoon();
  }

  /** Cuts the connection now; every open stream is reset with `reason`. */
  destroy(reason = 'connection closed'): void {
    if (this.closed) return;
    this.flush();
    this.socket.destroy();
    this.failStreams(reason);
  }

  /** @internal */
  schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    process.nextTick(() => this.flush());
  }

  /** Writes everything batched in one write. */
  flush(): void {
    this.scheduled = false;
    const out = this.batch.take();
    if (out !== undefined && !this.socket.destroyed) this.socket.write(out);
  }

  /** @internal encodes and batches a header block. */
  writeHeaders(stream: H2Stream, fields: readonly string[], endStream: boolean): void {
    const block = this.encoder.encode(fields);
    this.batch.headers(stream.id, block, endStream, this.peerMaxFrame);
    this.schedule();
  }

  /** @internal batches as much of `chunk` as the windows allow; returns the bytes taken. */
  writeData(stream: H2Stream, chunk: Buffer, endStream: boolean): number {
    // An empty DATA frame (END_STREAM alone) needs no window, even a negative one.
    const n = chunk.length === 0 ? 0 : Math.min(stream.sendWindow, this.sendWindow, chunk.length);
    if (n <= 0 && chunk.length > 0) return 0;
    let at = 0;
    let frames = 0;
    const max = this.peerMaxFrame;
    do {
      const size = Math.min(max, n - at);
      const last = at + size >= n;
      const flags = last && endStream && n === chunk.length ? FLAG.END_STREAM : 0;
      this.batch.frame(FRAME.DATA, flags, stream.id, chunk.subarray(at, at + size));
      at += size;
      frames++;
    } while (at < n);
    // The peer answers DATA with WINDOW_UPDATE (and grpc-go with a BDP PING): that is its due.
    this.earnControl(frames * CONTROL_CREDIT_PER_DATA_FRAME);
    stream.sendWindow -= n;
    this.sendWindow -= n;
    this.schedule();
    return n;
  }

  /** @internal */
  consumedOnConnection(bytes: number): void {
    this.connectionOwed += bytes;
    if (this.connectionOwed >= CONNECTION_WINDOW / 4) {
      this.batch.frame32(FRAME.WINDOW_UPDATE, 0, this.connectionOwed);
      this.connectionOutstanding -= this.connectionOwed;
      this.connectionOwed = 0;
      this.schedule();
    }
  }

  /** @internal a stream is over (both sides ended, or reset). */
  forget(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream.id);
    this.blocked.delete(stream);
    if (this.goingAway && this.streams.size === 0) this.endSoon();
  }

  /** Ends our side now and destroys the socket CLOSE_GRACE_MS later, whatever the peer does. */
  private endSoon(): void {
    this.flush();
    if (this.closeTimer !== undefined || this.closed) return;
    this.socket.end();
    this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    this.closeTimer.unref();
  }

  /**
   * server role, called by the listener's sweeper (one timer for all its
   * connections): ends a connection whose preface and first SETTINGS, or
   * whose header block, did not come within `headerMs` (GOAWAY
   * PROTOCOL_ERROR), or that had no open stream for `idleMs` (GOAWAY NO_ERROR).
   */
  checkTimers(now: number): void {
    const timeouts = this.timeouts;
    if (timeouts === undefined || this.closed || this.failed || this.closeTimer !== undefined) {
      return;
    }
    if (!this.settled) {
      if (now - this.openedAt >= timeouts.headerMs) {
        this.fail(protocolError(`no preface and SETTINGS within ${timeouts.headerMs} ms`));
      }
      return;
    }
    if (this.pendingBlock !== undefined) {
      if (now - this.blockStartedAt >= timeouts.headerMs) {
        this.fail(protocolError(`header block not complete within ${timeouts.headerMs} ms`));
      }
      return;
    }
    if (this.streams.size > 0 || this.lastPeerStreamId !== this.idleMarkStreamId) {
      this.idleMarkStreamId = this.lastPeerStreamId;
      this.idleSince = now;
    } else if (now - this.idleSince >= timeouts.idleMs) {
      this.goaway(H2_ERROR.NO_ERROR);
    }
  }

  private onBytes(chunk: Buffer): void {
    if (this.failed) return;
    try {
      let bytes = chunk;
      if (this.prefaceLeft > 0) {
        const n = Math.min(this.prefaceLeft, bytes.length);
        const at = PREFACE.length - this.prefaceLeft;
        if (!bytes.subarray(0, n).equals(PREFACE.subarray(at, at + n))) {
          throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'not an HTTP/2 connection preface');
        }
        this.prefaceLeft -= n;
        bytes = bytes.subarray(n);
        if (bytes.length === 0) return;
      }
      this.reader.push(bytes);
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (this.closed || this.failed) return;
    this.failed = true;
    const code =
      err instanceof H2ConnectionError
        ? err.code
        : err instanceof HpackError
          ? H2_ERROR.COMPRESSION_ERROR
          : H2_ERROR.INTERNAL_ERROR;
    this.batch.goaway(this.lastPeerStreamId, code, err instanceof Error ? err.message : '');
    this.goingAway = true;
    this.endSoon();
    // Nothing the peer sends now is read: stop reading at all, so that a flood (PING,
    // SETTINGS, resets) costs no CPU in the grace period; the kernel's buffer fills and the
    // peer stalls until the close deadline destroys the socket.
    this.socket.pause();
    this.failStreams(`HTTP/2 connection error ${code}`);
  }

  private failStreams(reason: string): void {
    const open = [...this.streams.values()];
    for (const stream of open) {
      this.forget(stream);
      this.notifyReset(stream, H2_ERROR.CANCEL, reason);
    }
  }

  private onSocketClose(): void {
    clearTimeout(this.closeTimer);
    if (this.closed) return;
    this.failStreams('connection closed');
    this.closed = true;
    this.drainWaiters.clear();
    this.options.onClose?.(this);
  }

  private onDrain(): void {
    if (this.drainWaiters.size === 0) return;
    const waiters = [...this.drainWaiters];
    this.drainWaiters.clear();
    for (const waiter of waiters) waiter();
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    // A connection error ends reading: the rest of the chunk is not looked at.
    if (this.failed) return;
    if (this.pendingBlock !== undefined) {
      if (type !== FRAME.CONTINUATION || streamId !== this.pendingStreamId) {
        throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'expected CONTINUATION');
      }
      // An empty CONTINUATION that does not end the block carries nothing: a control frame's cost.
      if (payload.length === 0 && (flags & FLAG.END_HEADERS) === 0) this.spendControl();
      this.pendingBlock.push(payload);
      this.pendingBytes += payload.length;
      if (
        this.pendingBytes > this.maxHeaderListBytes + DEFAULT_MAX_FRAME ||
        this.pendingBlock.length > MAX_CONTINUATIONS
      ) {
        // Endless CONTINUATION frames would hold memory without ever making a request.
        throw new H2ConnectionError(H2_ERROR.ENHANCE_YOUR_CALM, 'header block too large');
      }
      if ((flags & FLAG.END_HEADERS) !== 0) {
        const block = Buffer.concat(this.pendingBlock);
        this.pendingBlock = undefined;
        this.onHeaderBlock(this.pendingStreamId, block, this.pendingEnd);
      }
      return;
    }
    switch (type) {
      case FRAME.DATA:
        // An empty DATA frame without END_STREAM carries nothing: a control frame's cost.
        if (payload.length === 0 && (flags & FLAG.END_STREAM) === 0) this.spendControl();
        this.onData(flags, streamId, payload);
        return;
      case FRAME.HEADERS: {
        if (streamId === 0) throw protocolError('HEADERS on stream 0');
        const block = unpad(type, flags, payload);
        const end = (flags & FLAG.END_STREAM) !== 0;
        if ((flags & FLAG.END_HEADERS) === 0) {
          this.pendingBlock = [block];
          this.pendingBytes = block.length;
          this.pendingStreamId = streamId;
          this.pendingEnd = end;
          // Rare (a header block over one frame): the clock is read only then.
          if (this.timeouts !== undefined) this.blockStartedAt = performance.now();
          return;
        }
        this.onHeaderBlock(streamId, block, end);
        return;
      }
      case FRAME.PRIORITY:
        this.spendControl();
        if (streamId === 0) throw protocolError('PRIORITY on stream 0');
        if (payload.length !== 5) throw frameSizeError('PRIORITY');
        return;
      case FRAME.RST_STREAM: {
        this.spendControl();
        if (streamId === 0) throw protocolError('RST_STREAM on stream 0');
        if (payload.length !== 4) throw frameSizeError('RST_STREAM');
        const stream = this.streams.get(streamId);
        if (stream === undefined) return;
        this.forget(stream);
        const code = payload.readUInt32BE(0);
        this.notifyReset(stream, code, `stream reset by the peer with code ${code}`);
        this.countReset();
        return;
      }
      case FRAME.SETTINGS:
        this.spendControl();
        this.onSettings(flags, streamId, payload);
        return;
      case FRAME.PUSH_PROMISE:
        throw protocolError('PUSH_PROMISE is not accepted');
      case FRAME.PING:
        this.spendControl();
        if (streamId !== 0) throw protocolError('PING on a stream');
        if (payload.length !== 8) throw frameSizeError('PING');
        if ((flags & FLAG.ACK) === 0) {
          this.guardFlood();
          this.batch.frame(FRAME.PING, FLAG.ACK, 0, Buffer.from(payload));
          this.schedule();
        }
        return;
      case FRAME.GOAWAY:
        this.onGoaway(streamId, payload);
        return;
      case FRAME.WINDOW_UPDATE:
        this.spendControl();
        this.onWindowUpdate(streamId, payload);
        return;
      case FRAME.CONTINUATION:
        throw protocolError('CONTINUATION without HEADERS');
      default:
        // Unknown frame types are ignored (RFC 9113 §4.1), but not for free.
        this.spendControl();
        return;
    }
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw protocolError('DATA on stream 0');
    const stream = this.streams.get(streamId);
    const body = unpad(FRAME.DATA, flags, payload);
    const padding = payload.length - body.length;
    this.connectionOutstanding += payload.length;
    if (this.connectionOutstanding > CONNECTION_WINDOW) {
      throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    }
    // Connection credit goes back on receipt, as nghttp2 does: what one stream leaves unread
    // is bounded by its own window and must not stall the other streams of the connection.
    this.consumedOnConnection(payload.length);
    if (stream === undefined || stream.remoteClosed) {
      if (stream === undefined && streamId > this.highestStreamId()) {
        throw protocolError(`DATA on idle stream ${streamId}`);
      }
      stream?.abort(H2_ERROR.STREAM_CLOSED, 'DATA after the end of the stream');
      return;
    }
    if (!stream.received(payload.length)) {
      stream.abort(H2_ERROR.FLOW_CONTROL_ERROR, 'DATA beyond the stream window');
      return;
    }
    // Padding is flow-controlled too, and nobody consumes it: return it at once.
    if (padding > 0) stream.consumed(padding);
    const end = (flags & FLAG.END_STREAM) !== 0;
    if (end) stream.endRemote();
    const handler = stream.handler;
    if (handler === undefined) return;
    try {
      handler.data(stream, body, end);
    } catch (err) {
      this.handlerFailed(stream, err);
    }
  }

  /** @internal tells a stream's user it was reset; a throwing user cannot take the process down. */
  notifyReset(stream: H2Stream, code: number, reason: string): void {
    try {
      stream.handler?.reset(stream, code, reason);
    } catch {
      // The stream is gone already; nothing more to undo.
    }
  }

  /** A bug in a stream's user ends that stream, not the connection (or the process). */
  private handlerFailed(stream: H2Stream, err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    if (stream.closed) return;
    stream.reset(H2_ERROR.INTERNAL_ERROR);
    this.notifyReset(stream, H2_ERROR.INTERNAL_ERROR, `internal error: ${reason}`);
  }

  /**
   * A stream the gateway reset because the client broke the protocol on it:
   * churn (countReset), and a fault against the small FAULT_BURST_STREAMS
   * allowance; past it the connection ends with GOAWAY ENHANCE_YOUR_CALM.
   */
  countFault(): void {
    if (this.role !== 'server' || this.failed) return;
    const now = performance.now();
    this.faultTokens = Math.min(
      FAULT_BURST_STREAMS,
      this.faultTokens + ((now - this.faultRefilledAt) / 1000) * FAULTS_PER_SECOND,
    );
    this.faultRefilledAt = now;
    this.faultTokens -= 1;
    if (this.faultTokens < 0) {
      this.fail(
        new H2ConnectionError(H2_ERROR.ENHANCE_YOUR_CALM, 'too many streams broke the protocol'),
      );
      return;
    }
    this.countReset();
  }

  /**
   * @internal server role: one stream reset by the client, or by the gateway
   * because of the client's error. A client that makes streams churn (opened
   * and reset at once) makes the gateway do work, and open streams to
   * targets, for nothing: past a burst of RESET_BURST_STREAMS, refilled at
   * RESETS_PER_SECOND, the connection ends with GOAWAY ENHANCE_YOUR_CALM.
   */
  countReset(): void {
    if (this.role !== 'server' || this.failed) return;
    const now = performance.now();
    this.resetTokens = Math.min(
      RESET_BURST_STREAMS,
      this.resetTokens + ((now - this.resetRefilledAt) / 1000) * RESETS_PER_SECOND,
    );
    this.resetRefilledAt = now;
    this.resetTokens -= 1;
    if (this.resetTokens < 0) {
      this.fail(new H2ConnectionError(H2_ERROR.ENHANCE_YOUR_CALM, 'too many streams reset'));
    }
  }

  /**
   * One control frame from the peer. The bucket is refilled only when it runs
   * dry, so the common case is one decrement and one comparison.
   */
  private spendControl(): void {
    if (--this.controlTokens >= 0) return;
    const now = performance.now();
    const refill = ((now - this.controlRefilledAt) / 1000) * CONTROL_FRAMES_PER_SECOND;
    this.controlTokens = Math.min(CONTROL_BURST_FRAMES, this.controlTokens + refill);
    this.controlRefilledAt = now;
    if (this.controlTokens < 0) {
      throw new H2ConnectionError(H2_ERROR.ENHANCE_YOUR_CALM, 'too many control frames');
    }
  }

  /** The peer has a reason to send `frames` more control frames (banked up to a bound). */
  private earnControl(frames: number): void {
    this.controlTokens = Math.min(this.controlTokens + frames, CONTROL_BANK_FRAMES);
  }

  /** A peer that asks for answers (PING, SETTINGS) but does not read them is cut off. */
  private guardFlood(): void {
    if (this.socket.writableLength > FLOOD_BYTES) {
      throw new H2ConnectionError(H2_ERROR.ENHANCE_YOUR_CALM, 'the peer does not read its answers');
    }
  }

  private highestStreamId(): number {
    return Math.max(this.lastPeerStreamId, this.nextStreamId - 2);
  }

  private onHeaderBlock(streamId: number, block: Buffer, endStream: boolean): void {
    const fields: string[] = [];
    // Decoded in full even when too large, so the HPACK table stays in step with the peer's.
    const fits = this.decoder.decode(block, fields, this.maxHeaderListBytes);
    const stream = this.streams.get(streamId);
    if (stream !== undefined) {
      if (stream.remoteClosed) {
        stream.abort(H2_ERROR.STREAM_CLOSED, 'HEADERS after the end of the stream');
        return;
      }
      if (!fits) {
        stream.abort(H2_ERROR.PROTOCOL_ERROR, 'header list too large');
        return;
      }
      if (endStream) stream.endRemote();
      const handler = stream.handler;
      if (handler === undefined) return;
      try {
        handler.headers(stream, fields, endStream);
      } catch (err) {
        this.handlerFailed(stream, err);
      }
      return;
    }
    if (this.role === 'client') return; // a stream we reset already: nothing to tell
    if (streamId % 2 === 0 || streamId <= this.lastPeerStreamId) {
      throw protocolError(`HEADERS on closed or invalid stream ${streamId}`);
    }
    this.lastPeerStreamId = streamId;
    const fresh = new H2Stream(this, streamId, this.peerInitialWindow);
    if (this.goingAway) {
      fresh.reset(H2_ERROR.REFUSED_STREAM);
      return;
    }
    // Beyond the advertised limit (§5.1.2): refused and counted as churn (a client may have
    // opened them before our SETTINGS arrived, so not as a fault); too large: a fault.
    if (this.streams.size >= MAX_CLIENT_STREAMS) {
      fresh.reset(H2_ERROR.REFUSED_STREAM);
      this.countReset();
      return;
    }
    if (!fits) {
      fresh.resetByClientFault(H2_ERROR.PROTOCOL_ERROR);
      return;
    }
    this.streams.set(streamId, fresh);
    this.earnControl(CONTROL_CREDIT_PER_STREAM);
    if (endStream) fresh.remoteClosed = true;
    try {
      this.options.onStream?.(fresh, fields, endStream);
    } catch (err) {
      this.handlerFailed(fresh, err);
    }
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw protocolError('SETTINGS on a stream');
    if ((flags & FLAG.ACK) !== 0) {
      if (payload.length !== 0) throw frameSizeError('SETTINGS ACK');
      return;
    }
    if (payload.length % 6 !== 0) throw frameSizeError('SETTINGS');
    this.applySettings(readSettings(payload));
    this.guardFlood();
    this.batch.frame(FRAME.SETTINGS, FLAG.ACK, 0);
    this.schedule();
    this.settled = true;
    this.unblock();
    const ready = this.onSettled;
    this.onSettled = undefined;
    ready?.();
  }

  /**
   * Applies one SETTINGS frame's values: only the last of each (RFC 9113
   * §6.5.3 processes them in order; for these settings the end state is the
   * same), so a frame of 2,730 INITIAL_WINDOW_SIZE entries walks the open
   * streams once, not 2,730 times (SETTINGS amplification).
   */
  private applySettings(values: PeerSettings): void {
    if (values.tableMin >= 0) {
      // The smallest size seen, then the last, both signalled to the decoder (RFC 7541 §4.2).
      this.encoder.setMaxTableSize(Math.min(values.tableMin, 64 * 1024));
      this.encoder.setMaxTableSize(Math.min(values.table, 64 * 1024));
    }
    if (values.maxStreams >= 0) this.peerMaxStreams = values.maxStreams;
    if (values.maxFrame >= 0) this.peerMaxFrame = values.maxFrame;
    if (values.window >= 0) {
      const delta = values.window - this.peerInitialWindow;
      this.peerInitialWindow = values.window;
      if (delta !== 0) for (const stream of this.streams.values()) stream.adjustWindow(delta);
    }
  }

  private onGoaway(streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw protocolError('GOAWAY on a stream');
    if (payload.length < 8) throw frameSizeError('GOAWAY');
    const last = payload.readUInt32BE(0) & 0x7fff_ffff;
    this.goingAway = true;
    this.options.onGoaway?.(this);
    if (this.role === 'client') {
      // Streams above `last` were never processed by the peer.
      for (const stream of [...this.streams.values()]) {
        if (stream.id > last) {
          this.forget(stream);
          this.notifyReset(stream, H2_ERROR.REFUSED_STREAM, 'the target is going away');
        }
      }
    }
    if (this.streams.size === 0) this.endSoon();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw frameSizeError('WINDOW_UPDATE');
    const increment = payload.readUInt32BE(0) & 0x7fff_ffff;
    if (streamId === 0) {
      if (increment === 0) throw protocolError('WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) {
        throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      }
      this.unblock();
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    if (increment === 0) {
      stream.abort(H2_ERROR.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      return;
    }
    // Overflowing one stream's window is that stream's error (RFC 9113 §6.9.1).
    if (stream.sendWindow + increment > MAX_WINDOW) {
      stream.abort(H2_ERROR.FLOW_CONTROL_ERROR, 'stream window above 2^31-1');
      return;
    }
    stream.adjustWindow(increment);
    if (this.blocked.has(stream)) this.unblockOne(stream);
  }

  private unblock(): void {
    if (this.blocked.size === 0) return;
    for (const stream of [...this.blocked]) {
      if (this.sendWindow <= 0) return;
      this.unblockOne(stream);
    }
  }

  private unblockOne(stream: H2Stream): void {
    if (stream.flushQueue()) {
      this.blocked.delete(stream);
      try {
        stream.handler?.drained?.(stream);
      } catch (err) {
        this.handlerFailed(stream, err);
      }
    }
  }
}

/** The last value of each setting in one SETTINGS frame (-1: absent); `tableMin` the smallest table size. */
interface PeerSettings {
  table: number;
  tableMin: number;
  maxStreams: number;
  window: number;
  maxFrame: number;
}

/** Reads and checks a SETTINGS payload (a multiple of 6 bytes): O(1) per entry. */
function readSettings(payload: Buffer): PeerSettings {
  const out: PeerSettings = { table: -1, tableMin: -1, maxStreams: -1, window: -1, maxFrame: -1 };
  for (let at = 0; at < payload.length; at += 6) {
    const id = payload.readUInt16BE(at);
    const value = payload.readUInt32BE(at + 2);
    switch (id) {
      case SETTING.HEADER_TABLE_SIZE:
        out.table = value;
        out.tableMin = out.tableMin < 0 ? value : Math.min(out.tableMin, value);
        break;
      case SETTING.ENABLE_PUSH:
        if (value > 1) throw protocolError('ENABLE_PUSH must be 0 or 1');
        break;
      case SETTING.MAX_CONCURRENT_STREAMS:
        out.maxStreams = value;
        break;
      case SETTING.INITIAL_WINDOW_SIZE:
        if (value > MAX_WINDOW) {
          throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too big');
        }
        out.window = value;
        break;
      case SETTING.MAX_FRAME_SIZE:
        if (value < DEFAULT_MAX_FRAME || value > 16_777_215) {
          throw protocolError(`MAX_FRAME_SIZE ${value} out of range`);
        }
        out.maxFrame = value;
        break;
      default:
        break; // unknown settings are ignored
    }
  }
  return out;
}

function protocolError(message: string): H2ConnectionError {
  return new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, message);
}

function frameSizeError(frame: string): H2ConnectionError {
  return new H2ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, `${frame} frame of the wrong size`);
}
