import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, describe, it } from 'node:test';
import { codec } from '../../../src/net/framing/codec.js';
import { encodeLengthPrefix } from '../../../src/net/framing/length-prefix.js';
import type { FramingSpec } from '../../../src/net/framing/types.js';
import type { ReadEvent, ServerEvent } from '../../../src/net/tcp-echo/events.js';
import { startEchoServer, type EchoServer } from '../../../src/net/tcp-echo/server.js';
import { isGwError } from '../../../src/shared/errors.js';
import { closed, connect, readBytes } from '../../helpers/sockets.js';

const LINE: FramingSpec = { framing: 'line', delimiter: Buffer.from('\n'), maxFrameBytes: 1024 };

interface Harness {
  server: EchoServer;
  events: ServerEvent[];
  next: (test: (e: ServerEvent) => boolean) => Promise<ServerEvent>;
}

const running: EchoServer[] = [];
after(async () => {
  await Promise.all(running.map((s) => s.close(100)));
});

async function start(spec: FramingSpec): Promise<Harness> {
  const events: ServerEvent[] = [];
  let waiters: { test: (e: ServerEvent) => boolean; resolve: (e: ServerEvent) => void }[] = [];
  const server = await startEchoServer({
    host: '127.0.0.1',
    port: 0,
    codec: codec(spec),
    onEvent: (event) => {
      events.push(event);
      waiters = waiters.filter((w) => (w.test(event) ? (w.resolve(event), false) : true));
    },
  });
  running.push(server);
  const next = (test: (e: ServerEvent) => boolean): Promise<ServerEvent> => {
    const seen = events.find(test);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ test, resolve }));
  };
  return { server, events, next };
}

const readNo =
  (n: number) =>
  (e: ServerEvent): e is ReadEvent =>
    e.type === 'read' && e.read === n;

