import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { connect, freePort, readBytes, startPeer } from '../../helpers/sockets.js';
import {
  startBackends,
  startTestGateway,
  tally,
  targets,
  type TestGateway,
} from '../../helpers/proxy.js';

const backends: RunningBackend[] = [];
let gw: TestGateway;
const peers: { close: () => void }[] = [];

before(async () => {
  const echo = await startBackends('tcp', 't', 3, { banner: true });
  const plain = await startBackends('tcp', 'p', 1);
  const resetting = await startBackends('tcp', 'bad', 1, { failRate: 1 });
  backends.push(...echo, ...plain, ...resetting);
  const dead = await freePort();
  // A peer that keeps talking after the client has sent FIN: half-close must let it through.
  const talker = await startPeer((socket) => {
    socket.on('end', () => {
      socket.write('after your FIN\n');
      socket.end('bye\n');
    });
    socket.resume();
  });
  peers.push(talker);
  // Sends STREAM_BYTES of a pattern that depends on the first byte the client sends.
  const streamer = await startPeer((socket) => {
    socket.once('data', (first: Buffer) => {
      const pattern = streamPattern(first[0] ?? 0);
      let left = STREAM_BYTES / pattern.length;
      const pump = (): void => {
        while (left > 0) {
          left--;
          if (!socket.write(pattern)) {
            socket.once('drain', pump);
            return;
          }
        }
        socket.end();
      };
      pump();
    });
  });
  peers.push(streamer);
  gw = await startTestGateway(`
listeners:
  - { name: rr, protocol: tcp, listen: 127.0.0.1:0, upstream: echo }
  - { name: plain, protocol: tcp, listen: 127.0.0.1:0, upstream: plain }
  - { name: failover, protocol: tcp, listen: 127.0.0.1:0, upstream: failover }
  - { name: dead, protocol: tcp, listen: 127.0.0.1:0, upstream: dead }
  - { name: reset, protocol: tcp, listen: 127.0.0.1:0, upstream: resetting }
  - { name: half, protocol: tcp, listen: 127.0.0.1:0, upstream: talker }
  - { name: idle, protocol: tcp, listen: 127.0.0.1:0, upstream: plain, timeouts: { idleMs: 300 } }
  - { name: hashed, protocol: tcp, listen: 127.0.0.1:0, upstream: hashed }
  - { name: streams, protocol: tcp, listen: 127.0.0.1:0, upstream: streamer }
upstreams:
  - { name: echo, balance: round-robin, targets: ${targets(echo)} }
  - { name: plain, targets: ${targets(plain)} }
  - { name: failover, balance: round-robin, targets: ["127.0.0.1:${dead}", "127.0.0.1:${plain[0]?.port}"] }
  - { name: dead, targets: ["127.0.0.1:${dead}"] }
  - { name: resetting, targets: ${targets(resetting)} }
  - { name: talker, targets: ["127.0.0.1:${talker.port}"] }
  - { name: hashed, balance: hash, targets: ${targets(echo)} }
  - { name: streamer, targets: ["127.0.0.1:${streamer.port}"] }
`);
});

after(async () => {
  await gw.close();
  for (const p of peers) p.close();
  await Promise.all(backends.map((b) => b.close()));
});

/** Bytes each connection to the streaming peer receives. */
const STREAM_BYTES = 24 * 1024 * 1024;

/** 64 KiB of bytes that differ from one `seed` to the next. */
function streamPattern(seed: number): Buffer {
  const pattern = Buffer.alloc(64 * 1024);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (seed * 37 + i * 7 + (i >> 8)) & 0xff;
  return pattern;
}

/** Reads one line (the banner) from a fresh connection. */
async function banner(listener: string): Promise<string> {
  const socket = await connect(gw.port(listener));
  const line = await new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
  });
  socket.destroy();
  return line;
}

describe('gw proxy: TCP', () => {
  it('gives each connection one target, in round-robin order', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 6; i++) lines.push(await banner('rr'));
    assert.deepEqual(tally(lines), {
      'hello from t-1': 2,
      'hello from t-2': 2,
      'hello from t-3': 2,
    });
  });

  it('with hash balancing, keeps one client IP on one target', async () => {
    const lines = new Set<string>();
    for (let i = 0; i < 5; i++) lines.add(await banner('hashed'));
    assert.equal(lines.size, 1);
  });

  it('pipes bytes exactly both ways and forwards the client FIN', async () => {
    const socket = await connect(gw.port('plain'));
    const payload = randomBytes(3 * 1024 * 1024);
    const echoed = readBytes(socket, payload.length + 1, 20_000);
    const ended = new Promise<void>((resolve) => socket.once('end', resolve));
    socket.end(payload);
    assert.deepEqual(await echoed, payload);
    await ended; // the backend saw our FIN, finished, and closed: its FIN came back
  });

  it('keeps concurrent connections apart while their clients read slowly', async () => {
    // Both clients stop reading for a while, so the gateway's writes to them queue up while
    // the targets keep sending: the bytes of one connection must never land in the other.
    const seeds = [1, 2, 3];
    const results = await Promise.all(
      seeds.map(async (seed) => {
        const socket = await connect(gw.port('streams'));
        socket.pause();
        socket.write(Buffer.from([seed]));
        await new Promise((resolve) => setTimeout(resolve, 300));
        const reading = readBytes(socket, STREAM_BYTES, 30_000);
        socket.resume();
        const received = await reading;
        socket.destroy();
        return received;
      }),
    );
    results.forEach((received, i) => {
      const pattern = streamPattern(seeds[i] ?? 0);
      for (let at = 0; at < received.length; at += pattern.length) {
        const slice = received.subarray(at, at + pattern.length);
        if (!slice.equals(pattern)) assert.fail(`connection ${i}: bytes ${at}+ are not its own`);
      }
      assert.equal(received.length, STREAM_BYTES);
    });
  });

  it('keeps the other direction flowing after the client half-closes', async () => {
    const socket = net.connect({ port: gw.port('half'), host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((resolve) => socket.once('connect', resolve));
    const reply = readBytes(socket, 1 << 20, 5000);
    socket.end('request\n');
    assert.equal((await reply).toString(), 'after your FIN\nbye\n');
  });

  it('fails over to the next target when one refuses', async () => {
    for (let i = 0; i < 3; i++) {
      const socket = await connect(gw.port('failover'));
      const echo = readBytes(socket, 5);
      socket.write('hello');
      assert.equal((await echo).toString(), 'hello');
      socket.destroy();
    }
  });

  it('resets the client when no target accepts', async () => {
    const socket = await connect(gw.port('dead'));
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      socket.on('error', resolve);
      socket.on('close', () => resolve(undefined));
    });
    assert.equal(error?.code, 'ECONNRESET');
    assert.ok(
      gw.log.some((l) => l.includes(' dead tcp ') && l.includes('GW_ERR_UPSTREAM_CONNECT')),
    );
  });

  it('passes a reset from the target on to the client as a reset', async () => {
    const socket = await connect(gw.port('reset'));
    const error = new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      socket.on('error', resolve);
      socket.on('close', () => resolve(undefined));
    });
    socket.write('trigger');
    assert.equal((await error)?.code, 'ECONNRESET');
  });

  it('closes a connection idle for longer than the idle timeout', async () => {
    const socket = await connect(gw.port('idle'));
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(gw.log.some((l) => l.includes(' idle tcp ') && l.includes('idle-timeout')));
  });
});
