import { FRAME, H2_ERROR, H2ConnectionError, MAX_WINDOW } from './frames.js';
import type { H2Connection } from './connection.js';

const EMPTY = Buffer.alloc(0);

/**
 * One HTTP/2 stream of an {@link H2Connection} (RFC 9113 §5): its send window
 * and the data queued for lack of it, the receive window given to the peer and
 * the credit owed back, and which sides have ended. Frames are written through
 * the connection's batch; the stream's user is its {@link StreamHandler}.
 */

/** What a stream's user is told. */
export interface StreamHandler {
  /** A header block: request or response headers, or trailers. */
  headers(stream: H2Stream, fields: string[], endStream: boolean): void;
  /** Body bytes (a view valid as long as the caller keeps it; nothing reuses it). */
  data(stream: H2Stream, chunk: Buffer, endStream: boolean): void;
  /** The stream ended abnormally: reset by the peer (its code) or the connection was lost. */
  reset(stream: H2Stream, code: number, reason: string): void;
  /** Data that flow control held back has all been written. */
  drained?(stream: H2Stream): void;
}

export class H2Stream {
  handler: StreamHandler | undefined;
  /** What the peer lets us send on this stream. */
  sendWindow: number;
  /** Bytes received and consumed but not yet returned as WINDOW_UPDATE. */
  private owed = 0;
  /** Bytes received and not yet consumed (handed to the user, not credited). */
  unconsumed = 0;
  /** The receive window the peer was given on this stream: the initial one plus grants. */
  private recvWindow: number;
  /**
   * Data waiting for send window, in order (never empty chunks); then the
   * trailers, or END_STREAM on the last chunk when `localClosed` is set.
   */
  private queue: Buffer[] = [];
  queuedBytes = 0;
  private queuedTrailers: string[] | undefined;
  localClosed = false;
  remoteClosed = false;
  closed = false;
  /** Anything the user wants to keep with the stream. */
  tag: unknown;

  readonly connection: H2Connection;
  readonly id: number;

  constructor(connection: H2Connection, id: number, sendWindow: number) {
    this.connection = connection;
    this.id = id;
    this.sendWindow = sendWindow;
    this.recvWindow = connection.streamWindow;
  }

  /** Sends a header block (trailers when `endStream` after data). Held behind queued data. */
  sendHeaders(fields: readonly string[], endStream: boolean): void {
    if (this.localClosed || this.closed) return;
    if (this.queue.length > 0) {
      this.queuedTrailers = [...fields];
      this.localClosed = endStream;
      return;
    }
    this.connection.writeHeaders(this, fields, endStream);
    if (endStream) this.endLocal();
  }

  /** Sends body bytes within flow control; what does not fit waits for WINDOW_UPDATE. */
  sendData(chunk: Buffer, endStream: boolean): void {
    if (this.localClosed || this.closed) return;
    if (this.queue.length > 0) {
      if (chunk.length > 0) {
        this.queue.push(chunk);
        this.queuedBytes += chunk.length;
      }
      if (endStream) this.localClosed = true;
      return;
    }
    const sent = this.connection.writeData(this, chunk, endStream);
    if (sent < chunk.length) {
      this.queue.push(sent === 0 ? chunk : chunk.subarray(sent));
      this.queuedBytes += chunk.length - sent;
      if (endStream) this.localClosed = true;
      this.connection.blocked.add(this);
    } else if (endStream) {
      this.endLocal();
    }
  }

  /** The user is done with `bytes` received bytes: the peer may send that much more. */
  consumed(bytes: number): void {
    // Connection credit went back on receipt; a closed stream needs no more credit.
    if (bytes <= 0 || this.closed) return;
    this.unconsumed -= bytes;
    this.owed += bytes;
    if (!this.remoteClosed && this.owed >= this.recvWindow / 2) {
      this.connection.batch.frame32(FRAME.WINDOW_UPDATE, this.id, this.owed);
      this.owed = 0;
      this.connection.schedule();
    }
  }

  /** Widens this stream's receive window by `bytes` (WINDOW_UPDATE) beyond the initial one. */
  grant(bytes: number): void {
    if (bytes <= 0 || this.closed || this.remoteClosed) return;
    this.recvWindow += bytes;
    this.connection.batch.frame32(FRAME.WINDOW_UPDATE, this.id, bytes);
    this.connection.schedule();
  }

  /** Ends the stream abnormally (RST_STREAM), dropping anything queued. */
  reset(code: number): void {
    if (this.closed) return;
    this.queue = [];
    this.queuedBytes = 0;
    this.queuedTrailers = undefined;
    this.connection.batch.frame32(FRAME.RST_STREAM, this.id, code);
    this.connection.schedule();
    this.connection.forget(this);
  }

  /**
   * Resets the stream because the peer broke the rules on it (a malformed
   * request, a bad frame): like `reset`, and in the server role the reset
   * counts against the client's rapid-reset allowance and its much smaller
   * fault allowance (CVE-2025-8671, MadeYouReset), so a client cannot make the
   * gateway churn streams by provoking resets. May end the whole connection
   * with GOAWAY ENHANCE_YOUR_CALM.
   */
  resetByClientFault(code: number): void {
    if (this.closed) return;
    this.reset(code);
    this.connection.countFault();
  }

  /** @internal a stream error the peer caused, found by the connection: reset, user told. */
  abort(code: number, reason: string): void {
    this.resetByClientFault(code);
    this.connection.notifyReset(this, code, reason);
  }

  /** Tries to send queued data after the window grew; true when the queue is empty. */
  flushQueue(): boolean {
    while (this.queue.length > 0) {
      const chunk = this.queue[0] ?? EMPTY;
      const last = this.queue.length === 1;
      const end = last && this.localClosed && this.queuedTrailers === undefined;
      const sent = this.connection.writeData(this, chunk, end);
      this.queuedBytes -= sent;
      if (sent < chunk.length) {
        this.queue[0] = chunk.subarray(sent);
        return false;
      }
      this.queue.shift();
    }
    if (this.queuedTrailers !== undefined) {
      this.connection.writeHeaders(this, this.queuedTrailers, true);
      this.queuedTrailers = undefined;
    }
    if (this.localClosed) this.endLocal();
    return true;
  }

  /** The window shrank (SETTINGS) or grew (WINDOW_UPDATE). */
  adjustWindow(delta: number): void {
    this.sendWindow += delta;
    if (this.sendWindow > MAX_WINDOW) {
      throw new H2ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, 'stream window above 2^31-1');
    }
  }

  /** @internal bytes arrived: false when the peer overran the window we gave it. */
  received(bytes: number): boolean {
    this.unconsumed += bytes;
    return this.unconsumed + this.owed <= this.recvWindow;
  }

  private endLocal(): void {
    this.localClosed = true;
    if (this.remoteClosed) this.connection.forget(this);
  }

  /** True while the peer may still send on this stream. */
  peerSending(): boolean {
    return !this.closed && !this.remoteClosed;
  }

  /** @internal the peer ended its side. */
  endRemote(): void {
    this.remoteClosed = true;
    if (this.localClosed && this.queue.length === 0 && this.queuedTrailers === undefined) {
      this.connection.forget(this);
    }
  }
}
