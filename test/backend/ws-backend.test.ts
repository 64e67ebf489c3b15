import assert from 'node:assert/strict';
import { once } from 'node:events';
import type http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebSocket, type RawData } from 'ws';
import type { RunningBackend } from '../../src/backend/backend-options.js';
import { startWsBackend, WS_FAILURE_CODE, type WsHello } from '../../src/backend/ws-backend.js';
import { curl, parseResponse } from '../helpers/curl.js';
import { connect } from '../helpers/sockets.js';

const started: RunningBackend[] = [];
after(async () => {
  await Promise.all(started.map((b) => b.close()));
});

async function backend(options: Parameters<typeof startWsBackend>[0]): Promise<number> {
  const b = await startWsBackend(options);
  started.push(b);
  return b.port;
}

/** A client that queues every message it receives, so none is missed between awaits. */
class Client {
  readonly ws: WebSocket;
  private readonly queue: { data: RawData; isBinary: boolean }[] = [];
  private waiter: (() => void) | undefined;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on('message', (data: RawData, isBinary: boolean) => {
      this.queue.push({ data, isBinary });
      this.waiter?.();
    });
  }

  async next(): Promise<{ data: Buffer; isBinary: boolean }> {
    while (this.queue.length === 0) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    const item = this.queue.shift();
    assert.ok(item);
    return { data: item.data as Buffer, isBinary: item.isBinary };
  }
}

describe('WebSocket backend', () => {
  let port = 0;
  before(async () => {
    port = await backend({ port: 0, name: 'wsa' });
  });

  it('says hello with its name, the path and the upgrade headers it received', async () => {
    const client = new Client(`ws://127.0.0.1:${port}/chat?room=1`, {
      'x-forwarded-for': '10.1.1.1',
    });
    const hello = await client.next();
    assert.equal(hello.isBinary, false);
    const body = JSON.parse(hello.data.toString()) as WsHello;
    assert.equal(body.backend, 'wsa');
    assert.equal(body.path, '/chat?room=1');
    assert.equal(body.headers['x-forwarded-for'], '10.1.1.1');
    client.ws.close();
  });

  it('echoes text as text and binary as binary, in order', async () => {
    const client = new Client(`ws://127.0.0.1:${port}/`);
    await client.next(); // hello
    const binary = Buffer.from([0, 1, 2, 255, 254]);
    client.ws.send('first');
    client.ws.send(binary);
    client.ws.send('third');
    const a = await client.next();
    const b = await client.next();
    const c = await client.next();
    assert.deepEqual([a.isBinary, a.data.toString()], [false, 'first']);
    assert.equal(b.isBinary, true);
    assert.ok(b.data.equals(binary));
    assert.deepEqual([c.isBinary, c.data.toString()], [false, 'third']);
    client.ws.close();
    await once(client.ws, 'close');
  });

  it('answers pings with pongs', async () => {
    const client = new Client(`ws://127.0.0.1:${port}/`);
    await client.next();
    client.ws.ping('p1');
    const [data] = (await once(client.ws, 'pong')) as [Buffer];
    assert.equal(data.toString(), 'p1');
    client.ws.close();
  });

  it('refuses an upgrade with ?reject=1 with 403 and its name', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat?reject=1`);
    ws.on('error', () => undefined);
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage];
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers['x-backend'], 'wsa');
    res.resume();
    ws.terminate();
  });

  it('answers an upgrade whose target is no path with 400 and keeps serving', async () => {
    const socket = await connect(port);
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('close', () => resolve(text));
    });
    socket.write(
      'GET http://[x/ HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    assert.match(await answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
    const client = new Client(`ws://127.0.0.1:${port}/after`);
    assert.match((await client.next()).data.toString(), /"path":"\/after"/);
    client.ws.terminate();
  });

  it('answers /healthz with ok and other plain requests with 426', async () => {
    const health = parseResponse((await curl(['-i', `http://127.0.0.1:${port}/healthz`])).stdout);
    assert.equal(health.status, 200);
    assert.equal(health.body.toString(), 'ok');
    const plain = parseResponse((await curl(['-i', `http://127.0.0.1:${port}/x`])).stdout);
    assert.equal(plain.status, 426);
    assert.equal(plain.headers['x-backend'], 'wsa');
  });
});

describe('WebSocket backend failure injection', () => {
  it('closes with 1011 on a message at fail-rate 1', async () => {
    const port = await backend({ port: 0, name: 'wsf', failRate: 1 });
    const client = new Client(`ws://127.0.0.1:${port}/`);
    const hello = JSON.parse((await client.next()).data.toString()) as WsHello;
    assert.equal(hello.backend, 'wsf');
    client.ws.send('boom');
    const [code, reason] = (await once(client.ws, 'close')) as [number, Buffer];
    assert.equal(code, WS_FAILURE_CODE);
    assert.equal(reason.toString(), 'injected failure');
  });

  it('never closes at fail-rate 0, even with latency', async () => {
    const port = await backend({ port: 0, failRate: 0, latencyMs: 5 });
    const client = new Client(`ws://127.0.0.1:${port}/`);
    await client.next();
    for (let i = 0; i < 20; i++) client.ws.send(`m${i}`);
    for (let i = 0; i < 20; i++) assert.equal((await client.next()).data.toString(), `m${i}`);
    client.ws.close();
    const [code] = (await once(client.ws, 'close')) as [number];
    assert.equal(code, 1005);
  });
});
