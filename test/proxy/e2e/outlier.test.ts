import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { echoClient } from '../../../src/backend/grpc-client.js';
import { connect, freePort, readBytes, startPeer } from '../../helpers/sockets.js';
import { startBackends, startTestGateway, type TestGateway } from '../../helpers/proxy.js';
import { until } from '../../helpers/wait.js';

// Passive checks and the retry policy through real sockets: targets that answer 500 or reset
// are ejected and come back; the cap holds; a dead target (nothing listening) never turns a
// POST, a TCP connection or a gRPC call into a failure.

/** An HTTP server answering every request with `status`, counting them. */
async function statusServer(
  status: number,
): Promise<{ port: number; hits: () => number; close: () => void }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`status ${status}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    hits: () => hits,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

interface Answer {
  status: number;
  body: Buffer;
}

/** One request on a new connection; `body` sent with Content-Length, or chunked in pieces. */
function request(
  port: number,
  path: string,
  options: { method?: string; body?: Buffer; chunked?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { body, chunked = false } = options;
    const headers: Record<string, string> = {};
    if (body !== undefined && !chunked) headers['content-length'] = String(body.length);
    const req = http.request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: false, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (body === undefined) {
      req.end();
      return;
    }
    if (!chunked) {
      req.end(body);
      return;
    }
    // Chunked, in pieces with pauses: the body streams through the gateway.
    let at = 0;
    const step = (): void => {
      if (at >= body.length) {
        req.end();
        return;
      }
      req.write(body.subarray(at, at + 16_384));
      at += 16_384;
      setTimeout(step, 2);
    };
    step();
  });
}

function pattern(bytes: number): Buffer {
  const buf = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) buf[i] = (i * 31 + 7) & 0xff;
  return buf;
}

const backends: RunningBackend[] = [];
const cleanups: (() => void)[] = [];
let gw: TestGateway;
let bad500: Awaited<ReturnType<typeof statusServer>>;
let capBadA: Awaited<ReturnType<typeof statusServer>>;
let capBadB: Awaited<ReturnType<typeof statusServer>>;
let resetHits = 0;
let resetPort = 0;
let deadPort = 0;

before(async () => {
  const good = await startBackends('http', 'good', 2);
  const tcpGood = await startBackends('tcp', 'tgood', 1);
  const grpcGood = await startBackends('grpc', 'ggood', 1);
  backends.push(...good, ...tcpGood, ...grpcGood);
  bad500 = await statusServer(500);
  capBadA = await statusServer(500);
  capBadB = await statusServer(500);
  cleanups.push(bad500.close, capBadA.close, capBadB.close);
  // Reads a request head and resets the connection.
  const resetter = await startPeer((socket) => {
    socket.once('data', () => {
      resetHits++;
      socket.resetAndDestroy();
    });
    socket.on('error', () => undefined);
  });
  resetPort = resetter.port;
  cleanups.push(resetter.close);
  deadPort = await freePort();
  const [g1, g2] = good.map((b) => `"127.0.0.1:${b.port}"`);
  gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: /flaky }, upstream: flaky }
      - { match: { pathPrefix: /resets }, upstream: resets }
      - { match: { pathPrefix: /cap }, upstream: cap }
      - { match: { pathPrefix: / }, upstream: dead }
  - { name: tcp, protocol: tcp, listen: 127.0.0.1:0, upstream: tcp-dead }
  - { name: rpc, protocol: grpc, listen: 127.0.0.1:0, routes: [ { upstream: grpc-dead } ] }
upstreams:
  - name: flaky
    balance: round-robin
    targets: [${g1}, ${g2}, "127.0.0.1:${bad500.port}"]
    outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 1000, on: [status-5xx] }
  - name: resets
    balance: round-robin
    targets: [${g1}, "127.0.0.1:${resetPort}"]
    outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 60000 }
  - name: cap
    balance: round-robin
    targets: [${g1}, "127.0.0.1:${capBadA.port}", "127.0.0.1:${capBadB.port}"]
    outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 60000, maxEjectedShare: 0.34 }
  - name: dead
    balance: round-robin
    targets: ["127.0.0.1:${deadPort}", ${g2}]
  - name: tcp-dead
    balance: round-robin
    targets: ["127.0.0.1:${deadPort}", "127.0.0.1:${tcpGood[0]?.port}"]
  - name: grpc-dead
    balance: round-robin
    targets: ["127.0.0.1:${deadPort}", "127.0.0.1:${grpcGood[0]?.port}"]
`);
});

after(async () => {
  await gw.close();
  for (const cleanup of cleanups) cleanup();
  await Promise.all(backends.map((b) => b.close()));
});

function events(upstream: string, what: string): string[] {
  return gw.log.filter((l) => l.startsWith(`upstream ${upstream}: `) && l.includes(what));
}

