import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { echoClient } from '../../../src/backend/grpc-client.js';
import { startBackend } from '../../../src/backend/start-backend.js';
import { connect } from '../../helpers/sockets.js';
import { startTestGateway, type TestGateway } from '../../helpers/proxy.js';
import { sleep } from '../../helpers/wait.js';

// The circuit breaker end to end: `gw backend` (in-process, its fail rate switched by the
// test through its random source) fails every call; the circuit opens, answers at once
// without touching the backend, probes it when half-open, and closes once it is fixed.

/** A backend whose injected failures the test switches on and off (failRate 0.5, random 0 or 0.99). */
async function switchable(kind: 'http' | 'grpc', name: string) {
  const control = { broken: true, seen: 0 };
  const backend = await startBackend(kind, {
    port: 0,
    name,
    failRate: 0.5,
    random: () => (control.broken ? 0 : 0.99),
    onEvent: (e) => {
      if (e.type === 'request' || e.type === 'call') control.seen++;
    },
  });
  return { backend, control };
}

interface Answer {
  status: number;
  error: string | undefined;
  body: string;
  ms: number;
}

function get(port: number, path = '/'): Promise<Answer> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          error: res.headers['x-gw-error'] as string | undefined,
          body: Buffer.concat(chunks).toString(),
          ms: performance.now() - start,
        }),
      );
    });
    req.setTimeout(5_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket upgrade on a raw socket: the status line of the answer. */
async function upgradeStatus(port: number): Promise<string> {
  const socket = await connect(port);
  socket.write(
    'GET /ws HTTP/1.1\r\nHost: gw.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  let text = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer: ${JSON.stringify(text)}`)), 5_000);
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    socket.on('error', reject);
  });
  socket.destroy();
  return text;
}

function unary(client: ReturnType<typeof echoClient>): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    client.Unary({ message: 'hi' }, new grpc_Metadata(), { deadline: Date.now() + 5_000 }, (err) =>
      resolve(err),
    );
  });
}

// grpc-js is loaded lazily (as the other gRPC tests do) for its Metadata class.
let grpc_Metadata: typeof grpc.Metadata;

const backends: RunningBackend[] = [];
let gw: TestGateway;
let api: Awaited<ReturnType<typeof switchable>>;
let rpc: Awaited<ReturnType<typeof switchable>>;

const OPEN_MS = 400;

