import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { echoClient, type EchoClient, type EchoReply } from '../../../src/backend/grpc-client.js';
import { FLAG, FRAME, FrameBatch, H2_ERROR, PREFACE } from '../../../src/proxy/h2/frames.js';
import { HpackEncoder } from '../../../src/proxy/h2/hpack.js';
import { bareCall, bareTarget } from '../../helpers/h2-bare.js';
import { rawH2Client } from '../../helpers/h2-raw.js';
import {
  echoGrpcStream,
  gatewayTo,
  startBackends,
  startTestGateway,
  tally,
  targets,
  type TestGateway,
} from '../../helpers/proxy.js';
import { sleep, until } from '../../helpers/wait.js';

// The gateway's own HTTP/2 relay (src/proxy/h2) under real grpc-js clients and servers, and
// under hand-made frames for what no well-behaved client sends.

const backends: RunningBackend[] = [];
let gw: TestGateway;
let client: EchoClient;
const MAX_MESSAGE = 8 * 1024 * 1024;

before(async () => {
  backends.push(...(await startBackends('grpc', 'r', 2)));
  gw = await startTestGateway(`
listeners:
  - name: rpc
    protocol: grpc
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: / }, upstream: echo }
upstreams:
  - { name: echo, balance: round-robin, targets: ${targets(backends)} }
`);
  client = echoClient(`127.0.0.1:${gw.port('rpc')}`, {
    'grpc.max_receive_message_length': MAX_MESSAGE,
    'grpc.max_send_message_length': MAX_MESSAGE,
  });
});

after(async () => {
  client.close();
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

function unary(message: string): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    client.Unary({ message }, (err, reply) => settle(resolve, reject, err, reply));
  });
}

/** Settles a call's promise from its callback. */
function settle(
  resolve: (reply: EchoReply) => void,
  reject: (err: Error) => void,
  err: grpc.ServiceError | null,
  reply: EchoReply | undefined,
): void {
  if (err) reject(err);
  else if (reply === undefined) reject(new Error('no reply'));
  else resolve(reply);
}

