import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import {
  H2Connection,
  H2Stream,
  type ConnectionOptions,
  type StreamHandler,
} from '../../../src/proxy/h2/connection.js';
import { FLAG, FRAME, FrameBatch, H2_ERROR, SETTING } from '../../../src/proxy/h2/frames.js';
import { HpackEncoder } from '../../../src/proxy/h2/hpack.js';
import { clientPreface, rawH2Client, recordFrames, type RawFrame } from '../../helpers/h2-raw.js';
import { sleep, until } from '../../helpers/wait.js';

/**
 * An H2Connection in the client role, and the raw socket of its peer (which
 * keeps its side open after a FIN when `allowHalfOpen`).
 */
async function pair(
  allowHalfOpen = false,
): Promise<{ connection: H2Connection; peer: Socket; frames: RawFrame[] }> {
  const server = createServer({ allowHalfOpen });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const peer = await accepted;
  server.close();
  const frames = recordFrames(peer, { skipPreface: true });
  const connection = new H2Connection(socket, { role: 'client' });
  return { connection, peer, frames };
}

const ignore = (): void => undefined;
const quiet: StreamHandler = { headers: ignore, data: ignore, reset: ignore };

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
    await sleep(30);
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

/**
 * An H2Connection in the server role on an accepted socket, and the raw
 * client socket facing it (which already sent the preface and an empty
 * SETTINGS unless `preface` is false), with the frames it received.
 */
async function serverPair(
  options: Omit<ConnectionOptions, 'role'> = {},
  preface = true,
): Promise<{ connection: H2Connection; peer: Socket; frames: RawFrame[]; closed: () => boolean }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const raw = await rawH2Client(port, { start: 'nothing' });
  const socket = await accepted;
  server.close();
  const connection = new H2Connection(socket, { role: 'server', ...options });
  if (preface) {
    raw.socket.write(clientPreface());
    await until(() => connection.settled);
  }
  return { connection, peer: raw.socket, frames: raw.frames, closed: raw.isClosed };
}

const goawayOf = (frames: RawFrame[]): number | undefined =>
  frames.find((f) => f.type === FRAME.GOAWAY)?.payload.readUInt32BE(4);

const REQUEST = [':method', 'POST', ':scheme', 'http', ':path', '/s.S/M', ':authority', 'a'];

