import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { echoClient, type EchoClient } from '../../../src/backend/grpc-client.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../../helpers/proxy.js';
import { until } from '../../helpers/wait.js';
import { tcpTry as tryTcp, startTrap } from '../../helpers/sockets.js';

/*
 * Rate limiting end to end, through real sockets: 429 with Retry-After and
 * the RateLimit fields, the fields on admitted answers with `headers: true`,
 * gRPC RESOURCE_EXHAUSTED, a WebSocket upgrade refused before any target is
 * asked, a tcp listener's connectionsPerSecond, and the accuracy of the
 * limit under a client sending three times as much for 10 s.
 */

interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
}

function httpGet(
  port: number,
  path: string,
  agent: http.Agent | false = false,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, agent, headers, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path} within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** An upgrade the gateway refuses: the HTTP response it got instead of a 101. */
async function wsRefused(
  port: number,
  path: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; upgraded: boolean }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { handshakeTimeout: 10_000 });
  ws.on('error', () => undefined);
  let upgraded = false;
  ws.on('upgrade', () => (upgraded = true));
  const [req, response] = (await once(ws, 'unexpected-response')) as [
    http.ClientRequest,
    IncomingMessage,
  ];
  req.destroy();
  return { status: response.statusCode ?? 0, headers: response.headers, upgraded };
}

function grpcUnary(client: EchoClient): Promise<grpc.ServiceError | undefined> {
  return new Promise((resolve) => {
    client.Unary({ message: 'rl' }, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err) =>
      resolve(err ?? undefined),
    );
  });
}

/** How a TCP connection to `port` ended when the client sent `text`. */
function tcpTry(port: number, text: string): Promise<string> {
  return tryTcp(port, text);
}

const backends: RunningBackend[] = [];
let trap: Awaited<ReturnType<typeof startTrap>>;
let gw: TestGateway;
let rpc: EchoClient;

before(async () => {
  const web = await startBackends('http', 'web', 1);
  const g = await startBackends('grpc', 'g', 1);
  const echo = await startBackends('tcp', 'echo', 1);
  backends.push(...web, ...g, ...echo);
  trap = await startTrap();
  gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { name: strict, match: { pathPrefix: /strict }, upstream: web, rateLimit: { rps: 1, burst: 2, key: route } }
      - { name: told, match: { pathPrefix: /told }, upstream: web, rateLimit: { rps: 100, burst: 5, headers: true } }
      - { name: ws, match: { pathPrefix: /ws }, upstream: trap, rateLimit: { rps: 0.001, burst: 1, key: route } }
      - { name: accuracy, match: { pathPrefix: /accuracy }, upstream: web, rateLimit: { rps: 50, burst: 10 } }
  - name: rpc
    protocol: grpc
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: /gw.echo.v1.Echo/ }, upstream: g, rateLimit: { rps: 0.001, burst: 1, key: route } }
  - { name: raw, protocol: tcp, listen: 127.0.0.1:0, upstream: echo, connectionsPerSecond: { rate: 0.01, burst: 2 } }
upstreams:
  - { name: web, targets: ${targets(web)} }
  - { name: g, targets: ${targets(g)} }
  - { name: echo, targets: ${targets(echo)} }
  - { name: trap, targets: ["127.0.0.1:${trap.port}"] }
`);
  rpc = echoClient(`127.0.0.1:${gw.port('rpc')}`);
});

after(async () => {
  rpc.close();
  await gw.close();
  trap.close();
  await Promise.all(backends.map((b) => b.close()));
});

describe('rate limiting end to end', () => {
  it('answers HTTP over the limit 429 with Retry-After, RateLimit-Policy and RateLimit', async () => {
    const port = gw.port('web');
    assert.equal((await httpGet(port, '/strict/a')).status, 200);
    const second = await httpGet(port, '/strict/b');
    assert.equal(second.status, 200);
    assert.equal(second.headers.ratelimit, undefined, 'no fields on admitted answers by default');
    const refused = await httpGet(port, '/strict/c');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['x-gw-error'], 'GW_ERR_RATE_LIMITED');
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.headers['ratelimit-policy'], '"route";q=1;w=1');
    assert.equal(refused.headers.ratelimit, '"route";r=0;t=1');
  });

  it('with headers: true, admitted answers carry RateLimit-Policy and RateLimit', async () => {
    const answer = await httpGet(gw.port('web'), '/told/x');
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['ratelimit-policy'], '"client-ip";q=100;w=1');
    assert.equal(answer.headers.ratelimit, '"client-ip";r=4;t=1');
    assert.equal(answer.headers['retry-after'], undefined);
  });

  it('answers a gRPC call over the limit RESOURCE_EXHAUSTED (8) with the fields in metadata', async () => {
    assert.equal(await grpcUnary(rpc), undefined, 'the burst of 1 goes through');
    const err = await grpcUnary(rpc);
    assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.deepEqual(err.metadata.get('x-gw-error'), ['GW_ERR_RATE_LIMITED']);
    assert.deepEqual(err.metadata.get('retry-after'), ['1000']);
  });

  it('refuses a WebSocket upgrade over the limit with 429 before any 101, the target not asked', async () => {
    // The route's one-request burst, spent by a plain request that does reach the target.
    assert.equal((await httpGet(gw.port('web'), '/ws')).status, 200);
    const hits = trap.hits();
    assert.equal(hits, 1);
    const refused = await wsRefused(gw.port('web'), '/ws');
    assert.equal(refused.status, 429);
    assert.equal(refused.upgraded, false);
    assert.equal(refused.headers['x-gw-error'], 'GW_ERR_RATE_LIMITED');
    assert.equal(refused.headers['retry-after'], '1000');
    assert.equal(trap.hits(), hits, 'no connection reached the target');
  });

  it('resets tcp connections over connectionsPerSecond, and logs how many once a second', async () => {
    const port = gw.port('raw');
    assert.equal(await tcpTry(port, 'one'), 'one');
    assert.equal(await tcpTry(port, 'two'), 'two');
    const refused = [await tcpTry(port, 'three'), await tcpTry(port, 'four')];
    assert.deepEqual(refused, ['ECONNRESET', 'ECONNRESET']);
    const wanted =
      'listener raw: 2 connections refused in the last 1 s (connectionsPerSecond 0.01)';
    await until(() => gw.log.includes(wanted), 4000, `${wanted}\n${gw.log.join('\n')}`);
    assert.equal(gw.log.filter((l) => l.includes('connections refused')).length, 1);
  });
});

describe('rate limiting accuracy', () => {
  it('admits rps × 10 + burst (±2%) of a client sending 3× the limit for 10 s', async () => {
    const rps = 50;
    const burst = 10;
    const seconds = 10;
    const sendRate = rps * 3;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const port = gw.port('web');
    const counts: Record<number, number> = {};
    const start = performance.now();
    const total = sendRate * seconds;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const due = start + (i * 1000) / sendRate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const { status } = await httpGet(port, '/accuracy', agent);
        counts[status] = (counts[status] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const elapsed = (performance.now() - start) / 1000;
    agent.destroy();
    const admitted = counts[200] ?? 0;
    const expected = rps * seconds + burst;
    console.log(
      `accuracy: sent ${total} in ${elapsed.toFixed(2)} s, admitted ${admitted}, refused ${counts[429] ?? 0}, expected ${expected}`,
    );
    assert.equal(
      admitted + (counts[429] ?? 0),
      total,
      `only 200 and 429: ${JSON.stringify(counts)}`,
    );
    assert.ok(
      Math.abs(admitted - expected) <= expected * 0.02,
      `admitted ${admitted}, expected ${expected} ± 2%`,
    );
  });
});