describe('gw proxy: the HTTP/2 relay', () => {
  it(
    'carries a 3 MiB message each way (beyond every flow-control window)',
    { timeout: 10_000 },
    async () => {
      const message = 'x'.repeat(3 * 1024 * 1024);
      const reply = await unary(message);
      assert.equal(reply.message.length, message.length);
      assert.equal(reply.message, message);
    },
  );

  it(
    'relays 300 concurrent calls on one channel, balanced per call',
    { timeout: 10_000 },
    async () => {
      const replies = await Promise.all(Array.from({ length: 300 }, (_, i) => unary(`m${i}`)));
      replies.forEach((r, i) => assert.equal(r.message, `m${i}`));
      assert.deepEqual(tally(replies.map((r) => r.backend)), { 'r-1': 150, 'r-2': 150 });
    },
  );

  it(
    'relays 2,000 streamed replies in order (the client reads slower than they come)',
    { timeout: 10_000 },
    async () => {
      const call = client.ServerStream({ message: 'y'.repeat(4096), count: 2000 });
      const seen: number[] = [];
      for await (const reply of call as AsyncIterable<EchoReply>) {
        seen.push(reply.index);
        if (seen.length % 500 === 0) await sleep(20);
      }
      assert.equal(seen.length, 2000);
      assert.ok(seen.every((v, i) => v === i));
    },
  );

  it('frees the target when the client cancels a stream', { timeout: 10_000 }, async () => {
    const upstream = gw.gateway.ref.current.upstream('echo');
    const call = client.ServerStream({ message: 'slow', count: 100, delayMs: 50 });
    call.on('error', () => undefined);
    await new Promise<void>((resolve) => call.once('data', () => resolve()));
    assert.equal(
      upstream.targets.reduce((n, t) => n + t.active, 0),
      1,
    );
    const logged = gw.log.length;
    call.cancel();
    await until(() => upstream.targets.every((t) => t.active === 0));
    // Logged as 1 CANCELLED, not as the 0 of a call that finished.
    await until(() => gw.log.length > logged);
    assert.match(gw.log.at(-1) ?? '', / \/gw\.echo\.v1\.Echo\/ServerStream 1 /);
  });

  it(
    'answers PING and SETTINGS, and acknowledges the client settings',
    { timeout: 10_000 },
    async () => {
      const { socket, frames } = await rawH2Client(gw.port('rpc'), { start: 'nothing' });
      const batch = new FrameBatch();
      batch.settings([[0x4, 100_000]]);
      batch.frame(FRAME.PING, 0, 0, Buffer.from('gw-ping!'));
      socket.write(Buffer.concat([PREFACE, batch.take() ?? Buffer.alloc(0)]));
      await until(() => frames.some((f) => f.type === FRAME.PING));
      const ping = frames.find((f) => f.type === FRAME.PING);
      assert.ok(ping);
      assert.equal(ping.flags, FLAG.ACK);
      assert.equal(ping.payload.toString(), 'gw-ping!');
      assert.ok(frames.some((f) => f.type === FRAME.SETTINGS && f.flags === 0));
      assert.ok(frames.some((f) => f.type === FRAME.SETTINGS && f.flags === FLAG.ACK));
      socket.destroy();
    },
  );

  it(
    'ends a connection that does not start with the preface, and keeps serving others',
    { timeout: 10_000 },
    async () => {
      const { socket, frames, closed } = await rawH2Client(gw.port('rpc'), { start: 'nothing' });
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await closed;
      const goaway = frames.find((f) => f.type === FRAME.GOAWAY);
      assert.ok(goaway, 'a GOAWAY before closing');
      assert.equal(goaway.payload.readUInt32BE(4), H2_ERROR.PROTOCOL_ERROR);
      assert.equal((await unary('still here')).message, 'still here');
    },
  );

  it(
    'ends a connection whose header block cannot be decoded with COMPRESSION_ERROR',
    { timeout: 10_000 },
    async () => {
      const { socket, frames, closed } = await rawH2Client(gw.port('rpc'), { start: 'nothing' });
      const batch = new FrameBatch();
      batch.settings([]);
      // Index 0 is never valid in HPACK (RFC 7541 §6.1).
      batch.frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, 1, Buffer.from([0x80]));
      socket.write(Buffer.concat([PREFACE, batch.take() ?? Buffer.alloc(0)]));
      await closed;
      const goaway = frames.find((f) => f.type === FRAME.GOAWAY);
      assert.ok(goaway);
      assert.equal(goaway.payload.readUInt32BE(4), H2_ERROR.COMPRESSION_ERROR);
    },
  );

  it(
    'refuses a request without :path with RST_STREAM PROTOCOL_ERROR, the connection lives on',
    { timeout: 10_000 },
    async () => {
      const { socket, frames } = await rawH2Client(gw.port('rpc'), { start: 'nothing' });
      const encoder = new HpackEncoder();
      const batch = new FrameBatch();
      batch.settings([]);
      batch.headers(1, encoder.encode([':method', 'POST', ':scheme', 'http']), true, 16_384);
      batch.frame(FRAME.PING, 0, 0, Buffer.from('after-it'));
      socket.write(Buffer.concat([PREFACE, batch.take() ?? Buffer.alloc(0)]));
      await until(() => frames.some((f) => f.type === FRAME.PING));
      const rst = frames.find((f) => f.type === FRAME.RST_STREAM);
      assert.ok(rst);
      assert.equal(rst.streamId, 1);
      assert.equal(rst.payload.readUInt32BE(0), H2_ERROR.PROTOCOL_ERROR);
      assert.ok(!frames.some((f) => f.type === FRAME.GOAWAY));
      socket.destroy();
    },
  );

  it(
    'carries 40 KB of metadata (HEADERS + CONTINUATION both ways) and binary values',
    { timeout: 10_000 },
    async () => {
      const metadata = new grpc.Metadata();
      const big = 'v'.repeat(40_000);
      metadata.set('x-big', big);
      metadata.set('x-blob-bin', Buffer.from([0, 1, 2, 255]));
      const reply = await new Promise<EchoReply>((resolve, reject) => {
        client.Unary({ message: 'meta' }, metadata, (err, r) => settle(resolve, reject, err, r));
      });
      assert.equal(reply.metadata['x-big'], big);
      assert.equal(reply.metadata['x-blob-bin'], Buffer.from([0, 1, 2, 255]).toString('base64'));
    },
  );
});

describe('gw proxy: random frames', () => {
  it(
    'never takes the gateway down, whatever frames a client sends',
    { timeout: 60_000 },
    async () => {
      const encoder = new HpackEncoder();
      const frame = fc.record({
        type: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 10, max: 255 })),
        flags: fc.integer({ min: 0, max: 255 }),
        streamId: fc.oneof(fc.constantFrom(0, 1, 3, 5), fc.integer({ min: 0, max: 0x7fff_ffff })),
        payload: fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          // Sometimes a well-formed request header block, so streams really open.
          fc.constant(
            new Uint8Array(
              encoder.encode([
                ':method',
                'POST',
                ':scheme',
                'http',
                ':path',
                '/gw.echo.v1.Echo/Unary',
              ]),
            ),
          ),
        ),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 12 }), async (frames) => {
          const { socket, closed } = await rawH2Client(gw.port('rpc'));
          const batch = new FrameBatch();
          for (const f of frames) batch.frame(f.type, f.flags, f.streamId, f.payload);
          socket.write(batch.take() ?? Buffer.alloc(0));
          await Promise.race([closed, sleep(30)]);
          socket.destroy();
        }),
        { numRuns: 150 },
      );
      // Still whole: a real call goes through.
      assert.equal((await unary('after the storm')).message, 'after the storm');
    },
  );
});

