import assert from 'node:assert/strict';
import { once } from 'node:events';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import type { WsHello } from '../../../src/backend/ws-backend.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../../helpers/proxy.js';
import { closed, connect } from '../../helpers/sockets.js';

const backends: RunningBackend[] = [];
let gw: TestGateway;
let port: number;

before(async () => {
  const pub = await startBackends('ws', 'pub', 1);
  const adm = await startBackends('ws', 'adm', 1);
  backends.push(...pub, ...adm);
  // The upstream's idleMs is long on purpose: bridges must idle out on the listener's.
  gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    timeouts: { idleMs: 300 }
    routes:
      - { match: { host: a.test, pathPrefix: /abs }, upstream: pub }
      - { match: { pathPrefix: /admin }, upstream: adm }
      - { match: { pathPrefix: /public }, upstream: pub }
upstreams:
  - { name: pub, targets: ${targets(pub)}, timeouts: { idleMs: 60000 } }
  - { name: adm, targets: ${targets(adm)}, timeouts: { idleMs: 60000 } }
`);
  port = gw.port('web');
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** An upgrade request head for `target`, with `extra` field lines. */
function upgradeHead(method: string, target: string, extra = 'host: gw.test\r\n'): string {
  return (
    `${method} ${target} HTTP/1.1\r\n${extra}upgrade: websocket\r\nconnection: Upgrade\r\n` +
    `sec-websocket-key: ${KEY}\r\nsec-websocket-version: 13\r\n`
  );
}

/** What the gateway answered: the status, the head, and the first frame's text after a 101. */
interface Answer {
  readonly status: number;
  readonly head: string;
  readonly hello?: WsHello;
}

/** Reads the answer head and, after a 101, the backend's hello frame (server frames are unmasked). */
function readAnswer(socket: net.Socket, timeoutMs = 5000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      reject(new Error(`no answer within ${timeoutMs} ms: ${buf.toString('latin1')}`));
    }, timeoutMs);
    const done = (answer: Answer): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('close', onClose);
      resolve(answer);
    };
    const parse = (): Answer | undefined => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const head = buf.toString('latin1', 0, end);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      if (status !== 101) return { status, head };
      const frame = buf.subarray(end + 4);
      if (frame.length < 2) return undefined;
      let length = (frame[1] ?? 0) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (frame.length < 4) return undefined;
        length = frame.readUInt16BE(2);
        offset = 4;
      }
      if (frame.length < offset + length) return undefined;
      const text = frame.toString('utf8', offset, offset + length);
      return { status, head, hello: JSON.parse(text) as WsHello };
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const answer = parse();
      if (answer) done(answer);
    };
    const onClose = (): void => done(parse() ?? { status: 0, head: buf.toString('latin1') });
    socket.on('data', onData).on('close', onClose);
  });
}

/** Sends `request` on a new connection and reads the answer; the socket is closed after. */
async function send(request: string): Promise<Answer> {
  const socket = await connect(port);
  socket.on('error', () => undefined);
  const answer = readAnswer(socket);
  socket.write(request);
  try {
    return await answer;
  } finally {
    socket.destroy();
  }
}

describe('gw proxy: WebSocket upgrades under attack', () => {
  it('refuses an upgrade with a Content-Length body with 400, before any target', async () => {
    const answer = await send(`${upgradeHead('GET', '/public')}content-length: 5\r\n\r\nhello`);
    assert.equal(answer.status, 400, answer.head);
    assert.match(answer.head, /x-gw-error: GW_ERR_BAD_REQUEST/);
  });

  it('refuses an upgrade with a chunked body with 400', async () => {
    const answer = await send(
      `${upgradeHead('GET', '/public')}transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    );
    assert.equal(answer.status, 400, answer.head);
  });

  it('accepts an upgrade with content-length: 0', async () => {
    const answer = await send(`${upgradeHead('GET', '/public')}content-length: 0\r\n\r\n`);
    assert.equal(answer.status, 101, answer.head);
    assert.equal(answer.hello?.backend, 'pub-1');
  });

  it('refuses a POST upgrade with 400 instead of forwarding it as a GET (RFC 6455 §4.1)', async () => {
    const answer = await send(`${upgradeHead('POST', '/public')}\r\n`);
    assert.equal(answer.status, 400, answer.head);
    assert.match(answer.head, /x-gw-error: GW_ERR_BAD_REQUEST/);
    assert.ok(
      gw.log.some((l) => l.includes('ws POST /public 400')),
      gw.log.join('\n'),
    );
  });

  it('routes an absolute-form upgrade on its authority and forwards that as Host (RFC 9112 §3.2.2)', async () => {
    const answer = await send(
      `${upgradeHead('GET', 'http://a.test/abs/chat?x=1', 'host: b.test\r\n')}\r\n`,
    );
    assert.equal(answer.status, 101, answer.head);
    assert.equal(answer.hello?.backend, 'pub-1');
    assert.equal(answer.hello.path, '/abs/chat?x=1');
    assert.equal(answer.hello.headers.host, 'a.test');
  });

  it('refuses an absolute-form upgrade with userinfo', async () => {
    const answer = await send(`${upgradeHead('GET', 'http://user@a.test/abs')}\r\n`);
    assert.equal(answer.status, 400, answer.head);
  });

  it('routes /public/../admin as /admin: the /public target never sees it', async () => {
    for (const target of ['/public/../admin', '/public/%2e%2e/admin', '/public/%2E%2E/admin/x']) {
      const answer = await send(`${upgradeHead('GET', target)}\r\n`);
      assert.equal(answer.status, 101, `${target}: ${answer.head}`);
      assert.equal(answer.hello?.backend, 'adm-1', target);
      assert.match(answer.hello.path, /^\/admin(\/x)?$/, target);
    }
  });

  it('refuses an upgrade whose path holds an encoded slash or a backslash', async () => {
    for (const target of ['/public/..%2Fadmin', '/public/..\\admin']) {
      const answer = await send(`${upgradeHead('GET', target)}\r\n`);
      assert.equal(answer.status, 400, `${target}: ${answer.head}`);
    }
  });

  it("closes an idle bridge after the listener's idleMs, not the upstream's", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/public`);
    await once(ws, 'message');
    const socketClosed = once(ws, 'close');
    // The listener says 300 ms, the upstream 60 s: a bounded wait tells them apart.
    let gaveUp = false;
    const timer = setTimeout(() => {
      gaveUp = true;
      ws.terminate();
    }, 10_000);
    const [code] = (await socketClosed) as [number];
    clearTimeout(timer);
    assert.equal(gaveUp, false, 'the bridge was still open after 10 s');
    assert.equal(code, 1006); // cut without a close frame: the gateway dropped the idle pair
  });

  it('keeps serving a plain upgrade after all of the above', async () => {
    const socket = await connect(port);
    const answer = readAnswer(socket);
    socket.write(`${upgradeHead('GET', '/public/room')}\r\n`);
    const { status, hello } = await answer;
    assert.equal(status, 101);
    assert.equal(hello?.path, '/public/room');
    socket.destroy();
    await closed(socket);
  });
});
