import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { H2Connection, type StreamHandler } from '../../../src/proxy/h2/connection.js';
import {
  FLAG,
  FRAME,
  FrameBatch,
  FrameReader,
  PREFACE,
  SETTING,
} from '../../../src/proxy/h2/frames.js';

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** An H2Connection in the client role, and the raw socket of its peer. */
async function pair(): Promise<{ connection: H2Connection; peer: Socket; frames: Frame[] }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const peer = await accepted;
  server.close();
  const frames: Frame[] = [];
  let prefaceLeft = PREFACE.length;
  const reader = new FrameReader((type, flags, streamId, payload) =>
    frames.push({ type, flags, streamId, payload: Buffer.from(payload) }),
  );
  peer.on('data', (chunk: Buffer) => {
    const skip = Math.min(prefaceLeft, chunk.length);
    prefaceLeft -= skip;
    if (skip < chunk.length) reader.push(chunk.subarray(skip));
  });
  const connection = new H2Connection(socket, { role: 'client' });
  return { connection, peer, frames };
}

const ignore = (): void => undefined;
const quiet: StreamHandler = { headers: ignore, data: ignore, reset: ignore };

async function until(check: () => boolean): Promise<void> {
  const end = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('h2 connection', () => {
  it('sends END_STREAM alone even when SETTINGS left the stream window negative', async () => {
    const { connection, peer, frames } = await pair();
    const stream = connection.open([':method', 'POST', ':path', '/x'], false, quiet);
    stream.sendData(Buffer.alloc(40_000, 1), false);
    await until(() => frames.some((f) => f.type === FRAME.DATA));
    // The peer lowers the initial window: 25,535 left becomes -39,000 (RFC 9113 §6.9.2).
    const settings = new FrameBatch();
    settings.settings([[SETTING.INITIAL_WINDOW_SIZE, 1000]]);
    peer.write(settings.take() ?? Buffer.alloc(0));
    await until(() => stream.sendWindow < 0);
    assert.equal(stream.sendWindow, 25_535 - 64_535);
    stream.sendData(Buffer.alloc(0), true);
    await until(() =>
      frames.some((f) => f.type === FRAME.DATA && (f.flags & FLAG.END_STREAM) !== 0),
    );
    const end = frames.find((f) => f.type === FRAME.DATA && (f.flags & FLAG.END_STREAM) !== 0);
    assert.equal(end?.payload.length, 0);
    assert.equal(stream.sendWindow, -39_000, 'an empty frame takes no window');
    assert.equal(stream.queuedBytes, 0);
    connection.destroy();
    peer.destroy();
  });

  it('holds data beyond the window and sends it, then the trailers, after WINDOW_UPDATE', async () => {
    const { connection, peer, frames } = await pair();
    const stream = connection.open([':method', 'POST', ':path', '/x'], false, quiet);
    stream.sendData(Buffer.alloc(100_000, 2), false);
    stream.sendHeaders(['grpc-status', '0'], true);
    await until(() => frames.filter((f) => f.type === FRAME.DATA).length > 0);
    await new Promise((r) => setTimeout(r, 30));
    const sent = (): number =>
      frames.filter((f) => f.type === FRAME.DATA).reduce((n, f) => n + f.payload.length, 0);
    assert.equal(sent(), 65_535, 'the default window, no more');
    assert.ok(
      !frames.some(
        (f) => f.type === FRAME.HEADERS && f.streamId === stream.id && f.flags & FLAG.END_STREAM,
      ),
    );
    const more = new FrameBatch();
    more.frame32(FRAME.WINDOW_UPDATE, 0, 100_000);
    more.frame32(FRAME.WINDOW_UPDATE, stream.id, 100_000);
    peer.write(more.take() ?? Buffer.alloc(0));
    await until(() => sent() === 100_000);
    await until(() => frames.at(-1)?.type === FRAME.HEADERS);
    const last = frames.at(-1);
    assert.equal((last?.flags ?? 0) & FLAG.END_STREAM, FLAG.END_STREAM, 'trailers after the data');
    connection.destroy();
    peer.destroy();
  });
});