describe('tcp-echo server', () => {
  it('reports each read with the messages it completed and the bytes it carried over', async () => {
    const { server, next } = await start(LINE);
    const socket = await connect(server.port);
    socket.write('hel');
    const first = (await next(readNo(1))) as ReadEvent;
    assert.deepEqual([first.bytes, first.messages, first.carried], [3, 0, 3]);
    socket.write('lo\nwo');
    const second = (await next(readNo(2))) as ReadEvent;
    assert.deepEqual([second.bytes, second.messages, second.carried], [5, 1, 2]);
    socket.write('rld\nagain\n');
    const third = (await next(readNo(3))) as ReadEvent;
    assert.deepEqual([third.bytes, third.messages, third.carried], [10, 2, 0]);
    assert.deepEqual(third.samples.map(String), ['world', 'again']);
    assert.equal((await readBytes(socket, 18)).toString(), 'hello\nworld\nagain\n');
    socket.end();
  });

  it('echoes length-framed messages with their headers', async () => {
    const { server } = await start({ framing: 'length', lengthBytes: 2, maxFrameBytes: 1024 });
    const socket = await connect(server.port);
    const wire = Buffer.concat([
      encodeLengthPrefix(Buffer.from('ping'), 2, 1024),
      encodeLengthPrefix(Buffer.from(''), 2, 1024),
    ]);
    socket.write(wire.subarray(0, 3));
    setTimeout(() => socket.write(wire.subarray(3)), 20);
    assert.deepEqual(await readBytes(socket, wire.length), wire);
    socket.end();
  });

  it('echoes fixed frames padded and shows them without the padding', async () => {
    const { server, next } = await start({ framing: 'fixed', frameSize: 8, padByte: 0 });
    const socket = await connect(server.port);
    const frame = Buffer.from('hi\0\0\0\0\0\0');
    socket.write(frame);
    assert.deepEqual(await readBytes(socket, 8), frame);
    const read = (await next(readNo(1))) as ReadEvent;
    assert.equal(read.samples[0]?.toString(), 'hi');
    socket.end();
  });

  it('in raw mode echoes each read exactly as it came, whatever the message boundaries', async () => {
    const { server, next } = await start({ framing: 'raw' });
    const socket = await connect(server.port);
    socket.write('one');
    await next(readNo(1));
    socket.write('two');
    const read = (await next(readNo(2))) as ReadEvent;
    assert.deepEqual([read.messages, read.carried], [1, 0]);
    assert.equal((await readBytes(socket, 6)).toString(), 'onetwo');
    socket.end();
  });

  it('closes a connection that announces an oversized frame, before its body arrives, and keeps serving the others', async () => {
    const { server, next } = await start({
      framing: 'length',
      lengthBytes: 4,
      maxFrameBytes: 1024,
    });
    const good = await connect(server.port);
    const bad = await connect(server.port);
    bad.on('error', () => undefined);
    bad.write(Buffer.from([0x00, 0x20, 0x00, 0x00])); // 2 MiB announced, no body sent
    const error = await next((e) => e.type === 'frame-error');
    assert.ok(error.type === 'frame-error' && error.code === 'GW_ERR_FRAME_TOO_LARGE');
    await closed(bad);
    const message = encodeLengthPrefix(Buffer.from('still here'), 4, 1024);
    good.write(message);
    assert.deepEqual(await readBytes(good, message.length), message);
    assert.equal(server.totals.frameErrors, 1);
    good.end();
  });

  it('still answers the messages that came before an oversized frame in the same read', async () => {
    const { server, next } = await start({ framing: 'length', lengthBytes: 2, maxFrameBytes: 16 });
    const socket = await connect(server.port);
    const accepted = Buffer.concat(
      ['one', 'two'].map((m) => encodeLengthPrefix(Buffer.from(m), 2, 16)),
    );
    const reply = readBytes(socket, accepted.length);
    socket.write(Buffer.concat([accepted, Buffer.from([0x7f, 0xff]), Buffer.alloc(64, 0x61)]));
    assert.deepEqual(await reply, accepted);
    await next((e) => e.type === 'frame-error');
    await closed(socket);
    const close = await next((e) => e.type === 'close');
    assert.ok(close.type === 'close' && close.reason === 'frame-too-large' && close.messages === 2);
  });

  it('reports a peer that disconnects mid-message with the bytes that never formed one', async () => {
    const { server, next } = await start(LINE);
    const socket = await connect(server.port);
    socket.end('complete\npartial');
    const incomplete = await next((e) => e.type === 'incomplete');
    assert.ok(incomplete.type === 'incomplete' && incomplete.bytes === 7);
    const close = await next((e) => e.type === 'close');
    assert.ok(close.type === 'close' && close.reason === 'peer-closed' && close.messages === 1);
  });

  it('reports a reset from the peer as such', async () => {
    const { server, next } = await start(LINE);
    const socket = await connect(server.port);
    socket.write('half a line');
    await next(readNo(1));
    socket.resetAndDestroy();
    const close = await next((e) => e.type === 'close');
    assert.ok(close.type === 'close' && close.reason === 'reset');
    const incomplete = await next((e) => e.type === 'incomplete');
    assert.ok(incomplete.type === 'incomplete' && incomplete.bytes === 11);
  });

  it('loses nothing when the client sends far more than it reads (backpressure)', async () => {
    const { server } = await start({
      framing: 'line',
      delimiter: Buffer.from('\n'),
      maxFrameBytes: 1 << 20,
    });
    const socket = await connect(server.port);
    const line = `${'x'.repeat(1023)}\n`;
    const total = 8 * 1024; // 8 MiB of lines written before reading anything
    socket.pause();
    for (let i = 0; i < total; i++) socket.write(line);
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.resume();
    const echoed = await readBytes(socket, total * line.length, 30_000);
    assert.equal(echoed.length, total * line.length);
    assert.ok(echoed.every((b, i) => b === (i % 1024 === 1023 ? 0x0a : 0x78)));
    socket.end();
  });

  it('serves 1,000 connections at once', async () => {
    const { server } = await start(LINE);
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 1000; i++) sockets.push(await connect(server.port));
    const echoes = sockets.map((s, i) => {
      const reply = readBytes(s, `client ${i}\n`.length);
      s.write(`client ${i}\n`);
      return reply;
    });
    const replies = await Promise.all(echoes);
    assert.equal(server.totals.active, 1000);
    replies.forEach((reply, i) => assert.equal(reply.toString(), `client ${i}\n`));
    await Promise.all(sockets.map((s) => (s.end(), closed(s))));
  });

  it('on close, half-closes every connection so peers see a clean end, then reports a summary', async () => {
    const { server, next } = await start(LINE);
    const socket = await connect(server.port);
    socket.write('bye\n');
    await readBytes(socket, 4);
    const ended = new Promise<void>((resolve) => socket.once('end', resolve));
    socket.on('end', () => socket.end());
    await server.close();
    await ended;
    const summary = await next((e) => e.type === 'summary');
    assert.ok(summary.type === 'summary' && summary.messages === 1 && summary.connections === 1);
  });

  it('refuses a port that is taken with GW_ERR_PORT_IN_USE', async () => {
    const { server } = await start(LINE);
    await assert.rejects(
      startEchoServer({
        host: '127.0.0.1',
        port: server.port,
        codec: codec(LINE),
        onEvent: () => undefined,
      }),
      (err) => isGwError(err, 'GW_ERR_PORT_IN_USE') && err.exitCode === 1,
    );
  });
});
