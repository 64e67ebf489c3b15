import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { toGwError } from '../../shared/errors.js';

/**
 * Answers on a bare socket (no ServerResponse: a request the parser refused,
 * an upgrade that failed) with the error's status, its `x-gw-error` code and
 * a short body, then closes; a peer that never reads is cut after 1 s.
 */
export function writeRawError(socket: Duplex, err: unknown): void {
  const error = toGwError(err);
  const status = error.httpStatus;
  const reason = STATUS_CODES[status] ?? 'Error';
  const body = `${status} ${reason}\n`;
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-gw-error: ${error.code}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  setTimeout(() => socket.destroy(), 1000).unref();
}
