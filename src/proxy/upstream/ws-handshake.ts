import { STATUS_CODES } from 'node:http';
import net, { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { GwError, upstreamConnect, upstreamReset, upstreamTimeout } from '../../shared/errors.js';
import { ConnectFailure } from './connect-failure.js';
import type { UpstreamConfig } from '../config/types.js';
import { ChunkedDecoder } from '../h1/chunked.js';
import { findHeadEnd, parseResponseHead, resumeAt, type ResponseHead } from '../h1/head.js';
import { fieldLines } from './http-headers.js';
import type { TargetRuntime } from './upstream-runtime.js';

/** What the target answered an upgrade request with, on the connection it came on. */
export interface Handshake {
  /** The connection to the target (TLS when the upstream says so), paused, no listeners left. */
  readonly socket: Socket;
  /** The final response head (interim 1xx other than 101 are skipped). */
  readonly response: ResponseHead;
  /** Bytes after the head: the first frames after a 101, or the start of a refusal's body. */
  readonly rest: Buffer;
}

/** The client while the target is asked: its leaving ends the attempt. */
export interface GoneSignal {
  readonly gone: boolean;
  onGone: (() => void) | undefined;
}

/** A response head (interim answers included) larger than this is refused (502), as h1/upstream-pool. */
export const MAX_RESPONSE_HEAD = 64 * 1024;

/**
 * Sends an upgrade request to `target` over a connection of its own (never
 * a pooled one: it becomes the tunnel) and reads the response head. TCP, or
 * TLS with ALPN `http/1.1` and SNI for a host name when the upstream has
 * `tls`. The connect (TLS handshake included) is bounded by the upstream's
 * `connectMs`, then the response head by its `headerMs`. Rejects with
 * GW_ERR_UPSTREAM_CONNECT (nothing reached the target), GW_ERR_UPSTREAM_TIMEOUT
 * (`connect` or `header`) or GW_ERR_UPSTREAM_RESET (the target closed, or sent
 * a malformed or oversized head, or a 101 without Upgrade); the client
 * leaving (`watch`) ends the attempt too. The socket is closed on any failure.
 */
export function askUpgrade(
  config: UpstreamConfig,
  target: TargetRuntime,
  requestHead: string,
  watch: GoneSignal | undefined,
): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const { host, port } = target.address;
    const { connectMs, headerMs } = config.timeouts;
    const socket: Socket = config.tls
      ? tls.connect({
          host,
          port,
          ALPNProtocols: ['http/1.1'],
          ...(isIP(host) === 0 ? { servername: host } : {}),
        })
      : net.connect({ host, port });
    let connected = false;
    let settled = false;
    let buf: Buffer = Buffer.alloc(0);
    let scanFrom = 0;
    let headBytes = 0;
    const fail = (error: GwError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (watch !== undefined) watch.onGone = undefined;
      socket.destroy();
      reject(error);
    };
    // Before the connection is up nothing was sent: a ConnectFailure may go to another target.
    const onError = (err: Error): void =>
      fail(
        connected
          ? upstreamReset(target.id, err)
          : new ConnectFailure(upstreamConnect(target.id, err), err),
      );
    const closed = (): void =>
      fail(
        connected
          ? upstreamReset(target.id, new Error('closed before the response head'))
          : new ConnectFailure(upstreamConnect(target.id, new Error('closed while connecting'))),
      );
    let timer = setTimeout(
      () => fail(new ConnectFailure(upstreamTimeout(target.id, 'connect', connectMs))),
      connectMs,
    );
    const onData = (chunk: Buffer): void => {
      headBytes += chunk.length;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        let end: number;
        let response: ResponseHead;
        try {
          end = findHeadEnd(buf, 0, scanFrom);
          if (end < 0) {
            if (headBytes > MAX_RESPONSE_HEAD) throw new Error('the response head is too large');
            scanFrom = resumeAt(buf.length, 0);
            return;
          }
          response = parseResponseHead(buf, 0, end);
          if (response.status === 101 && !response.upgrade)
            throw new Error('a 101 without Connection: upgrade and Upgrade');
        } catch (err) {
          fail(upstreamReset(target.id, err));
          return;
        }
        if (response.status < 200 && response.status !== 101) {
          // An interim answer (RFC 9110 §15.2): the final one follows.
          buf = buf.subarray(end);
          scanFrom = 0;
          continue;
        }
        settled = true;
        clearTimeout(timer);
        if (watch !== undefined) watch.onGone = undefined;
        socket.pause();
        socket.off('data', onData);
        socket.off('end', closed);
        socket.off('close', closed);
        socket.off('error', onError);
        socket.on('error', ignore);
        resolve({ socket, response, rest: buf.subarray(end) });
        return;
      }
    };
    socket.once(config.tls ? 'secureConnect' : 'connect', () => {
      connected = true;
      clearTimeout(timer);
      timer = setTimeout(() => fail(upstreamTimeout(target.id, 'header', headerMs)), headerMs);
      socket.setNoDelay(true);
      socket.write(requestHead, 'latin1');
    });
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('end', closed);
    socket.on('close', closed);
    // The client leaving while the target is asked ends the attempt (no tunnel is left open).
    if (watch !== undefined) {
      watch.onGone = () =>
        fail(upstreamReset(target.id, new Error('the client closed the connection')));
      if (watch.gone) watch.onGone();
    }
  });
}

