import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { echoClient } from '../../../src/backend/grpc-client.js';
import { startBackend } from '../../../src/backend/start-backend.js';
import { startTestGateway, type TestGateway } from '../../helpers/proxy.js';
import { until } from '../../helpers/wait.js';

// Breakers per target end to end (`circuitBreaker.perTarget: true`): one target of two refuses
// connections (each failure retried on the other, so clients never see it); its circuit opens,
// it leaves the rotation, and once it is up again it returns half-open, then closed. When every
// target's circuit is open, the gateway answers 503 GW_ERR_CIRCUIT_OPEN and touches none.

/** A backend whose injected failures the test switches (failRate 0.5, random 0 or 0.99). */
async function switchable(kind: 'http' | 'grpc', name: string, port = 0) {
  const control = { broken: true, seen: 0 };
  const backend = await startBackend(kind, {
    port,
    name,
    failRate: 0.5,
    random: () => (control.broken ? 0 : 0.99),
    onEvent: (e) => {
      if (e.type === 'request' || e.type === 'call') control.seen++;
    },
  });
  return { backend, control };
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

function get(port: number, path: string): Promise<{ status: number; error: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          error: res.headers['x-gw-error'] as string | undefined,
        }),
      );
    });
    req.setTimeout(5_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

const backends: RunningBackend[] = [];
let gw: TestGateway;
let good: Awaited<ReturnType<typeof switchable>>;
let downPort: number;
let bad: Awaited<ReturnType<typeof switchable>>[];
let rpc: Awaited<ReturnType<typeof switchable>>[];
let grpcMetadata: typeof grpc.Metadata;

const OPEN_MS = 1000;

before(async () => {
  grpcMetadata = (await import('@grpc/grpc-js')).Metadata;
  good = await switchable('http', 'api-1');
  good.control.broken = false;
  downPort = await closedPort();
  bad = [await switchable('http', 'all-1'), await switchable('http', 'all-2')];
  rpc = [await switchable('grpc', 'rpc-1'), await switchable('grpc', 'rpc-2')];
  backends.push(good.backend, ...[...bad, ...rpc].map((b) => b.backend));
  const breaker = (openMs: number) =>
    `{ perTarget: true, failureRate: 0.5, minCalls: 3, windowMs: 10000, openMs: ${openMs}, halfOpenCalls: 2 }`;
  const list = (xs: { backend: RunningBackend }[]) =>
    `[${xs.map((x) => `"127.0.0.1:${x.backend.port}"`).join(', ')}]`;
  gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: /all }, upstream: all }
      - { match: { pathPrefix: / }, upstream: api }
  - { name: rpc, protocol: grpc, listen: 127.0.0.1:0, routes: [{ upstream: rpc }] }
upstreams:
  - name: api
    balance: round-robin
    targets: ["127.0.0.1:${good.backend.port}", "127.0.0.1:${downPort}"]
    circuitBreaker: ${breaker(OPEN_MS)}
  - { name: all, balance: round-robin, targets: ${list(bad)}, circuitBreaker: ${breaker(60_000)} }
  - { name: rpc, balance: round-robin, targets: ${list(rpc)}, circuitBreaker: ${breaker(60_000)} }
`);
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

describe('circuit breakers per target, end to end', () => {
  it('a dead target leaves the rotation when its circuit opens, and returns half-open → closed once it is up', async () => {
    const port = gw.port('web');
    const down = `127.0.0.1:${downPort}`;
    const opened = `upstream api: target ${down}: circuit open, 3 of 3 calls failed in 10 s; open for 1 s`;
    const statuses: number[] = [];
    for (let i = 0; i < 30 && !gw.log.includes(opened); i++)
      statuses.push((await get(port, '/')).status);
    assert.ok(gw.log.includes(opened), gw.log.join('\n'));
    // Each connect failure was retried on the good target: no client saw one.
    assert.ok(
      statuses.every((s) => s === 200),
      statuses.join(' '),
    );

    // Open: every request goes to the good target, none is even tried on the dead one.
    const state = gw.gateway.registry.state('api');
    const dead = state?.targets.find((t) => t.id === down);
    assert.ok(state && dead);
    assert.deepEqual(
      state.serving.map((t) => t.id),
      [`127.0.0.1:${good.backend.port}`],
    );
    const tried = dead.served;
    const seen = good.control.seen;
    for (let i = 0; i < 10; i++) assert.equal((await get(port, '/')).status, 200);
    assert.equal(dead.served, tried, 'the open target got nothing');
    assert.equal(good.control.seen, seen + 10);

    // Up again (on the same port): after the open period it is back half-open, and its
    // two probes close it.
    const revived = await switchable('http', 'api-2', downPort);
    revived.control.broken = false;
    backends.push(revived.backend);
    await until(
      () =>
        gw.log.includes(
          `upstream api: target ${down}: circuit half-open: letting 2 probes through`,
        ),
      OPEN_MS + 4000,
      'half-open',
    );
    const closed = `upstream api: target ${down}: circuit closed: 2 probes succeeded`;
    for (let i = 0; i < 30 && !gw.log.includes(closed); i++) {
      assert.equal((await get(port, '/')).status, 200);
    }
    assert.ok(gw.log.includes(closed), gw.log.join('\n'));
    const before = revived.control.seen;
    for (let i = 0; i < 6; i++) assert.equal((await get(port, '/')).status, 200);
    assert.equal(revived.control.seen, before + 3, 'round robin over both again');
  });

  it('every target’s circuit open: 503 GW_ERR_CIRCUIT_OPEN at once, no target touched', async () => {
    const port = gw.port('web');
    const both = bad.map(
      (b) =>
        `upstream all: target 127.0.0.1:${b.backend.port}: circuit open, 3 of 3 calls failed in 10 s; open for 60 s`,
    );
    for (let i = 0; i < 20 && !both.every((l) => gw.log.includes(l)); i++) {
      assert.equal((await get(port, '/all')).status, 500, 'a target answering 500 is not retried');
    }
    assert.ok(
      both.every((l) => gw.log.includes(l)),
      gw.log.join('\n'),
    );
    const seen = bad.map((b) => b.control.seen);
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await get(port, '/all'), { status: 503, error: 'GW_ERR_CIRCUIT_OPEN' });
    }
    assert.deepEqual(
      bad.map((b) => b.control.seen),
      seen,
      'no target was touched',
    );
  });

  it('gRPC: every target’s circuit open ends a call UNAVAILABLE (14), saying so', async () => {
    const client = echoClient(`127.0.0.1:${gw.port('rpc')}`);
    const unary = () =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        client.Unary(
          { message: 'hi' },
          new grpcMetadata(),
          { deadline: Date.now() + 5_000 },
          (err) => resolve(err),
        );
      });
    try {
      let last: grpc.ServiceError | null = null;
      for (let i = 0; i < 20; i++) {
        last = await unary();
        if (last?.details.includes('circuit open') === true) break;
      }
      assert.ok(last);
      assert.equal(last.code, 14);
      assert.match(
        last.details,
        /^upstream rpc: circuit open \(every target's circuit is open \(2 of 2\); retry in /,
      );
      assert.deepEqual(
        rpc.map((r) => r.control.seen),
        [3, 3],
      );
    } finally {
      client.close();
    }
  });
});
