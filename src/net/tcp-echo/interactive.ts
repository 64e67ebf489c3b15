import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { badMessage, GwError, isGwError } from '../../shared/errors.js';
import type { Codec } from '../framing/types.js';
import type { EchoConnection } from './client.js';

/** What the interactive client reports, one record per line of output. */
export type InteractiveEvent =
  | { type: 'sent'; message: string; bytes: number; framingBytes: number; data: Buffer }
  | { type: 'echo'; read: number; message: string; data: Buffer }
  | { type: 'read'; read: number; bytes: number; messages: number; carried: number }
  | { type: 'refused'; message: string; code: string }
  | { type: 'bye'; sent: number; echoed: number; bytesSent: number; bytesReceived: number };

export interface InteractiveOptions {
  codec: Codec;
  input: Readable;
  onEvent: (event: InteractiveEvent) => void;
  /** After the input ends, how long to wait for echoes still on the way. */
  drainTimeoutMs: number;
}

/**
 * The classic teaching client: reads lines, sends each as one message and
 * prints every echo as it arrives. `exit` or `q` quits; the end of the input
 * (a pipe) quits too, once the echoes of everything sent are back.
 */
export async function runInteractive(
  conn: EchoConnection,
  options: InteractiveOptions,
): Promise<void> {
  const { codec, onEvent } = options;
  const decoder = codec.decoder();
  let reads = 0;
  let sent = 0;
  let echoed = 0;
  let bytesSent = 0;
  let bytesReceived = 0;
  let echoWaiter: (() => void) | undefined;
  let refused = 0;
  let firstRefusal: GwError | undefined;

  conn.onRead((chunk) => {
    reads++;
    bytesReceived += chunk.length;
    const messages = decoder.push(chunk);
    onEvent({
      type: 'read',
      read: reads,
      bytes: chunk.length,
      messages: messages.length,
      carried: decoder.buffered,
    });
    for (const message of messages) {
      echoed++;
      const shown = codec.display(message);
      onEvent({ type: 'echo', read: reads, message: shown.toString('utf8'), data: shown });
    }
    if (bytesReceived >= bytesSent) echoWaiter?.();
  });

  // latin1: one character per byte, so a line's bytes are sent exactly as typed or piped,
  // even when they are not valid UTF-8 (readline would turn those into U+FFFD).
  options.input.setEncoding('latin1');
  const lines = createInterface({ input: options.input, crlfDelay: Infinity, terminal: false });
  const closed = conn.closed.then(
    () => 'closed' as const,
    (err: unknown) => err,
  );
  // If the server goes away, stop waiting for input.
  void closed.then(() => lines.close());
  try {
    for await (const line of lines) {
      const command = line.trim();
      if (command === 'exit' || command === 'q') break;
      const data = Buffer.from(line, 'latin1');
      let frame: Buffer;
      try {
        frame = codec.encode(data);
      } catch (err) {
        // A line the framing cannot carry is refused; the session goes on.
        if (!isGwError(err)) throw err;
        onEvent({ type: 'refused', message: err.message, code: err.code });
        refused++;
        firstRefusal ??= err;
        continue;
      }
      if (conn.socket.destroyed) break;
      conn.socket.write(frame);
      sent++;
      bytesSent += frame.length;
      onEvent({
        type: 'sent',
        message: data.toString('utf8'),
        data,
        bytes: frame.length,
        framingBytes: frame.length - data.length,
      });
    }
  } finally {
    lines.close();
  }
  if (bytesReceived < bytesSent && !conn.socket.destroyed) {
    const allEchoed = new Promise<void>((resolve) => (echoWaiter = resolve));
    await Promise.race([
      allEchoed,
      closed,
      sleep(options.drainTimeoutMs, undefined, { ref: false }),
    ]);
  }
  conn.socket.end();
  const outcome = await closed;
  onEvent({ type: 'bye', sent, echoed, bytesSent, bytesReceived });
  if (outcome !== 'closed') throw outcome;
  if (firstRefusal !== undefined) {
    // A line that could not be sent is bad input: the run must not look like a success (exit 2).
    throw badMessage(
      `${refused} of ${refused + sent} lines were not sent: ${firstRefusal.message}`,
      firstRefusal.hint,
    );
  }
  if (bytesReceived < bytesSent) {
    throw new GwError(
      'GW_ERR_ECHO_TIMEOUT',
      `${bytesSent - bytesReceived} of ${bytesSent} bytes sent were never echoed`,
      { hint: 'is the server using the same --framing?' },
    );
  }
}
