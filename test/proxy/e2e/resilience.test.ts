import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { echoClient, type EchoReply } from '../../../src/backend/grpc-client.js';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import { curl, parseResponse } from '../../helpers/curl.js';
import { connect, readBytes, startPeer } from '../../helpers/sockets.js';
import {
  startBackends,
  startTestGateway,
  tally,
  targets,
  type TestGateway,
  gatewayTo,
} from '../../helpers/proxy.js';

/**
 * A port whose accept queue is full: SYNs to it are dropped, so connecting
 * times out instead of being refused — on loopback, with no outside traffic.
 */
async function blackhole(): Promise<{ port: number; stop: () => void }> {
  const child: ChildProcess = spawn('python3', [
    '-c',
    'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)',
  ]);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('error', reject);
  });
  // Fill the queue (backlog 0 still queues one or two on Linux).
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    fillers.push(s);
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  return {
    port,
    stop: () => {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    },
  };
}

/** Resolvers called when the waiting peer's connection closes. */
const waiterClosed: (() => void)[] = [];
const backends: RunningBackend[] = [];
const cleanups: (() => void)[] = [];
let gw: TestGateway;
let hole: { port: number; stop: () => void };

before(async () => {
  hole = await blackhole();
  cleanups.push(hole.stop);
  const good = await startBackends('http', 'ok', 1);
  const tcpGood = await startBackends('tcp', 'tok', 1);
  const fast = await startBackends('http', 'fast', 1);
  const slow = await startBackends('http', 'slow', 1, { latencyMs: 300 });
  const grpcBackends = await startBackends('grpc', 'g', 1);
  backends.push(...good, ...tcpGood, ...fast, ...slow, ...grpcBackends);
  const staller = await startPeer((socket) => {
    socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nstart'));
  });
  cleanups.push(staller.close);
  // Reads a request and never answers; says when the gateway closes the connection.
  const waiter = await startPeer((socket) => {
    socket.resume();
    socket.once('close', () => waiterClosed.at(-1)?.());
  });
  cleanups.push(waiter.close);
  gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: /failover }, upstream: failover }
      - { match: { pathPrefix: /hole }, upstream: hole }
      - { match: { pathPrefix: /stall }, upstream: stall }
      - { match: { pathPrefix: /wait }, upstream: wait }
      - { match: { pathPrefix: /lc }, upstream: lc }
      - { match: { pathPrefix: /random }, upstream: random }
  - { name: tcp, protocol: tcp, listen: 127.0.0.1:0, upstream: tcp-failover }
  - { name: tcp-slow, protocol: tcp, listen: 127.0.0.1:0, upstream: tcp-slow }
  - name: rpc
    protocol: grpc
    listen: 127.0.0.1:0
    timeouts: { idleMs: 700 }
    routes: [ { match: { pathPrefix: / }, upstream: rpc } ]
upstreams:
  - name: failover
    balance: round-robin
    targets: ["127.0.0.1:${hole.port}", "127.0.0.1:${good[0]?.port}"]
    timeouts: { connectMs: 300 }
  - { name: hole, targets: ["127.0.0.1:${hole.port}"], timeouts: { connectMs: 300 } }
  - { name: stall, targets: ["127.0.0.1:${staller.port}"], timeouts: { idleMs: 1200 } }
  - { name: wait, targets: ["127.0.0.1:${waiter.port}"] }
  - name: tcp-failover
    balance: round-robin
    targets: ["127.0.0.1:${hole.port}", "127.0.0.1:${tcpGood[0]?.port}"]
    timeouts: { connectMs: 300 }
  - name: tcp-slow
    balance: round-robin
    targets: ["127.0.0.1:${hole.port}", "127.0.0.1:${tcpGood[0]?.port}"]
    timeouts: { connectMs: 300 }
  - { name: lc, balance: least-conn, targets: ["127.0.0.1:${fast[0]?.port}", "127.0.0.1:${slow[0]?.port}"] }
  - { name: random, balance: random, targets: ${targets([...fast, ...slow, ...good])} }
  - { name: rpc, targets: ${targets(grpcBackends)}, timeouts: { idleMs: 700 } }
