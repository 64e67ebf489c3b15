/**
 * A raw HTTP/2 client's bytes for the attackers (RFC 9113), built with gw's
 * own codec (src/proxy/h2): the client preface, gRPC request header blocks,
 * single frames, and a watcher that reads what the proxy sends back
 * (SETTINGS, GOAWAY, RST_STREAM) without ever failing the attack.
 */
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  FLAG,
  FRAME,
  FrameBatch,
  FrameReader,
  PREFACE,
  SETTING,
} from '../../../src/proxy/h2/frames.js';
import { HpackEncoder } from '../../../src/proxy/h2/hpack.js';
import type { Tracker } from './kit.js';

export { FLAG, FRAME, SETTING };

/** A Unary call of the echo service: the HTTP/2 request stays open until its DATA arrives. */
export const UNARY_PATH = '/gw.echo.v1.Echo/Unary';
/** A server-streaming call: `count` replies to one request. */
export const SERVER_STREAM_PATH = '/gw.echo.v1.Echo/ServerStream';

/** One whole frame as bytes. */
export function frame(type: number, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const batch = new FrameBatch();
  batch.frame(type, flags, streamId, payload);
  return batch.take() ?? Buffer.alloc(0);
}

/** A frame with a 4-byte payload: RST_STREAM (error code) or WINDOW_UPDATE (increment). */
export function frame32(type: number, streamId: number, value: number): Buffer {
  const batch = new FrameBatch();
  batch.frame32(type, streamId, value);
  return batch.take() ?? Buffer.alloc(0);
}

/** A SETTINGS frame with these (id, value) entries. */
export function settingsFrame(values: readonly (readonly [number, number])[]): Buffer {
  const batch = new FrameBatch();
  batch.settings(values);
  return batch.take() ?? Buffer.alloc(0);
}

/** The client connection preface (RFC 9113 §3.4): the magic, then SETTINGS. */
export function clientPreface(values: readonly (readonly [number, number])[] = []): Buffer {
  return Buffer.concat([PREFACE, settingsFrame(values)]);
}

/** The header block of a gRPC POST to `path` (one encoder per connection: HPACK keeps state). */
export function grpcRequestBlock(encoder: HpackEncoder, port: number, path: string): Buffer {
  return encoder.encode([
    ':method',
    'POST',
    ':scheme',
    'http',
    ':path',
    path,
    ':authority',
    `127.0.0.1:${port}`,
    'content-type',
    'application/grpc',
    'te',
    'trailers',
  ]);
}

export function newEncoder(): HpackEncoder {
  return new HpackEncoder();
}

/** A length-prefixed gRPC message holding an EchoRequest {message, count} (protobuf by hand). */
export function echoRequestMessage(message: string, count: number): Buffer {
  const text = Buffer.from(message, 'utf8');
  const proto = Buffer.concat([
    Buffer.from([0x0a]),
    varint(text.length),
    text,
    Buffer.from([0x10]),
    varint(count),
  ]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(proto.length, 1);
  return Buffer.concat([prefix, proto]);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  // Bounded: a 32-bit value takes at most 5 groups of 7 bits.
  for (let i = 0; i < 5; i++) {
    if (v < 0x80) {
      bytes.push(v);
      break;
    }
    bytes.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  return Buffer.from(bytes);
}

/** What the watcher learnt from the proxy on one connection. */
export interface Watched {
  /** The proxy's SETTINGS_MAX_CONCURRENT_STREAMS (undefined until its SETTINGS arrive, or unlimited). */
  maxStreams: number | undefined;
  /** Resolves once the proxy's first SETTINGS frame arrived. */
  readonly settled: Promise<void>;
  goaway: boolean;
}

/** How long a client waits for the proxy's SETTINGS before it opens streams anyway. */
const SETTINGS_WAIT_MS = 2000;

/**
 * Writes the client preface with `values` on a watched connection, waits
 * for the proxy's SETTINGS (at most SETTINGS_WAIT_MS), and returns how many
 * of `wanted` streams the proxy allows at once (all when it set no limit).
 */
export async function allowedStreams(
  socket: net.Socket,
  watched: Watched,
  wanted: number,
  values: readonly (readonly [number, number])[] = [],
): Promise<number> {
  socket.write(clientPreface(values));
  await Promise.race([watched.settled, sleep(SETTINGS_WAIT_MS)]);
  return Math.min(wanted, watched.maxStreams ?? wanted);
}

/**
 * Reads the proxy's frames on `socket`: ACKs its SETTINGS (when `ack`),
 * counts GOAWAY (by code), RST_STREAM and DATA bytes on `tracker`. A frame
 * the reader cannot parse ends the watching, not the attack.
 */
export function watch(socket: net.Socket, tracker: Tracker, ack = true): Watched {
  let settle: () => void = () => undefined;
  const watched: Watched = {
    maxStreams: undefined,
    settled: new Promise<void>((resolve) => (settle = resolve)),
    goaway: false,
  };
  const reader = new FrameReader((type, flags, _streamId, payload) => {
    if (type === FRAME.SETTINGS && (flags & FLAG.ACK) === 0) {
      for (let at = 0; at + 6 <= payload.length; at += 6) {
        if (payload.readUInt16BE(at) === SETTING.MAX_CONCURRENT_STREAMS) {
          watched.maxStreams = payload.readUInt32BE(at + 2);
        }
      }
      if (ack && socket.writable) socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      settle();
    } else if (type === FRAME.GOAWAY && payload.length >= 8) {
      watched.goaway = true;
      tracker.sawGoaway(payload.readUInt32BE(4));
    } else if (type === FRAME.RST_STREAM) {
      tracker.count('rstFromProxy');
    } else if (type === FRAME.DATA) {
      tracker.count('dataBytesIn', payload.length);
    }
  });
  reader.maxFrame = 1 << 24;
  let broken = false;
  socket.on('data', (chunk: Buffer) => {
    if (broken) return;
    try {
      reader.push(chunk);
    } catch {
      broken = true;
    }
  });
  socket.once('close', settle);
  return watched;
}
