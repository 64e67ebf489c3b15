import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { H1ServerConnection } from '../h1/server-connection.js';
import type { LocalReply } from '../pipeline/types.js';
import type { WsExchange } from '../upstream/bridge-ws.js';
import type { HttpExchange } from '../upstream/forward-http.js';
import { fieldLines } from '../upstream/http-headers.js';
import { replyOf } from './local-reply.js';

/**
 * The http listener's local reply for a request: the reply's status with its
 * code in `x-gw-error` and a short body (or the reply's own), plus the
 * exchange's reply fields. Mid-response the status is gone, and the only
 * honest signal left is to cut the connection. After a refused body (or one
 * that went silent) the rest of it is unread, so the connection is closed.
 */
export function answerHttp(ex: HttpExchange, err: unknown): void {
  const reply = replyOf(err);
  ex.errorCode = reply.code;
  if (ex.conn.headersSent || ex.conn.destroyed) {
    ex.conn.destroy();
    return;
  }
  ex.status = reply.httpStatus;
  const status = reply.httpStatus;
  writeReply(ex.conn, reply, ex.replyFields, status === 413 || status === 400 || status === 408);
}

/** Writes a local reply on an HTTP/1.1 connection (see {@link answerHttp}). */
export function writeReply(
  conn: H1ServerConnection,
  reply: LocalReply,
  extra: readonly string[] | undefined,
  close: boolean,
): void {
  const { status, reason, fields, body } = replyParts(reply, extra);
  conn.respond(status, reason, fields, body, close);
}

/**
 * The WebSocket upgrade's local reply, before any 101: an HTTP response on
 * the raw socket, then the socket closes. After the 101 the tunnel is bytes
 * only, and a failure can only close it.
 */
export function answerWs(ex: WsExchange, err: unknown): void {
  const reply = replyOf(err);
  ex.errorCode = reply.code;
  if (ex.status === 101) {
    ex.socket.destroy();
    return;
  }
  ex.status = reply.httpStatus;
  writeRawReply(ex.socket, reply, ex.replyFields);
}

/**
 * Answers on a bare socket (a request the parser refused, an upgrade that
 * failed) and closes; a peer that never reads is cut after 1 s.
 */
export function writeRawReply(socket: Duplex, reply: LocalReply, extra?: readonly string[]): void {
  const { status, reason, fields, body } = replyParts(reply, extra);
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\n${fields}content-length: ${Buffer.byteLength(body, 'latin1')}\r\nconnection: close\r\n\r\n${body}`,
      'latin1',
    );
  }
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * A reply's status line parts, fields and body (as latin1 text, so its
 * UTF-8 bytes go out as they are): the body names no internals, the code
 * goes in `x-gw-error` when there is one.
 */
function replyParts(
  reply: LocalReply,
  extra: readonly string[] | undefined,
): { status: number; reason: string; fields: string; body: string } {
  const status = reply.httpStatus;
  const reason = STATUS_CODES[status] ?? 'Error';
  let fields = `content-type: ${reply.contentType ?? 'text/plain; charset=utf-8'}\r\n`;
  if (reply.code !== '') fields += `x-gw-error: ${reply.code}\r\n`;
  if (extra !== undefined) fields += fieldLines(extra);
  const text = reply.body ?? `${status} ${reason}\n`;
  const body = Buffer.from(text, 'utf8').toString('latin1');
  return { status, reason, fields, body };
}