describe('h2 connection: limits (RFC 9113 §5.1.2, §6.5, §10.5)', () => {
  it('applies only the last INITIAL_WINDOW_SIZE of a SETTINGS frame: streams walked once', async () => {
    const { connection, peer } = await pair();
    for (let i = 0; i < 100; i++) connection.open(REQUEST, false, quiet);
    const { prototype } = H2Stream;
    const original = Object.getOwnPropertyDescriptor(prototype, 'adjustWindow')?.value as (
      delta: number,
    ) => void;
    let walks = 0;
    H2Stream.prototype.adjustWindow = function (this: H2Stream, delta: number): void {
      walks++;
      Reflect.apply(original, this, [delta]);
    };
    try {
      const settings = new FrameBatch();
      const entries = Array.from({ length: 2730 }, (_, i): [number, number] => [
        SETTING.INITIAL_WINDOW_SIZE,
        i === 2729 ? 1000 : 70_000 + i,
      ]);
      settings.settings(entries);
      peer.write(settings.take() ?? Buffer.alloc(0));
      const streams = [...connection.streams.values()];
      await until(() => streams.every((s) => s.sendWindow === 1000));
      assert.equal(walks, 100, 'one window change per open stream, not 2,730');
    } finally {
      H2Stream.prototype.adjustWindow = original;
      connection.destroy();
      peer.destroy();
    }
  });

  it('destroys a connection whose peer sent GOAWAY and never closes its side', async () => {
    const { connection, peer } = await pair(true);
    peer.on('error', ignore);
    const bye = new FrameBatch();
    bye.settings([]);
    bye.goaway(0, H2_ERROR.NO_ERROR);
    peer.write(bye.take() ?? Buffer.alloc(0));
    // The peer keeps its socket open (no end, no destroy): the gateway's side must still go.
    const end = Date.now() + 6000;
    while (!connection.closed && Date.now() < end) await sleep(20);
    assert.ok(connection.closed, 'closed by the destroy deadline');
    assert.ok(connection.socket.destroyed);
    peer.destroy();
  });

  it('counts resets the user makes for client faults (resetByClientFault) as churn', async () => {
    const { connection, peer, frames, closed } = await serverPair({
      // As a listener refusing a malformed request would.
      onStream: (stream) => stream.resetByClientFault(H2_ERROR.PROTOCOL_ERROR),
    });
    const encoder = new HpackEncoder();
    let id = 1;
    for (let round = 0; round < 30 && !closed() && goawayOf(frames) === undefined; round++) {
      const batch = new FrameBatch();
      for (let i = 0; i < 100; i++, id += 2)
        batch.headers(id, encoder.encode(REQUEST), true, 16_384);
      peer.write(batch.take() ?? Buffer.alloc(0));
      await sleep(5);
    }
    await until(() => goawayOf(frames) !== undefined);
    assert.equal(goawayOf(frames), H2_ERROR.ENHANCE_YOUR_CALM);
    // The fault allowance (32 in a burst) ends it in the first or second round of 100.
    assert.ok(id <= 2 * 200 + 1, `cut after ${(id - 1) / 2} streams`);
    connection.destroy();
    peer.destroy();
  });

  it('refuses streams beyond the 128 it advertised, with REFUSED_STREAM', async () => {
    const { connection, peer, frames } = await serverPair({ onStream: ignore });
    const ours = frames.find((f) => f.type === FRAME.SETTINGS && f.flags === 0);
    assert.ok(ours);
    const advertised = new Map<number, number>();
    for (let at = 0; at < ours.payload.length; at += 6) {
      advertised.set(ours.payload.readUInt16BE(at), ours.payload.readUInt32BE(at + 2));
    }
    assert.equal(advertised.get(SETTING.MAX_CONCURRENT_STREAMS), 128);
    const encoder = new HpackEncoder();
    const batch = new FrameBatch();
    for (let i = 0; i < 130; i++) batch.headers(2 * i + 1, encoder.encode(REQUEST), false, 16_384);
    peer.write(batch.take() ?? Buffer.alloc(0));
    await until(() => frames.filter((f) => f.type === FRAME.RST_STREAM).length === 2);
    const refused = frames.filter((f) => f.type === FRAME.RST_STREAM);
    assert.deepEqual(
      refused.map((f) => [f.streamId, f.payload.readUInt32BE(0)]),
      [
        [257, H2_ERROR.REFUSED_STREAM],
        [259, H2_ERROR.REFUSED_STREAM],
      ],
    );
    assert.equal(connection.activeStreams, 128);
    connection.destroy();
    peer.destroy();
  });

  it('ends a PRIORITY flood with GOAWAY ENHANCE_YOUR_CALM', async () => {
    const { connection, peer, frames } = await serverPair();
    const batch = new FrameBatch();
    for (let i = 0; i < 3000; i++) batch.frame(FRAME.PRIORITY, 0, 1, Buffer.alloc(5));
    peer.write(batch.take() ?? Buffer.alloc(0));
    await until(() => goawayOf(frames) !== undefined);
    assert.equal(goawayOf(frames), H2_ERROR.ENHANCE_YOUR_CALM);
    connection.destroy();
    peer.destroy();
  });

  it('reads nothing more from a connection it ended (a flood costs no CPU in the grace period)', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    // An attacker keeps writing after the gateway's FIN (half-open, as a flood tool does).
    const peer = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    peer.on('error', () => undefined);
    const frames = recordFrames(peer);
    const socket = await accepted;
    server.close();
    const connection = new H2Connection(socket, { role: 'server' });
    const pings = new FrameBatch();
    for (let i = 0; i < 3000; i++) pings.frame(FRAME.PING, 0, 0, Buffer.alloc(8));
    peer.write(Buffer.concat([clientPreface(), pings.take() ?? Buffer.alloc(0)]));
    await until(() => goawayOf(frames) !== undefined);
    await sleep(50);
    const before = socket.bytesRead;
    // 8 MiB more (bounded), written while the gateway holds the socket for its close deadline.
    const more = Buffer.alloc(1 << 20);
    for (let i = 0; i < 8; i++) peer.write(more);
    await sleep(300);
    const after = socket.bytesRead;
    assert.ok(after - before <= 128 * 1024, `read ${after - before} bytes after GOAWAY`);
    connection.destroy();
    peer.destroy();
  });

  it('ends a flood of empty CONTINUATION frames spread over many header blocks', async () => {
    const { connection, peer, frames } = await serverPair({ onStream: ignore });
    const encoder = new HpackEncoder();
    const batch = new FrameBatch();
    // 40 blocks of 60 empty CONTINUATIONs: each block within its own bound of 64.
    for (let i = 0; i < 40; i++) {
      const id = 2 * i + 1;
      batch.frame(FRAME.HEADERS, FLAG.END_STREAM, id, encoder.encode(REQUEST));
      for (let j = 0; j < 60; j++) batch.frame(FRAME.CONTINUATION, 0, id);
      batch.frame(FRAME.CONTINUATION, FLAG.END_HEADERS, id);
    }
    peer.write(batch.take() ?? Buffer.alloc(0));
    await until(() => goawayOf(frames) !== undefined);
    assert.equal(goawayOf(frames), H2_ERROR.ENHANCE_YOUR_CALM);
    connection.destroy();
    peer.destroy();
  });

  it('lets a client answer each DATA frame with two WINDOW_UPDATEs and PINGs (no GOAWAY)', async () => {
    const { connection, peer, frames } = await serverPair({
      onStream: (stream) => {
        stream.sendHeaders([':status', '200'], false);
        // 3,000 small DATA frames: a legitimate client may answer each.
        for (let i = 0; i < 3000; i++) stream.sendData(Buffer.alloc(10, 1), false);
        stream.sendHeaders(['grpc-status', '0'], true);
      },
    });
    const encoder = new HpackEncoder();
    const open = new FrameBatch();
    open.headers(1, encoder.encode(REQUEST), true, 16_384);
    peer.write(open.take() ?? Buffer.alloc(0));
    await until(() => frames.filter((f) => f.type === FRAME.DATA).length === 3000);
    const answers = new FrameBatch();
    for (let i = 0; i < 3000; i++) {
      answers.frame32(FRAME.WINDOW_UPDATE, 0, 10);
      answers.frame32(FRAME.WINDOW_UPDATE, 1, 10);
      if (i % 10 === 0) answers.frame(FRAME.PING, 0, 0, Buffer.alloc(8));
    }
    answers.frame(FRAME.PING, 0, 0, Buffer.from('the-last'));
    peer.write(answers.take() ?? Buffer.alloc(0));
    await until(() =>
      frames.some((f) => f.type === FRAME.PING && f.payload.toString() === 'the-last'),
    );
    assert.equal(goawayOf(frames), undefined);
    connection.destroy();
    peer.destroy();
  });
});

