import assert from 'node:assert/strict';
import { once } from 'node:events';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import type { BackendEvent } from '../../../src/backend/backend-event.js';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { echoClient, type EchoClient, type EchoReply } from '../../../src/backend/grpc-client.js';
import { startBackend } from '../../../src/backend/start-backend.js';
import { freePort } from '../../helpers/sockets.js';
import { startTestGateway, type TestGateway } from '../../helpers/proxy.js';
import { until } from '../../helpers/wait.js';

/*
 * A route's fallback for gRPC calls and WebSocket upgrades, through real
 * clients (@grpc/grpc-js, ws). The "sick" upstreams have live targets that
 * fail their health checks (panicThreshold 0: no target at all), so a
 * fallback given there is not a failed connection in disguise, and their
 * backends count what reached them: nothing may. `broken` refuses
 * connections and has a circuit breaker that opens after two failures.
 */

const backends: RunningBackend[] = [];
/** Echo calls and WebSocket sessions that reached a sick backend. */
let sickSeen = 0;
let gw: TestGateway;
let rpc: EchoClient;

const countSick = (e: BackendEvent): void => {
  if ((e.type === 'call' && e.method.includes('Echo')) || e.type === 'open') sickSeen++;
};

before(async () => {
  const sickRpc = await startBackend('grpc', {
    port: 0,
    name: 'sick-g',
    failHealth: true,
    onEvent: countSick,
  });
  const altRpc = await startBackend('grpc', { port: 0, name: 'alt-g' });
  const sickWs = await startBackend('ws', { port: 0, name: 'sick-ws', onEvent: countSick });
  const altWs = await startBackend('ws', { port: 0, name: 'alt-ws' });
  backends.push(sickRpc, altRpc, sickWs, altWs);
  const dead = await freePort();
  const dead2 = await freePort();
  const check = 'intervalMs: 50, timeoutMs: 500, jitterMs: 0, unhealthyThreshold: 1';
  const breaker = '{ failureRate: 0.5, minCalls: 2, windowMs: 10000, openMs: 60000 }';
  gw = await startTestGateway(`
listeners:
  - name: rpc
    protocol: grpc
    listen: 127.0.0.1:0
    routes:
      - name: static
        match: { pathPrefix: /gw.echo.v1.Echo/, headers: { x-case: static } }
        upstream: sickrpc
        fallback: { status: 503, body: 'echo is resting', grpcStatus: 8 }
      - name: alternate
        match: { pathPrefix: /gw.echo.v1.Echo/, headers: { x-case: alternate } }
        upstream: sickrpc
        fallback: { upstream: altrpc }
      - name: open
        match: { pathPrefix: /gw.echo.v1.Echo/, headers: { x-case: open } }
        upstream: broken
        fallback: { status: 503, body: 'circuit resting' }
      - name: open-alternate
        match: { pathPrefix: /gw.echo.v1.Echo/, headers: { x-case: open-alternate } }
        upstream: broken2
        fallback: { upstream: altrpc }
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - name: ws-static
        match: { pathPrefix: /ws-static }
        upstream: sickws
        fallback: { status: 503, headers: { retry-after: "5" }, body: 'chat is resting' }
      - name: ws-alternate
        match: { pathPrefix: /ws-alternate }
        upstream: sickws
        fallback: { upstream: altws }
upstreams:
  - name: sickrpc
    targets: ["127.0.0.1:${sickRpc.port}"]
    healthCheck: { type: grpc, ${check} }
    panicThreshold: 0
  - { name: altrpc, targets: ["127.0.0.1:${altRpc.port}"] }
  - { name: broken, targets: ["127.0.0.1:${dead}"], circuitBreaker: ${breaker} }
  - { name: broken2, targets: ["127.0.0.1:${dead2}"], circuitBreaker: ${breaker} }
  - name: sickws
    targets: ["127.0.0.1:${sickWs.port}"]
    healthCheck: { type: http, path: /not-healthz, ${check} }
    panicThreshold: 0
  - { name: altws, targets: ["127.0.0.1:${altWs.port}"] }
`);
  // The ws backend answers 426 off /healthz: its check fails, as the gRPC one's NOT_SERVING does.
  await until(
    () =>
      ['sickrpc', 'sickws'].every(
        (name) => gw.gateway.registry.state(name)?.targets.every((t) => !t.healthy) === true,
      ),
    4000,
    'the sick upstreams out of rotation',
  );
  rpc = echoClient(`127.0.0.1:${gw.port('rpc')}`);
});

