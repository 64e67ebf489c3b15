import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import {
  startBackends,
  startTestGateway,
  tally,
  targets,
  type TestGateway,
} from '../../helpers/proxy.js';
import { freePort } from '../../helpers/sockets.js';

const backends: RunningBackend[] = [];
let gw: TestGateway;
let url: string;

before(async () => {
  const ws = await startBackends('ws', 'ws', 3);
  const spare = await startBackends('ws', 'spare', 1);
  backends.push(...ws, ...spare);
  const dead = await freePort();
  gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    timeouts: { idleMs: 1500 }
    routes:
      - { match: { pathPrefix: /ws }, upstream: ws }
      - { match: { pathPrefix: /failover }, upstream: failover }
upstreams:
  - { name: ws, balance: round-robin, targets: ${targets(ws)} }
  - { name: failover, balance: round-robin, targets: ["127.0.0.1:${dead}", "127.0.0.1:${spare[0]?.port}"] }
`);
  url = `ws://127.0.0.1:${gw.port('web')}`;
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

/** Opens a client and resolves with it and the backend's hello. */
async function open(path = '/ws'): Promise<{ ws: WebSocket; hello: { backend: string } }> {
  const ws = new WebSocket(`${url}${path}`);
  const [data] = (await once(ws, 'message')) as [Buffer];
  return { ws, hello: JSON.parse(data.toString()) as { backend: string } };
}

async function closeClient(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = once(ws, 'close');
  ws.close();
  await closed;
}

describe('gw proxy: WebSocket', () => {
  it('balances upgrades over the targets like requests', async () => {
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { ws, hello } = await open();
      names.push(hello.backend);
      await closeClient(ws);
    }
    assert.deepEqual(tally(names), { 'ws-1': 2, 'ws-2': 2, 'ws-3': 2 });
  });

  it('retries an upgrade whose connect was refused on another target, and logs both attempts', async () => {
    for (let i = 0; i < 4; i++) {
      const { ws, hello } = await open('/failover');
      assert.equal(hello.backend, 'spare-1');
      await closeClient(ws);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(
      gw.log.some((l) => l.includes('/failover') && l.includes('attempts=2')),
      gw.log.join('\n'),
    );
  });

  it('passes text and binary frames both ways untouched', async () => {
    const { ws } = await open();
    ws.send('hello text');
    const [text, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
    assert.equal(text.toString(), 'hello text');
    assert.equal(isBinary, false);
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    ws.send(bytes);
    const [binary, binaryFlag] = (await once(ws, 'message')) as [Buffer, boolean];
    assert.deepEqual(binary, bytes);
    assert.equal(binaryFlag, true);
    await closeClient(ws);
  });

  it('passes ping and pong through', async () => {
    const { ws } = await open();
    ws.ping(Buffer.from('are you there'));
    const [payload] = (await once(ws, 'pong')) as [Buffer];
    assert.equal(payload.toString(), 'are you there');
    await closeClient(ws);
  });

  it('passes the close code and reason through', async () => {
    const { ws } = await open();
    const closed = once(ws, 'close');
    ws.close(4001, 'done here');
    const [code, reason] = (await closed) as [number, Buffer];
    assert.equal(code, 4001);
    assert.equal(reason.toString(), 'done here');
  });

  it('relays a refused upgrade to the client and closes the connection', async () => {
    const ws = new WebSocket(`${url}/ws?reject=1`);
    ws.on('error', () => undefined);
    const [, response] = (await once(ws, 'unexpected-response')) as [
      unknown,
      { statusCode: number; headers: Record<string, string> },
    ];
    assert.equal(response.statusCode, 403);
    assert.match(response.headers['x-backend'] ?? '', /^ws-\d$/);
  });

  it('answers an upgrade on an unknown route with 404', async () => {
    const ws = new WebSocket(`${url}/elsewhere`);
    ws.on('error', () => undefined);
    const [, response] = (await once(ws, 'unexpected-response')) as [
      unknown,
      { statusCode: number; headers: Record<string, string> },
    ];
    assert.equal(response.statusCode, 404);
    assert.equal(response.headers['x-gw-error'], 'GW_ERR_ROUTE_NOT_FOUND');
  });

  it('closes an idle bridge on both sides after the idle timeout', async () => {
    const { ws } = await open();
    const [code] = (await once(ws, 'close')) as [number];
    assert.equal(code, 1006); // cut without a close frame: the gateway dropped the idle pair
  });

  it('leaves no sockets behind after many connections come and go', async () => {
    const clients = await Promise.all(Array.from({ length: 30 }, () => open()));
    await Promise.all(clients.map(({ ws }) => closeClient(ws)));
    // Targets count bridges in flight; all must have been released.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const upstream = gw.gateway.ref.current.upstream('ws');
    assert.deepEqual(
      upstream.targets.map((t) => t.active),
      [0, 0, 0],
    );
  });
});