/** The status line's reason: the target's, or the standard one when it sent none. */
export function reasonOf(response: ResponseHead): string {
  return response.reason === '' ? (STATUS_CODES[response.status] ?? '') : response.reason;
}

/** Statuses whose response never has a body (RFC 9110 §6.4.1); a 1xx never gets here. */
function hasNoBody(status: number): boolean {
  return status === 204 || status === 304;
}

/**
 * Relays a refused upgrade: the target's status and end-to-end fields plus
 * the exchange's reply fields, then its body as it comes (a Content-Length
 * body with its length, a chunked one decoded and ended by the close), and
 * closes both connections. Resolves when the relay is over: the body ended,
 * either side left, or the target was silent for the upstream's `idleMs`.
 */
export function relayRefusal(
  client: Duplex,
  shake: Handshake,
  replyFields: readonly string[] | undefined,
  watch: GoneSignal | undefined,
  idleMs: number,
): Promise<void> {
  const { socket: upSocket, response, rest } = shake;
  const noBody = hasNoBody(response.status);
  const length = noBody ? 0 : response.contentLength;
  const extra = replyFields === undefined ? '' : fieldLines(replyFields);
  const framing = length >= 0 ? `content-length: ${length}\r\n` : '';
  client.write(
    `HTTP/1.1 ${response.status} ${reasonOf(response)}\r\n${response.fields}${extra}` +
      `${framing}connection: close\r\n\r\n`,
    'latin1',
  );
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = (clean: boolean): void => {
      if (done) return;
      done = true;
      upSocket.destroy();
      if (!clean) client.destroy();
      else {
        client.end();
        setTimeout(() => client.destroy(), 1000).unref();
      }
      resolve();
    };
    const body = new RefusalBody(response, length, (chunk) => {
      if (client.write(chunk)) return;
      upSocket.pause();
      client.once('drain', () => upSocket.resume());
    });
    const take = (chunk: Buffer): void => {
      try {
        if (body.push(chunk)) finish(true);
      } catch {
        finish(false); // a malformed chunked body: the client cannot tell where it ends
      }
    };
    if (watch !== undefined) watch.onGone = () => finish(false);
    if (watch?.gone === true || body.complete) {
      finish(body.complete);
      return;
    }
    upSocket.on('data', take);
    // A body without framing runs to the close; any other ending early is a cut.
    upSocket.on('end', () => finish(length < 0 && !response.chunked));
    upSocket.on('close', () => finish(false));
    upSocket.on('error', () => finish(false));
    upSocket.setTimeout(idleMs, () => finish(false));
    client.on('error', () => finish(false));
    if (rest.length > 0) take(rest);
    if (!upSocket.destroyed) upSocket.resume();
  });
}

/** Counts a refusal's body through: its length, its chunked coding (decoded), or to the close. */
class RefusalBody {
  private remaining: number;
  private readonly decoder: ChunkedDecoder | undefined;
  private readonly write: (chunk: Buffer) => void;

  constructor(response: ResponseHead, length: number, write: (chunk: Buffer) => void) {
    this.remaining = length;
    this.decoder = response.chunked && length !== 0 ? new ChunkedDecoder(502) : undefined;
    this.write = write;
  }

  /** True when there is no body left to read. */
  get complete(): boolean {
    return this.decoder === undefined ? this.remaining === 0 : this.decoder.done;
  }

  /** Writes what `chunk` holds of the body; true once the body is complete. Throws on bad chunking. */
  push(chunk: Buffer): boolean {
    const { decoder } = this;
    if (decoder !== undefined) {
      decoder.push(chunk, 0, chunk.length, (buf, start, end) => {
        this.write(buf.subarray(start, end));
      });
      return decoder.done;
    }
    if (this.remaining < 0) {
      this.write(chunk);
      return false;
    }
    const n = Math.min(this.remaining, chunk.length);
    if (n > 0) this.write(n === chunk.length ? chunk : chunk.subarray(0, n));
    this.remaining -= n;
    return this.remaining === 0;
  }
}

function ignore(): void {
  // The tunnel or the relay sets its own handlers in the same tick.
}