after(async () => {
  rpc.close();
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

interface CallResult {
  reply: EchoReply | undefined;
  error: grpc.ServiceError | undefined;
  /** Response headers, or a trailers-only answer's metadata. */
  headers: grpc.Metadata | undefined;
}

/** One unary Echo call on the route picked by `x-case`. */
function call(xCase: string, message = 'hello'): Promise<CallResult> {
  const metadata = new grpc.Metadata();
  metadata.set('x-case', xCase);
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    const c = rpc.Unary({ message }, metadata, { deadline: Date.now() + 5000 }, (err, reply) =>
      resolve({ reply, error: err ?? undefined, headers: headers ?? err?.metadata }),
    );
    c.on('metadata', (m: grpc.Metadata) => (headers = m));
  });
}

/** What an upgrade got instead of a 101. */
async function refusedUpgrade(
  path: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.port('web')}${path}`, { handshakeTimeout: 5000 });
  ws.on('error', () => undefined);
  const [, res] = (await once(ws, 'unexpected-response')) as [
    http.ClientRequest,
    http.IncomingMessage,
  ];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    body: Buffer.concat(chunks).toString(),
  };
}

describe('fallback for gRPC calls', () => {
  it('answers a call with no healthy target with the static fallback’s grpcStatus and body', async () => {
    const { error } = await call('static');
    assert.equal(error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(error.details, 'echo is resting');
    assert.deepEqual(error.metadata.get('x-gw-fallback'), ['no-target']);
    assert.deepEqual(error.metadata.get('x-gw-error'), [], 'an answer, not a gateway error');
    assert.equal(sickSeen, 0, 'nothing reached the unhealthy target');
  });

  it('sends a call with no healthy target to the alternate upstream', async () => {
    const { reply, error, headers } = await call('alternate', 'via the spare');
    assert.equal(error, undefined);
    assert.equal(reply?.message, 'via the spare');
    assert.equal(reply.backend, 'alt-g');
    assert.deepEqual(headers?.get('x-gw-fallback'), ['no-target']);
    assert.equal(sickSeen, 0);
  });

  it('answers failures, then the open circuit, with the fallback (default UNAVAILABLE)', async () => {
    const reasons: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { error } = await call('open');
      assert.equal(error?.code, grpc.status.UNAVAILABLE);
      assert.equal(error.details, 'circuit resting');
      reasons.push(String(error.metadata.get('x-gw-fallback')[0]));
    }
    assert.deepEqual(reasons, ['upstream-failed', 'upstream-failed', 'circuit-open']);
    assert.ok(gw.log.some((l) => l.startsWith('upstream broken: circuit open, 2 of 2 calls')));
  });

  it('sends calls to the alternate upstream while the circuit is open', async () => {
    const reasons: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { reply, error, headers } = await call('open-alternate', `m${i}`);
      assert.equal(error, undefined);
      assert.equal(reply?.message, `m${i}`);
      assert.equal(reply.backend, 'alt-g');
      reasons.push(String(headers?.get('x-gw-fallback')[0]));
    }
    assert.deepEqual(reasons, ['upstream-failed', 'upstream-failed', 'circuit-open']);
  });
});

describe('fallback for WebSocket upgrades', () => {
  it('answers an upgrade with no healthy target with the static fallback, before any 101', async () => {
    const answer = await refusedUpgrade('/ws-static/room');
    assert.equal(answer.status, 503);
    assert.equal(answer.body, 'chat is resting');
    assert.equal(answer.headers['x-gw-fallback'], 'no-target');
    assert.equal(answer.headers['retry-after'], '5');
    assert.equal(answer.headers['x-gw-error'], undefined);
    assert.equal(sickSeen, 0, 'no session reached the unhealthy target');
  });

  it('bridges an upgrade with no healthy target to the alternate upstream, echo and all', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port('web')}/ws-alternate/room`);
    ws.on('error', () => undefined);
    const upgrade = once(ws, 'upgrade') as Promise<[http.IncomingMessage]>;
    const [hello] = (await once(ws, 'message')) as [Buffer];
    const [res] = await upgrade;
    assert.equal((JSON.parse(hello.toString()) as { backend: string }).backend, 'alt-ws');
    assert.equal(res.headers['x-gw-fallback'], 'no-target');
    ws.send('ping through the spare');
    const [echo] = (await once(ws, 'message')) as [Buffer];
    assert.equal(echo.toString(), 'ping through the spare');
    const closed = once(ws, 'close');
    ws.close();
    await closed;
    assert.equal(sickSeen, 0);
  });
});
