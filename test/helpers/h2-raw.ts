/**
 * A hand-driven HTTP/2 peer for tests that send what no well-behaved client
 * sends: it writes exactly the bytes a test builds (with gw's own codec) and
 * records every frame it receives.
 */
import type { Socket } from 'node:net';
import { FRAME, FrameBatch, FrameReader, PREFACE } from '../../src/proxy/h2/frames.js';
import { HpackEncoder } from '../../src/proxy/h2/hpack.js';
import { connect } from './sockets.js';

/** One received frame, its payload copied out of the socket's buffer. */
export interface RawFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** SETTINGS entries as (identifier, value) pairs (RFC 9113 §6.5.1). */
export type SettingsList = readonly (readonly [number, number])[];

/** The client connection preface (RFC 9113 §3.4): the magic, then SETTINGS with `settings`. */
export function clientPreface(settings: SettingsList = []): Buffer {
  const batch = new FrameBatch();
  batch.settings(settings);
  return Buffer.concat([PREFACE, batch.take() ?? Buffer.alloc(0)]);
}

export interface RecordOptions {
  /** The largest frame payload accepted, in bytes (default 16,384; a larger one throws). */
  maxFrameBytes?: number | undefined;
  /** The socket is a server's: the client preface it receives first is skipped. */
  skipPreface?: boolean;
}

/** Appends every frame `socket` receives, from now on, to the returned list. */
export function recordFrames(socket: Socket, options: RecordOptions = {}): RawFrame[] {
  const frames: RawFrame[] = [];
  const reader = new FrameReader((type, flags, streamId, payload) =>
    frames.push({ type, flags, streamId, payload: Buffer.from(payload) }),
  );
  if (options.maxFrameBytes !== undefined) reader.maxFrame = options.maxFrameBytes;
  let prefaceLeft = options.skipPreface === true ? PREFACE.length : 0;
  socket.on('data', (chunk: Buffer) => {
    const skip = Math.min(prefaceLeft, chunk.length);
    prefaceLeft -= skip;
    if (skip < chunk.length) reader.push(chunk.subarray(skip));
  });
  return frames;
}

export interface RawH2Options {
  /**
   * What is written once connected: nothing (not even the preface), the
   * preface alone, or the preface and a SETTINGS frame (the default).
   */
  start?: 'nothing' | 'preface' | 'settings';
  /** The entries of that SETTINGS frame (default none). */
  settings?: SettingsList;
  /** The largest frame payload the client accepts, in bytes (default 16,384). */
  maxFrameBytes?: number;
}

/** A raw HTTP/2 client connection and what it received. */
export interface RawH2Client {
  readonly socket: Socket;
  /** Every frame received so far, in order. */
  readonly frames: RawFrame[];
  /** An HPACK encoder for this connection's header blocks (HPACK keeps state per connection). */
  readonly encoder: HpackEncoder;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  /** True once the socket has closed (a plain function: it may be passed around unbound). */
  readonly isClosed: () => boolean;
  /** The first GOAWAY received, if any. */
  readonly goaway: () => RawFrame | undefined;
  /** Builds frames with `build` and writes them in one write. */
  readonly send: (build: (batch: FrameBatch) => void) => void;
}

/**
 * Connects to 127.0.0.1:`port`, writes what `options.start` says and
 * records every frame it gets. Socket errors are ignored (a test looks at
 * the frames and at `closed`); destroy `socket` when done.
 */
export async function rawH2Client(port: number, options: RawH2Options = {}): Promise<RawH2Client> {
  const socket = await connect(port);
  socket.on('error', () => undefined);
  const frames = recordFrames(socket, { maxFrameBytes: options.maxFrameBytes });
  let isClosed = false;
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  const start = options.start ?? 'settings';
  if (start === 'preface') socket.write(PREFACE);
  if (start === 'settings') socket.write(clientPreface(options.settings));
  return {
    socket,
    frames,
    encoder: new HpackEncoder(),
    closed,
    isClosed: () => isClosed,
    goaway: () => frames.find((f) => f.type === FRAME.GOAWAY),
    send: (build) => {
      const batch = new FrameBatch();
      build(batch);
      socket.write(batch.take() ?? Buffer.alloc(0));
    },
  };
}