describe('gw proxy: targets that limit their streams', () => {
  it(
    'opens more connections when a target allows 2 streams each, and every call succeeds',
    { timeout: 10_000 },
    async () => {
      // A bare HTTP/2 target: answers every call after 50 ms with the request's own bytes
      // (an EchoRequest's `message` is field 1, as is an EchoReply's), 2 streams per connection.
      let sessions = 0;
      let most = 0;
      const openBySession = new Map<unknown, number>();
      const server = http2.createServer({ settings: { maxConcurrentStreams: 2 } });
      server.on('session', () => sessions++);
      server.on('stream', (stream) => {
        const session = stream.session;
        const open = (openBySession.get(session) ?? 0) + 1;
        openBySession.set(session, open);
        most = Math.max(most, open);
        // Long enough that all ten calls are open at once, however loaded the machine.
        echoGrpcStream(stream, 500);
        stream.on('close', () => openBySession.set(session, (openBySession.get(session) ?? 1) - 1));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      const limited = await gatewayTo('grpc', [port]);
      const c = echoClient(`127.0.0.1:${limited.port('rpc')}`);
      try {
        const replies = await Promise.all(
          Array.from(
            { length: 10 },
            (_, i) =>
              new Promise<EchoReply>((resolve, reject) =>
                c.Unary({ message: `n${i}` }, (err, r) => settle(resolve, reject, err, r)),
              ),
          ),
        );
        assert.deepEqual(
          replies.map((r) => r.message),
          Array.from({ length: 10 }, (_, i) => `n${i}`),
        );
        assert.ok(most <= 2, `at most 2 streams per connection were open at once, saw ${most}`);
        assert.ok(
          sessions >= 5,
          `10 calls at 2 per connection need 5 connections, saw ${sessions}`,
        );
      } finally {
        c.close();
        await limited.close();
        await new Promise<void>((r) => server.close(() => r()));
      }
    },
  );
});

describe('gw proxy: misbehaving clients and targets', () => {
  /** Answers every call with `bytes` of message data, then status 0. */
  const answerWith = (bytes: number) => (stream: http2.ServerHttp2Stream) => {
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc' },
      { waitForTrailers: true },
    );
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(Buffer.alloc(bytes, 0x61));
  };

  it(
    'a client that reads nothing does not stall other clients of the same target',
    { timeout: 10_000 },
    async () => {
      const target = await bareTarget(answerWith(1024 * 1024));
      const gwx = await gatewayTo('grpc', [target.port]);
      const { socket } = await rawH2Client(gwx.port('rpc'), { settings: [[0x4, 0]] }); // stream windows of 0
      const encoder = new HpackEncoder();
      const batch = new FrameBatch();
      for (let id = 1; id <= 79; id += 2) {
        const block = encoder.encode([':method', 'POST', ':scheme', 'http', ':path', '/t.T/M']);
        batch.headers(id, block, true, 16_384);
      }
      socket.write(batch.take() ?? Buffer.alloc(0));
      await sleep(300); // 40 MiB wait in the gateway for a reader
      try {
        assert.equal(await bareCall(gwx.port('rpc'), '/t.T/M'), '0');
      } finally {
        socket.destroy();
        await gwx.close();
        await target.close();
      }
    },
  );

  it(
    'DATA after END_STREAM resets the call and cancels it at the target',
    { timeout: 10_000 },
    async () => {
      let cancelled = 0;
      const target = await bareTarget((stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        const timer = setInterval(() => stream.write(Buffer.alloc(1024)), 5);
        stream.on('close', () => {
          clearInterval(timer);
          cancelled++;
        });
      });
      const gwx = await gatewayTo('grpc', [target.port]);
      const { socket, frames } = await rawH2Client(gwx.port('rpc'), { settings: [[0x4, 1 << 20]] });
      const encoder = new HpackEncoder();
      const open = new FrameBatch();
      open.headers(
        1,
        encoder.encode([':method', 'POST', ':scheme', 'http', ':path', '/t.T/S']),
        true,
        16_384,
      );
      socket.write(open.take() ?? Buffer.alloc(0));
      await until(() => frames.some((f) => f.type === FRAME.DATA));
      const stray = new FrameBatch();
      stray.frame(FRAME.DATA, 0, 1, Buffer.from('late'));
      socket.write(stray.take() ?? Buffer.alloc(0));
      try {
        await until(() => frames.some((f) => f.type === FRAME.RST_STREAM));
        const rst = frames.find((f) => f.type === FRAME.RST_STREAM);
        assert.equal(rst?.payload.readUInt32BE(0), H2_ERROR.STREAM_CLOSED);
        await until(() => cancelled === 1);
        await until(() => gwx.log.length === 1);
      } finally {
        socket.destroy();
        await gwx.close();
        await target.close();
      }
    },
  );

  it(
    'ends a client that sends endless empty CONTINUATION frames with ENHANCE_YOUR_CALM',
    { timeout: 10_000 },
    async () => {
      const { socket, frames, closed } = await rawH2Client(gw.port('rpc'));
      const encoder = new HpackEncoder();
      const batch = new FrameBatch();
      batch.frame(FRAME.HEADERS, 0, 1, encoder.encode([':method', 'POST', ':path', '/x']));
      for (let i = 0; i < 200; i++) batch.frame(FRAME.CONTINUATION, 0, 1);
      socket.write(batch.take() ?? Buffer.alloc(0));
      await closed;
      const goaway = frames.find((f) => f.type === FRAME.GOAWAY);
      assert.equal(goaway?.payload.readUInt32BE(4), H2_ERROR.ENHANCE_YOUR_CALM);
    },
  );

  it(
    'ends a client that opens and resets streams without end (rapid reset)',
    { timeout: 10_000 },
    async () => {
      const { socket, frames, closed } = await rawH2Client(gw.port('rpc'));
      const encoder = new HpackEncoder();
      const batch = new FrameBatch();
      for (let i = 0; i < 1200; i++) {
        const id = 2 * i + 1;
        // Well-formed requests (with :scheme), so that the client's own resets are what is counted.
        const request = [':method', 'POST', ':scheme', 'http', ':path', '/x'];
        batch.headers(id, encoder.encode(request), false, 16_384);
        batch.frame32(FRAME.RST_STREAM, id, H2_ERROR.CANCEL);
      }
      socket.write(batch.take() ?? Buffer.alloc(0));
      await closed;
      const goaway = frames.find((f) => f.type === FRAME.GOAWAY);
      assert.equal(goaway?.payload.readUInt32BE(4), H2_ERROR.ENHANCE_YOUR_CALM);
    },
  );

  it(
    'moves on at once from a target that closes before its SETTINGS',
    { timeout: 10_000 },
    async () => {
      const closer = net.createServer((s) => s.destroy());
      await new Promise<void>((r) => closer.listen(0, '127.0.0.1', r));
      const target = await bareTarget(answerWith(10));
      const gwx = await gatewayTo('grpc', [
        (closer.address() as { port: number }).port,
        target.port,
      ]);
      try {
        const started = Date.now();
        assert.deepEqual(
          await Promise.all([
            bareCall(gwx.port('rpc'), '/t.T/M'),
            bareCall(gwx.port('rpc'), '/t.T/M'),
          ]),
          ['0', '0'],
        );
        assert.ok(Date.now() - started < 1000, 'no wait for the connect timeout');
      } finally {
        await gwx.close();
        await target.close();
        await new Promise<void>((r) => closer.close(() => r()));
      }
    },
  );
});

describe('gw proxy: a target that refuses a stream', () => {
  it(
    'sends a call the target refused unprocessed (REFUSED_STREAM) again, whole',
    { timeout: 10_000 },
    async () => {
      let streams = 0;
      const server = http2.createServer();
      server.on('session', (session) => session.on('error', () => undefined));
      server.on('stream', (stream) => {
        stream.on('error', () => undefined);
        if (++streams === 1) {
          // Refused before any processing (RFC 9113 §8.7): safe to send again.
          stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
          return;
        }
        echoGrpcStream(stream);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      const gwx = await gatewayTo('grpc', [port]);
      const c = echoClient(`127.0.0.1:${gwx.port('rpc')}`);
      try {
        const reply = await new Promise<EchoReply>((resolve, reject) => {
          c.Unary({ message: 'again' }, (err, r) => settle(resolve, reject, err, r));
        });
        assert.equal(reply.message, 'again', 'the request bytes went again, whole');
        assert.equal(streams, 2);
        assert.match(gwx.log.at(-1) ?? '', / POST \/gw\.echo\.v1\.Echo\/Unary 0 /);
      } finally {
        c.close();
        await gwx.close();
        await new Promise<void>((r) => server.close(() => r()));
      }
    },
  );
});
