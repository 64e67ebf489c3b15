import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectionError, GwError, toGwError } from '../../shared/errors.js';
import { describeFraming } from '../framing/spec.js';
import type { Codec } from '../framing/types.js';
import { burstMessage, ReadClassifier } from './burst-check.js';
import type { BurstResult } from './events.js';

export interface ConnectOptions {
  host: string;
  port: number;
  /** Sets TCP_NODELAY: Nagle's algorithm off, small writes leave at once. */
  noDelay: boolean;
  /**
   * Read into a fixed buffer of this many bytes (like the classic client's
   * `read(fd, buf, 1024)`), so a message larger than it must arrive split.
   * Default: Node's own 64 KiB reads.
   */
  readBytes?: number;
}

/** A connected socket whose reads arrive, one callback per read, as private copies. */
export interface EchoConnection {
  readonly socket: net.Socket;
  /** Sets the one consumer of reads; each chunk is a fresh Buffer it may keep. */
  onRead(handler: (chunk: Buffer) => void): void;
  /** Resolves when the socket has closed; rejects with a GwError when it failed. */
  readonly closed: Promise<void>;
}

/**
 * Connects to an echo server. Refused, reset and timed-out connections
 * reject with a GwError (GW_ERR_CONNECT_REFUSED and friends). A read
 * handler that throws (an echo the decoder refuses, such as a frame over
 * the size limit) closes the connection, and `closed` rejects with that
 * error.
 */
export function connectEcho(options: ConnectOptions): Promise<EchoConnection> {
  let handler: (chunk: Buffer) => void = () => undefined;
  let socket: net.Socket | undefined;
  let failure: GwError | undefined;
  const deliver = (chunk: Buffer): void => {
    if (failure !== undefined) return;
    try {
      handler(chunk);
    } catch (err) {
      failure = toGwError(err);
      socket?.destroy();
    }
  };
  const socketOptions: net.NetConnectOpts = {
    host: options.host,
    port: options.port,
    noDelay: options.noDelay,
  };
  if (options.readBytes !== undefined) {
    const buffer = Buffer.alloc(options.readBytes);
    socketOptions.onread = {
      buffer,
      callback: (nread: number, buf: Uint8Array) => {
        // The read buffer is reused for the next read: hand out a copy.
        deliver(Buffer.from(buf.subarray(0, nread)));
        return true;
      },
    };
  }
  return new Promise((resolve, reject) => {
    const connected = net.connect(socketOptions);
    socket = connected;
    if (options.readBytes === undefined) connected.on('data', deliver);
    const closed = new Promise<void>((done, fail) => {
      connected.on('close', () => (failure ? fail(failure) : done()));
    });
    // Callers that never await `closed` must not see an unhandled rejection.
    closed.catch(() => undefined);
    connected.on('error', (err) => {
      failure ??= connectionError(options.host, options.port, err);
      reject(failure);
    });
    connected.once('connect', () => {
      resolve({
        socket: connected,
        closed,
        onRead(next) {
          handler = next;
        },
      });
    });
  });
}

export interface BurstOptions {
  codec: Codec;
  count: number;
  size: number;
  /** Send each message as two writes with a pause between them. */
  split: boolean;
  splitDelayMs: number;
  /** Give up waiting for the echoes after this long. */
  timeoutMs: number;
}

/**
 * Sends `count` numbered messages as separate writes, back to back, then
 * waits for every echo and checks each came back intact and in order.
 * Resolves with the measurements; a timeout or a dropped connection rejects
 * with a GwError (GW_ERR_ECHO_TIMEOUT, GW_ERR_CONNECTION_RESET).
 */
export async function runBurst(conn: EchoConnection, options: BurstOptions): Promise<BurstResult> {
  const { codec, count, size } = options;
  const raw = codec.spec.framing === 'raw';
  const messages = Array.from({ length: count }, (_, i) => burstMessage(i, size));
  const frames = messages.map((m) => codec.encode(m));
  // What the decoder yields for each message: fixed framing keeps the padding.
  const expected = codec.spec.framing === 'fixed' ? frames : messages;
  const classifier = new ReadClassifier(frames);
  const decoder = codec.decoder();
  const result = emptyResult(describeFraming(codec.spec), count);

  let finish: () => void = () => undefined;
  const allBack = new Promise<void>((resolve) => (finish = resolve));
  conn.onRead((chunk) => {
    result.reads++;
    result.bytesReceived += chunk.length;
    classifier.observe(chunk);
    if (!raw) {
      for (const got of decoder.push(chunk)) checkMessage(result, expected, got);
    }
    if (classifier.done) finish();
  });

  const started = performance.now();
  await sendAll(conn.socket, frames, options, result);
  const timedOut = Symbol('timeout');
  const outcome = await Promise.race([
    allBack,
    conn.closed.then(() => 'closed' as const),
    sleep(options.timeoutMs, timedOut, { ref: false }),
  ]);
  result.elapsedMs = performance.now() - started;
  result.stickyReads = classifier.stickyReads;
  result.splitReads = classifier.splitReads;
  if (raw) {
    result.messagesReceived = classifier.framesComplete;
    result.mismatches = classifier.corruptReads;
    result.naiveWrong = classifier.naiveWrong;
  }
  result.messagesPerSecond = result.messagesReceived / (result.elapsedMs / 1000);
  if (outcome === timedOut) {
    throw new GwError(
      'GW_ERR_ECHO_TIMEOUT',
      `only ${result.messagesReceived} of ${count} echoes arrived within ${options.timeoutMs} ms`,
      { hint: 'is the server using the same --framing? raise --timeout-ms for slow links' },
    );
  }
  if (outcome === 'closed' && !classifier.done) {
    throw new GwError(
      'GW_ERR_CONNECTION_RESET',
      `the server closed the connection after ${result.messagesReceived} of ${count} echoes`,
      { hint: 'check the server log: it closes connections that send oversized frames' },
    );
  }
  return result;
}

async function sendAll(
  socket: net.Socket,
  frames: readonly Buffer[],
  options: BurstOptions,
  result: BurstResult,
): Promise<void> {
  for (const frame of frames) {
    if (options.split && frame.length > 1) {
      const half = Math.ceil(frame.length / 2);
      socket.write(frame.subarray(0, half));
      await sleep(options.splitDelayMs);
      socket.write(frame.subarray(half));
      result.writes += 2;
    } else {
      socket.write(frame);
      result.writes++;
    }
    result.bytesSent += frame.length;
  }
}

function checkMessage(result: BurstResult, expected: readonly Buffer[], got: Buffer): void {
  const index = result.messagesReceived++;
  const want = expected[index];
  if (want?.equals(got)) return;
  result.mismatches++;
  result.firstMismatch ??= {
    index,
    expected: want === undefined ? '(nothing more was sent)' : want.toString('latin1'),
    received: got.toString('latin1'),
  };
}

function emptyResult(framing: string, count: number): BurstResult {
  return {
    framing,
    messagesSent: count,
    writes: 0,
    bytesSent: 0,
    reads: 0,
    bytesReceived: 0,
    messagesReceived: 0,
    mismatches: 0,
    stickyReads: 0,
    splitReads: 0,
    naiveWrong: 0,
    elapsedMs: 0,
    messagesPerSecond: 0,
  };
}