before(async () => {
  grpc_Metadata = (await import('@grpc/grpc-js')).Metadata;
  api = await switchable('http', 'api-1');
  rpc = await switchable('grpc', 'rpc-1');
  backends.push(api.backend, rpc.backend);
  const breaker = `{ failureRate: 0.5, minCalls: 5, windowMs: 10000, openMs: ${OPEN_MS}, maxOpenMs: 5000, halfOpenCalls: 2, halfOpenTimeoutMs: 2000 }`;
  gw = await startTestGateway(`
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, routes: [{ match: { pathPrefix: / }, upstream: api }] }
  - { name: rpc, protocol: grpc, listen: 127.0.0.1:0, routes: [{ upstream: rpc }] }
upstreams:
  - { name: api, targets: ["127.0.0.1:${api.backend.port}"], circuitBreaker: ${breaker} }
  - { name: rpc, targets: ["127.0.0.1:${rpc.backend.port}"], circuitBreaker: ${breaker} }
`);
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

describe('circuit breaker, end to end', () => {
  it('HTTP: opens after minCalls failures, answers 503 at once, probes, reopens longer, closes once fixed', async () => {
    const port = gw.port('web');
    const start = performance.now();
    const answers: Answer[] = [];
    for (let i = 0; i < 20; i++) {
      const answer = await get(port);
      answers.push(answer);
      if (answer.error === 'GW_ERR_CIRCUIT_OPEN') break;
    }
    const timeToOpenMs = performance.now() - start;
    assert.deepEqual(
      answers.map((a) => a.status),
      [500, 500, 500, 500, 500, 503],
      'five failures (minCalls), then the circuit answers',
    );
    assert.equal(api.control.seen, 5, 'the backend saw the five failures only');
    assert.ok(
      gw.log.includes('upstream api: circuit open, 5 of 5 calls failed in 10 s; open for 400 ms'),
      gw.log.join('\n'),
    );

    // Open: answered at once, the backend sees none (and a WebSocket upgrade is refused with 503).
    const refused: Answer[] = [];
    for (let i = 0; i < 10; i++) refused.push(await get(port));
    assert.ok(refused.every((a) => a.status === 503 && a.error === 'GW_ERR_CIRCUIT_OPEN'));
    const ws = await upgradeStatus(port);
    assert.match(ws, /^HTTP\/1\.1 503 /);
    assert.match(ws, /x-gw-error: GW_ERR_CIRCUIT_OPEN/i);
    assert.equal(api.control.seen, 5, 'nothing reached the backend while open');
    const slowestRefusalMs = Math.max(...refused.map((a) => a.ms));

    // Still broken when it turns half-open: the probe fails, it opens again for twice as long.
    await sleep(OPEN_MS + 50);
    const probe = await get(port);
    assert.equal(probe.status, 500, 'the probe reached the backend');
    assert.equal(api.control.seen, 6);
    assert.ok(gw.log.includes('upstream api: circuit half-open: letting 2 probes through'));
    assert.ok(
      gw.log.includes(
        'upstream api: circuit open, a half-open probe failed; open for 800 ms (trip 2 in a row)',
      ),
      gw.log.join('\n'),
    );
    assert.equal((await get(port)).error, 'GW_ERR_CIRCUIT_OPEN');

    // Fixed: the next probes succeed and it closes.
    api.control.broken = false;
    const fixedAt = performance.now();
    const statuses: number[] = [];
    for (;;) {
      const answer = await get(port);
      statuses.push(answer.status);
      if (gw.log.includes('upstream api: circuit closed: 2 probes succeeded')) break;
      if (performance.now() - fixedAt > 5_000) assert.fail(`not closed: ${statuses.join(' ')}`);
      if (answer.status === 503) await sleep(20);
    }
    const timeToRecoverMs = performance.now() - fixedAt;
    assert.deepEqual(
      statuses.filter((s) => s !== 503),
      [200, 200],
    );
    for (let i = 0; i < 5; i++) assert.equal((await get(port)).status, 200);
    console.log(
      `breaker figures: time to open ${timeToOpenMs.toFixed(1)} ms (5 failed calls + 1 refused); ` +
        `slowest refusal while open ${slowestRefusalMs.toFixed(1)} ms; ` +
        `time to recover after the fix ${timeToRecoverMs.toFixed(1)} ms (second open period 800 ms)`,
    );
  });

  it('gRPC: an open circuit answers UNAVAILABLE (14) with a grpc-message saying so', async () => {
    const client = echoClient(`127.0.0.1:${gw.port('rpc')}`);
    try {
      const errors: (grpc.ServiceError | null)[] = [];
      for (let i = 0; i < 20; i++) {
        const err = await unary(client);
        errors.push(err);
        if (err?.details.includes('circuit open') === true) break;
      }
      assert.deepEqual(
        errors.map((e) => e?.code),
        [14, 14, 14, 14, 14, 14],
      );
      assert.equal(rpc.control.seen, 5);
      assert.match(
        errors.at(-1)?.details ?? '',
        /upstream rpc: circuit open \(5 of 5 calls failed in 10 s; retry in/,
      );
      const again = await unary(client);
      assert.equal(again?.code, 14);
      assert.equal(rpc.control.seen, 5, 'the backend saw nothing while open');
      rpc.control.broken = false;
      await sleep(OPEN_MS + 50);
      assert.equal(await unary(client), null, 'probe 1');
      assert.equal(await unary(client), null, 'probe 2');
      assert.ok(gw.log.includes('upstream rpc: circuit closed: 2 probes succeeded'));
    } finally {
      client.close();
    }
  });
});
