import http2 from 'node:http2';
import { isIP } from 'node:net';
import type { ProbeResult } from './active-state.js';
import type { GrpcHealthCheck } from './schema.js';
import {
  errorResult,
  failed,
  oneShot,
  passed,
  PROBE_READ_LIMIT,
  type ProbeAddress,
} from './probe.js';

const CHECK_PATH = '/grpc.health.v1.Health/Check';
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
const GRPC_CODES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/**
 * A gRPC probe: the standard `grpc.health.v1.Health/Check` (one unary call on
 * its own HTTP/2 connection, h2c or TLS with ALPN h2) with the check's
 * `service`. Passes when the call ends OK with status SERVING. The data plane
 * speaks HTTP/2 through the gateway's own code; a probe is one call every few
 * seconds, so node:http2 serves it.
 */
export function probeGrpc(check: GrpcHealthCheck, to: ProbeAddress): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let connected = false;
    const host = isIP(to.host) === 6 ? `[${to.host}]` : to.host;
    const session = http2.connect(`${to.tls ? 'https' : 'http'}://${host}:${to.port}`, {
      ...(to.tls && isIP(to.host) === 0 ? { servername: to.host } : {}),
    });
    const settle = oneShot(check.timeoutMs, resolve, () => session.destroy());
    session.once('connect', () => (connected = true));
    session.on('error', (err) => settle(errorResult(err, connected)));
    const stream = session.request({
      ':method': 'POST',
      ':path': CHECK_PATH,
      ':authority': to.id,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': `${check.timeoutMs}m`,
      'user-agent': 'gw-health-check',
    });
    // A stream cancelled because its session failed: the session's error says why.
    stream.on('error', (err: Error & { code?: string }) => {
      const cause = err.code === 'ERR_HTTP2_STREAM_CANCEL' ? (err.cause ?? err) : err;
      settle(errorResult(cause, connected));
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let headerStatus: string | undefined;
    stream.on('response', (headers) => {
      const httpStatus = headers[':status'];
      if (httpStatus !== 200) {
        settle(failed('answer', `HTTP status ${String(httpStatus)}`));
        return;
      }
      const code = headers['grpc-status'];
      if (code !== undefined) headerStatus = String(code);
    });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > PROBE_READ_LIMIT) settle(failed('answer', 'answer too large'));
      else chunks.push(chunk);
    });
    let trailerStatus: string | undefined;
    let trailerMessage: string | undefined;
    stream.on('trailers', (trailers: http2.IncomingHttpHeaders) => {
      const code = trailers['grpc-status'];
      if (code !== undefined) trailerStatus = String(code);
      const message = trailers['grpc-message'];
      if (typeof message === 'string') trailerMessage = decodeURIComponent(message);
    });
    stream.once('end', () => {
      const code = Number(trailerStatus ?? headerStatus ?? NaN);
      if (!Number.isInteger(code)) {
        settle(failed('answer', 'no grpc-status'));
        return;
      }
      if (code !== 0) {
        const name = GRPC_CODES[code] ?? String(code);
        const why =
          trailerMessage === undefined || trailerMessage === '' ? '' : `: ${trailerMessage}`;
        settle(failed('answer', `grpc status ${code} ${name}${why}`));
        return;
      }
      const status = servingStatus(Buffer.concat(chunks));
      if (status === 1) settle(passed);
      else if (status === undefined) settle(failed('answer', 'malformed HealthCheckResponse'));
      else settle(failed('answer', SERVING_STATUS[status] ?? `status ${status}`));
    });
    stream.end(checkRequest(check.service));
  });
}

/** A gRPC message (5-byte prefix) carrying HealthCheckRequest { service = 1 }. */
export function checkRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const body =
    name.length === 0
      ? Buffer.alloc(0)
      : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(body.length, 1);
  return Buffer.concat([prefix, body]);
}

/**
 * HealthCheckResponse.status (field 1, varint) from one gRPC message;
 * 0 (UNKNOWN) when absent (proto3 default); undefined when malformed.
 */
export function servingStatus(message: Buffer): number | undefined {
  if (message.length < 5 || message[0] !== 0) return undefined;
  const length = message.readUInt32BE(1);
  if (message.length < 5 + length) return undefined;
  const body = message.subarray(5, 5 + length);
  let status = 0;
  let at = 0;
  while (at < body.length) {
    const key = readVarint(body, at);
    if (key === undefined) return undefined;
    at = key.next;
    const wire = key.value & 7;
    if (wire === 0) {
      const value = readVarint(body, at);
      if (value === undefined) return undefined;
      at = value.next;
      if (key.value >>> 3 === 1) status = value.value;
    } else if (wire === 2) {
      const len = readVarint(body, at);
      if (len === undefined) return undefined;
      at = len.next + len.value;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else return undefined;
  }
  return at === body.length ? status : undefined;
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

function readVarint(buf: Buffer, start: number): { value: number; next: number } | undefined {
  let value = 0;
  let shift = 0;
  for (let at = start; at < buf.length && shift < 35; at++) {
    const byte = buf[at] ?? 0;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next: at + 1 };
    shift += 7;
  }
  return undefined;
}