describe('h2 connection: server timers (checkTimers)', () => {
  const timeouts = { headerMs: 1000, idleMs: 5000 };

  it('ends a connection that sent no preface within headerMs with GOAWAY PROTOCOL_ERROR', async () => {
    const { connection, peer, frames, closed } = await serverPair({ timeouts }, false);
    const now = performance.now();
    connection.checkTimers(now);
    assert.equal(goawayOf(frames), undefined, 'not before headerMs');
    connection.checkTimers(now + timeouts.headerMs + 1);
    await until(closed);
    assert.equal(goawayOf(frames), H2_ERROR.PROTOCOL_ERROR);
    peer.destroy();
  });

  it('ends a connection stalled inside a header block', async () => {
    const { connection, peer, frames, closed } = await serverPair({ timeouts, onStream: ignore });
    const encoder = new HpackEncoder();
    const batch = new FrameBatch();
    batch.frame(FRAME.HEADERS, 0, 1, encoder.encode(REQUEST));
    peer.write(batch.take() ?? Buffer.alloc(0));
    await sleep(50);
    connection.checkTimers(performance.now() + timeouts.headerMs + 1);
    await until(closed);
    assert.equal(goawayOf(frames), H2_ERROR.PROTOCOL_ERROR);
    peer.destroy();
  });

  it('ends an idle connection with GOAWAY NO_ERROR, and keeps a busy one', async () => {
    const { connection, peer, frames, closed } = await serverPair({ timeouts, onStream: ignore });
    const encoder = new HpackEncoder();
    const batch = new FrameBatch();
    batch.headers(1, encoder.encode(REQUEST), true, 16_384);
    peer.write(batch.take() ?? Buffer.alloc(0));
    await until(() => connection.activeStreams === 1);
    const now = performance.now();
    connection.checkTimers(now + 10 * timeouts.idleMs);
    assert.equal(goawayOf(frames), undefined, 'a stream is open: not idle');
    const stream = connection.streams.get(1);
    assert.ok(stream);
    stream.sendHeaders([':status', '200', 'grpc-status', '0'], true);
    assert.equal(connection.activeStreams, 0);
    // Idle since it was last seen busy (one sweep's precision).
    connection.checkTimers(now + 11 * timeouts.idleMs - 1);
    await sleep(20);
    assert.equal(goawayOf(frames), undefined, 'not before idleMs');
    connection.checkTimers(now + 11 * timeouts.idleMs);
    await until(closed);
    const goaway = frames.find((f) => f.type === FRAME.GOAWAY);
    assert.ok(goaway);
    assert.equal(goaway.payload.readUInt32BE(4), H2_ERROR.NO_ERROR);
    assert.equal(goaway.payload.readUInt32BE(0), 1, 'the last stream it processed');
    peer.destroy();
  });
});