describe('outlier detection through real sockets', () => {
  it('ejects a target that keeps answering 500: no traffic while ejected, back after', async () => {
    const port = gw.port('web');
    const bad = `127.0.0.1:${bad500.port}`;
    // Round robin over three: the bad target gets every third request; its third 500 ejects it.
    for (let i = 0; i < 9; i++) await request(port, '/flaky');
    assert.equal(bad500.hits(), 3);
    assert.deepEqual(events('flaky', 'ejected'), [
      `upstream flaky: ${bad} ejected for 1 s: 3 consecutive 5xx answers (ejection 1)`,
    ]);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await request(port, '/flaky')).status);
    assert.equal(bad500.hits(), 3, 'no request reached it while ejected');
    assert.deepEqual(new Set(statuses), new Set([200]));

    await until(() => events('flaky', 'back in service').length === 1, 3000, 'its return');
    assert.deepEqual(events('flaky', 'back in service'), [
      `upstream flaky: ${bad} back in service`,
    ]);
    for (let i = 0; i < 6; i++) await request(port, '/flaky');
    assert.ok(bad500.hits() > 3, 'it gets traffic again');
    // Failing again soon after: the second ejection lasts twice as long.
    for (let i = 0; i < 9; i++) await request(port, '/flaky');
    assert.ok(
      events('flaky', 'ejected for 2 s: 3 consecutive 5xx answers (ejection 2)').length === 1,
      gw.log.filter((l) => l.startsWith('upstream')).join('\n'),
    );
  });

  it('ejects a target that resets its connections', async () => {
    const port = gw.port('web');
    for (let i = 0; i < 8; i++) await request(port, '/resets').catch(() => undefined);
    assert.equal(resetHits, 2);
    assert.deepEqual(events('resets', 'ejected'), [
      `upstream resets: 127.0.0.1:${resetPort} ejected for 60 s: 2 consecutive resets (ejection 1)`,
    ]);
    const answers = await Promise.all(Array.from({ length: 10 }, () => request(port, '/resets')));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    assert.equal(resetHits, 2);
  });

  it('ejects at most maxEjectedShare of the targets: 2 of 3 failing, 0.34 → one ejected', async () => {
    const port = gw.port('web');
    for (let i = 0; i < 30; i++) await request(port, '/cap');
    assert.equal(events('cap', ' ejected for ').length, 1, gw.log.join('\n'));
    const capped = events('cap', 'not ejected');
    assert.equal(capped.length, 1);
    assert.match(
      capped[0] ?? '',
      /2 consecutive 5xx answers, but 1 of 3 targets are ejected already \(maxEjectedShare 0\.34\)/,
    );
    // The one still in service keeps its share of the traffic.
    const before = [capBadA.hits(), capBadB.hits()];
    for (let i = 0; i < 10; i++) await request(port, '/cap');
    const grew = [capBadA.hits() - (before[0] ?? 0), capBadB.hits() - (before[1] ?? 0)];
    assert.equal(
      grew.filter((n) => n === 0).length,
      1,
      `one of them gets none: ${grew.join(', ')}`,
    );
    assert.equal(grew.filter((n) => n > 0).length, 1);
  });
});

describe('retries past a dead target (nothing listening)', () => {
  const attempts2 = (path: string): number =>
    gw.log.filter((l) => l.includes(` ${path} 200 `) && l.endsWith('attempts=2')).length;

  it('a POST with a small body (read whole first) never fails; the retry shows attempts=2', async () => {
    const port = gw.port('web');
    const body = pattern(1000);
    for (let i = 0; i < 6; i++) {
      const answer = await request(port, '/small?echo=1', { method: 'POST', body });
      assert.equal(answer.status, 200);
      assert.ok(answer.body.equals(body), 'the body reached the target whole');
    }
    assert.ok(attempts2('/small?echo=1') >= 3, gw.log.join('\n'));
  });

  it('a POST with a large streamed body (Content-Length) is retried with all its bytes', async () => {
    const port = gw.port('web');
    const body = pattern(300_000);
    for (let i = 0; i < 4; i++) {
      const answer = await request(port, '/large?echo=1', { method: 'POST', body });
      assert.equal(answer.status, 200);
      assert.ok(answer.body.equals(body), `echoed ${answer.body.length} of ${body.length} bytes`);
    }
    assert.ok(attempts2('/large?echo=1') >= 2);
  });

  it('a chunked PATCH streamed in pieces is retried with all its bytes', async () => {
    const port = gw.port('web');
    const body = pattern(100_000);
    for (let i = 0; i < 4; i++) {
      const answer = await request(port, '/chunked?echo=1', {
        method: 'PATCH',
        body,
        chunked: true,
      });
      assert.equal(answer.status, 200);
      assert.ok(answer.body.equals(body), `echoed ${answer.body.length} of ${body.length} bytes`);
    }
    assert.ok(attempts2('/chunked?echo=1') >= 2);
  });

  it('TCP connections go past the dead target', async () => {
    const port = gw.port('tcp');
    for (let i = 0; i < 4; i++) {
      const socket = await connect(port);
      const echo = readBytes(socket, 4, 5000);
      socket.write('ping');
      assert.equal((await echo).toString(), 'ping');
      socket.destroy();
    }
    await until(
      () =>
        gw.log.filter((l) => l.includes(' tcp tcp-dead ') && l.endsWith('attempts=2')).length >= 2,
      3000,
      'two TCP sessions logged with attempts=2',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${gw.log.filter((l) => l.includes('tcp')).join('\n')}`);
    });
  });

  it('gRPC calls go past the dead target', async () => {
    const client = echoClient(`127.0.0.1:${gw.port('rpc')}`);
    try {
      for (let i = 0; i < 4; i++) {
        const err = await new Promise<grpc.ServiceError | null>((resolve) => {
          client.Unary({ message: `m${i}` }, (e) => resolve(e));
        });
        assert.equal(err, null);
      }
    } finally {
      client.close();
    }
    assert.ok(
      gw.log.some(
        (l) => l.includes(' grpc ') && l.includes(' 0 grpc-dead ') && l.endsWith('attempts=2'),
      ),
      gw.log.filter((l) => l.includes('grpc-dead')).join('\n'),
    );
  });
});