`);
});

after(async () => {
  await gw.close();
  for (const cleanup of cleanups) cleanup();
  await Promise.all(backends.map((b) => b.close()));
});

describe('gw proxy: timeouts, failover, pooling, reload', () => {
  it('fails over to the next target when connecting to one times out', async () => {
    for (let i = 0; i < 2; i++) {
      const res = parseResponse(
        (await curl(['-i', `http://127.0.0.1:${gw.port('web')}/failover/x`])).stdout,
      );
      assert.equal(res.status, 200);
    }
    assert.ok(gw.log.some((l) => l.includes('/failover/x 200') && l.includes('attempts=2')));
  });

  it('answers 504 GW_ERR_UPSTREAM_TIMEOUT when the only target never accepts', async () => {
    const res = parseResponse(
      (await curl(['-i', `http://127.0.0.1:${gw.port('web')}/hole/x`])).stdout,
    );
    assert.equal(res.status, 504);
    assert.equal(res.headers['x-gw-error'], 'GW_ERR_UPSTREAM_TIMEOUT');
  });

  it('cuts the response when the target stalls longer than the idle timeout', async () => {
    const res = await curl([`http://127.0.0.1:${gw.port('web')}/stall/x`]);
    assert.notEqual(res.code, 0);
    assert.equal(res.stdout.toString(), 'start');
  });

  it('stops the upstream request when the client leaves before the response starts', async () => {
    const upstreamClosed = new Promise<void>((resolve) => waiterClosed.push(resolve));
    const client = await connect(gw.port('web'));
    client.on('error', () => undefined);
    client.write('GET /wait HTTP/1.1\r\nHost: a\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.destroy();
    const timedOut = Symbol('timed out');
    const outcome = await Promise.race([
      upstreamClosed,
      new Promise((resolve) => setTimeout(resolve, 3000, timedOut)),
    ]);
    assert.notEqual(
      outcome,
      timedOut,
      'the upstream request was still open 3 s after the client left',
    );
  });

  it('TCP: fails over past a target whose connect times out', async () => {
    const socket = await connect(gw.port('tcp'));
    const echo = readBytes(socket, 4, 5000);
    socket.write('ping');
    assert.equal((await echo).toString(), 'ping');
    socket.destroy();
  });

  it('TCP: a client that leaves while the gateway is still connecting holds no target', async () => {
    // The first pick never accepts: the gateway is still connecting when the client leaves.
    const socket = await connect(gw.port('tcp-slow'));
    socket.resetAndDestroy();
    await new Promise((resolve) => setTimeout(resolve, 800));
    const upstream = gw.gateway.ref.current.upstream('tcp-slow');
    assert.deepEqual(
      upstream.targets.map((t) => t.active),
      [0, 0],
    );
    // The reset is noticed once the spliced socket is read, and both sides are released.
    assert.ok(
      gw.log.some((l) => l.includes(' tcp-slow tcp tcp-slow ') && l.includes('attempts=2')),
    );
  });

  it('HTTP: a client that leaves during a connect that times out is not retried elsewhere', async () => {
    // The first pick never accepts; the second would take the request and never answer.
    let reached = 0;
    const peer = await startPeer((socket) => {
      reached++;
      socket.resume();
    });
    cleanups.push(peer.close);
    const local = await startTestGateway(`
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, routes: [ { match: { pathPrefix: / }, upstream: u } ] }
upstreams:
  - name: u
    balance: round-robin
    targets: ["127.0.0.1:${hole.port}", "127.0.0.1:${peer.port}"]
    timeouts: { connectMs: 300 }
`);
    const socket = await connect(local.port('web'));
    socket.write('GET /plain HTTP/1.1\r\nhost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy(); // while the gateway still connects to the first pick
    // Past its connect timeout (undici's timers fire a second late at this size).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(reached, 0, 'the request reached the second target');
    assert.deepEqual(
      local.gateway.ref.current.upstream('u').targets.map((t) => t.active),
      [0, 0],
    );
    await local.close();
  });

  it('WebSocket: a client that leaves while the target has not answered the upgrade frees the target', async () => {
    let targetClosed = false;
    const peer = await startPeer((socket) => {
      socket.resume(); // reads the upgrade request, never answers it
      socket.once('close', () => (targetClosed = true));
    });
    cleanups.push(peer.close);
    const local = await gatewayTo('http', [peer.port]);
    const socket = await connect(local.port('web'));
    socket.write(
      'GET /chat HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\n' +
        'sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(targetClosed, true, 'the connection to the target is closed');
    assert.deepEqual(
      local.gateway.ref.current.upstream('t').targets.map((t) => t.active),
      [0],
    );
    assert.ok(
      local.log.some((l) => l.includes(' GET /chat ')),
      local.log.join('\n'),
    );
    await local.close();
  });

  it('least-conn sends more of a concurrent burst to the faster target', async () => {
    const names = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) =>
          new Promise<string>((resolve, reject) => {
            setTimeout(() => {
              http
                .get(`http://127.0.0.1:${gw.port('web')}/lc/${i}`, { agent: false }, (res) => {
                  res.resume();
                  resolve(String(res.headers['x-backend']));
                })
                .on('error', reject);
            }, i * 20);
          }),
      ),
    );
    const counts = tally(names);
    assert.ok((counts['fast-1'] ?? 0) > (counts['slow-1'] ?? 0) * 2, JSON.stringify(counts));
  });

  it('random spreads requests over every target', async () => {
    const names: string[] = [];
    for (let i = 0; i < 90; i++) {
      names.push(
        parseResponse((await curl(['-i', `http://127.0.0.1:${gw.port('web')}/random/`])).stdout)
          .headers['x-backend'] ?? '',
      );
    }
    const counts = Object.values(tally(names));
    assert.equal(counts.length, 3);
    for (const count of counts) assert.ok(count >= 10, JSON.stringify(tally(names)));
  });

  it('reuses upstream connections (keep-alive pool) across requests', async () => {
    let connections = 0;
    const server = http.createServer((_req, res) => res.end('ok'));
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const local = await gatewayTo('http', [port]);
    for (let i = 0; i < 20; i++) await curl([`http://127.0.0.1:${local.port('web')}/`]);
    await local.close();
    server.close();
    assert.equal(connections, 1);
  });

  it('gRPC: a stream longer than the idle timeout lives while messages flow', async () => {
    const client = echoClient(`127.0.0.1:${gw.port('rpc')}`);
    const got: EchoReply[] = [];
    await new Promise<void>((resolve, reject) => {
      // 4 replies, 400 ms apart: 1.6 s in all, never 700 ms silent.
      const call = client.ServerStream({ message: 'tick', count: 4, delayMs: 400 });
      call.on('data', (r: EchoReply) => got.push(r));
      call.on('error', reject);
      call.on('end', resolve);
    });
    client.close();
    assert.equal(got.length, 4);
  });

  it('gRPC: a call silent for longer than the idle timeout ends DEADLINE_EXCEEDED', async () => {
    const client = echoClient(`127.0.0.1:${gw.port('rpc')}`);
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      client.Unary({ message: 'slow', delayMs: 2000 }, (e) => resolve(e));
    });
    client.close();
    assert.equal(err?.code, grpc.status.DEADLINE_EXCEEDED);
  });

  it('swaps a config under a gRPC call in flight: the call finishes on the old runtime', async () => {
    const [g] = await startBackends('grpc', 'swap', 1);
    if (!g) throw new Error('backend did not start');
    backends.push(g);
    const yaml = `
listeners:
  - { name: rpc, protocol: grpc, listen: 127.0.0.1:0, routes: [ { match: { pathPrefix: / }, upstream: g } ] }
upstreams:
  - { name: g, targets: ["127.0.0.1:${g.port}"] }
`;
    const local = await startTestGateway(yaml);
    const client = echoClient(`127.0.0.1:${local.port('rpc')}`);
    const call = new Promise<grpc.ServiceError | null>((resolve) => {
      client.Unary({ message: 'long', delayMs: 1800 }, (e) => resolve(e));
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await local.gateway.swap(parseConfigText(yaml, 'reload.yaml'));
    const err = await call;
    client.close();
    await local.close();
    assert.equal(err, null, `the call in flight failed: ${String(err)}`);
  });

  it('swaps in a new config atomically: the next request uses it, the listener keeps its socket', async () => {
    const [a] = await startBackends('http', 'before', 1);
    const [b] = await startBackends('http', 'after', 1);
    if (!a || !b) throw new Error('backends did not start');
    backends.push(a, b);
    const yaml = (port: number): string => `
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, routes: [ { match: { pathPrefix: / }, upstream: u } ] }
upstreams:
  - { name: u, targets: ["127.0.0.1:${port}"] }
`;
    const local = await startTestGateway(yaml(a.port));
    const url = `http://127.0.0.1:${local.port('web')}/`;
    assert.equal(parseResponse((await curl(['-i', url])).stdout).headers['x-backend'], 'before-1');
    await local.gateway.swap(parseConfigText(yaml(b.port), 'reload.yaml'));
    assert.equal(parseResponse((await curl(['-i', url])).stdout).headers['x-backend'], 'after-1');
    await local.close();
  });
});
