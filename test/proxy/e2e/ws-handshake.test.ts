import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { makeCert, startTestGateway, type TestGateway } from '../../helpers/proxy.js';
import { connect } from '../../helpers/sockets.js';

// The gateway asks the target for a WebSocket upgrade with its own HTTP/1.1 code
// (upstream/ws-handshake.ts): these tests talk to it with raw targets that show what it sends
// and how it bears what it gets back.

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
/** The Sec-WebSocket-Accept for the key in `head` (RFC 6455 §4.2.2). */
function acceptFor(head: string): string {
  const key = /^sec-websocket-key: *(\S+)/im.exec(head)?.[1] ?? '';
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

let dir: string;
const servers: net.Server[] = [];
const gateways: TestGateway[] = [];
const children: ChildProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-ws-handshake-'));
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(gateways.map((g) => g.close()));
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  await rm(dir, { recursive: true, force: true });
});

/** A raw target: `onHead` gets each connection's request head (text) once it is complete. */
async function rawTarget(
  onHead: (socket: net.Socket, head: string) => void,
): Promise<{ port: number; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    let buf = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      onHead(socket, buf.slice(0, end + 4));
    };
    socket.on('data', onData);
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as net.AddressInfo).port, sockets };
}

/** A gateway sending /ws to 127.0.0.1:`targetPort`, with the upstream's `extra` settings. */
async function gatewayTo(targetPort: number, extra = ''): Promise<number> {
  const gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes: [{ match: { pathPrefix: /ws }, upstream: t }]
upstreams:
  - { name: t, targets: ["127.0.0.1:${targetPort}"]${extra} }
`);
  gateways.push(gw);
  return gw.port('web');
}

/**
 * The gateway's whole answer to `request` on a new connection, read until the
 * gateway closes it; rejects when it is still open after `timeoutMs`.
 */
async function exchange(port: number, request: string, timeoutMs = 5000): Promise<string> {
  const socket = await connect(port);
  socket.on('error', () => undefined);
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.write(request);
  let timer: NodeJS.Timeout | undefined;
  const how = await Promise.race([
    once(socket, 'close').then(() => 'closed' as const),
    new Promise<'open'>((resolve) => (timer = setTimeout(() => resolve('open'), timeoutMs))),
  ]);
  clearTimeout(timer);
  socket.destroy();
  if (how === 'open')
    throw new Error(`the gateway kept the connection open: ${text.slice(0, 300)}`);
  return text;
}

function upgrade(path = '/ws', extra = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: gw.test\r\n${extra}Upgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(answer)?.[1] ?? 0);
}

function fieldOf(answer: string, name: string): string | undefined {
  const head = answer.slice(0, answer.indexOf('\r\n\r\n'));
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim();
}

describe('gw proxy: the WebSocket handshake with the target', () => {
  it("sends the client's fields to the target as sent: names, order and repeats", async () => {
    const heads: string[] = [];
    const target = await rawTarget((socket, head) => {
      heads.push(head);
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
    });
    const port = await gatewayTo(target.port);
    const answer = await exchange(
      port,
      upgrade(
        '/ws/chat?room=1',
        'X-Tag: one\r\nCookie: a=1\r\nx-tag: two\r\nSec-WebSocket-Protocol: chat\r\n' +
          'X-TAG: three\r\nContent-Length: 0\r\n',
      ),
    );
    assert.equal(statusOf(answer), 403);
    assert.equal(heads.length, 1);
    const lines = (heads[0] ?? '').split('\r\n').slice(0, -2);
    assert.equal(lines[0], 'GET /ws/chat?room=1 HTTP/1.1');
    const fields = lines.slice(1);
    assert.deepEqual(
      fields.filter((l) => /^(x-tag|cookie|host|sec-websocket-[a-z]+):/i.test(l)),
      [
        'Host: gw.test',
        'X-Tag: one',
        'Cookie: a=1',
        'x-tag: two',
        'Sec-WebSocket-Protocol: chat',
        'X-TAG: three',
        `Sec-WebSocket-Key: ${KEY}`,
        'Sec-WebSocket-Version: 13',
      ],
    );
    const lower = fields.map((l) => l.toLowerCase());
    // Connection and Upgrade are the gateway's own, once each; the framing is not forwarded.
    assert.deepEqual(
      lower.filter((l) => /^(connection|upgrade|content-length):/.test(l)),
      ['connection: upgrade', 'upgrade: websocket'],
    );
    assert.ok(lower.includes('x-forwarded-for: 127.0.0.1'), lines.join('\n'));
  });

  it('answers 504 GW_ERR_UPSTREAM_TIMEOUT when the target accepts and never answers in headerMs', async () => {
    const target = await rawTarget(() => undefined);
    const port = await gatewayTo(target.port, ', timeouts: { headerMs: 200 }');
    const answer = await exchange(port, upgrade());
    assert.equal(statusOf(answer), 504, answer);
    assert.equal(fieldOf(answer, 'x-gw-error'), 'GW_ERR_UPSTREAM_TIMEOUT');
    // The connection to the target was given up with the attempt.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(
      target.sockets.every((s) => s.destroyed || s.readableEnded),
      'the target connection is closed',
    );
  });

  for (const [what, reply] of [
    ['a garbage response head', 'HTTP/1.1 101 Switching Protocols\r\nnot a field\r\n\r\n'],
    ['a status line that is not HTTP', 'SSH-2.0-OpenSSH_9.6\r\n\r\n'],
    ['a 101 without Upgrade', 'HTTP/1.1 101 Switching Protocols\r\nx-a: 1\r\n\r\n'],
    [
      'a response head over 64 KiB',
      `HTTP/1.1 101 Switching Protocols\r\nx-big: ${'a'.repeat(70_000)}`,
    ],
  ] as const) {
    it(`answers 502 GW_ERR_UPSTREAM_RESET to ${what}`, async () => {
      const target = await rawTarget((socket) => {
        socket.write(reply);
      });
      const port = await gatewayTo(target.port);
      const answer = await exchange(port, upgrade());
      assert.equal(statusOf(answer), 502, answer.slice(0, 200));
      assert.equal(fieldOf(answer, 'x-gw-error'), 'GW_ERR_UPSTREAM_RESET');
    });
  }

  it("gives the client a valid 101 with the target's fields, and the frames sent right after it", async () => {
    const target = await rawTarget((socket, head) => {
      // The 101 and a first text frame ("hi") in one write.
      socket.write(
        Buffer.concat([
          Buffer.from(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              `Sec-WebSocket-Accept: ${acceptFor(head)}\r\nSec-WebSocket-Protocol: chat\r\nX-Target: t1\r\n\r\n`,
            'latin1',
          ),
          Buffer.from([0x81, 0x02, 0x68, 0x69]),
        ]),
      );
    });
    const port = await gatewayTo(target.port);
    // ws checks the status, Upgrade, Sec-WebSocket-Accept and the protocol it asked for.
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ['chat']);
    ws.on('error', () => undefined);
    const upgraded = once(ws, 'upgrade') as Promise<[{ headers: Record<string, string> }]>;
    const [data] = (await once(ws, 'message')) as [Buffer];
    assert.equal(data.toString(), 'hi');
    assert.equal(ws.protocol, 'chat');
    const [response] = await upgraded;
    assert.equal(response.headers['x-target'], 't1');
    ws.terminate();
  });

  it("relays a refusal's chunked body and closes, without waiting for the target to close", async () => {
    const target = await rawTarget((socket) => {
      // The target keeps its connection open after the response.
      socket.write(
        'HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\nX-Why: token\r\n\r\n' +
          '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
      );
    });
    const port = await gatewayTo(target.port);
    const answer = await exchange(port, upgrade(), 3000);
    assert.equal(statusOf(answer), 401, answer);
    assert.equal(fieldOf(answer, 'x-why'), 'token');
    assert.equal(fieldOf(answer, 'transfer-encoding'), undefined);
    assert.equal(answer.slice(answer.indexOf('\r\n\r\n') + 4), 'hello world');
  });

  it("relays a refusal's Content-Length body with its length", async () => {
    const target = await rawTarget((socket) => {
      socket.write('HTTP/1.1 429 Too Many Requests\r\nContent-Length: 4\r\n\r\nslow');
    });
    const port = await gatewayTo(target.port);
    const answer = await exchange(port, upgrade(), 3000);
    assert.equal(statusOf(answer), 429, answer);
    assert.equal(fieldOf(answer, 'content-length'), '4');
    assert.equal(answer.slice(answer.indexOf('\r\n\r\n') + 4), 'slow');
  });

  it('speaks TLS with SNI and ALPN http/1.1 to a tls upstream (an untrusted certificate: 502 GW_ERR_UPSTREAM_CONNECT)', async () => {
    const { cert, key } = makeCert(dir, 'untrusted');
    const hellos: { servername: string; alpn: readonly string[] }[] = [];
    const server = tls.createServer({
      cert: readFileSync(cert),
      key: readFileSync(key),
      ALPNCallback: ({ servername, protocols }) => {
        hellos.push({ servername, alpn: protocols });
        return protocols[0];
      },
    });
    server.on('tlsClientError', () => undefined);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const targetPort = (server.address() as net.AddressInfo).port;
    const gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes: [{ match: { pathPrefix: /ws }, upstream: t }]
upstreams:
  - { name: t, tls: true, targets: ["localhost:${targetPort}"] }
`);
    gateways.push(gw);
    const answer = await exchange(gw.port('web'), upgrade());
    assert.equal(statusOf(answer), 502, answer);
    assert.equal(fieldOf(answer, 'x-gw-error'), 'GW_ERR_UPSTREAM_CONNECT');
    assert.ok(hellos.length >= 1, 'the target got a TLS ClientHello');
    assert.deepEqual(hellos[0], { servername: 'localhost', alpn: ['http/1.1'] });
  });

  it('bridges a WebSocket to a tls upstream whose certificate it trusts', async () => {
    const { cert, key } = makeCert(dir, 'trusted');
    const server = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) });
    const seen: string[] = [];
    const wss = new WebSocketServer({ server });
    wss.on('connection', (socket, req) => {
      const s = req.socket;
      seen.push(
        s instanceof tls.TLSSocket ? `${String(s.servername)} ${String(s.alpnProtocol)}` : 'plain',
      );
      socket.on('message', (data: Buffer) => socket.send(`echo ${data.toString()}`));
    });
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const targetPort = (server.address() as net.AddressInfo).port;
    // NODE_EXTRA_CA_CERTS is read at start-up: the gateway runs in a child process of its own.
    const yaml = `
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, routes: [{ match: { pathPrefix: /ws }, upstream: t }] }
upstreams:
  - { name: t, tls: true, targets: ["localhost:${targetPort}"] }
`;
    const port = await childGateway(yaml, { NODE_EXTRA_CA_CERTS: cert });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    ws.on('error', () => undefined);
    await once(ws, 'open');
    ws.send('over tls');
    const [data] = (await once(ws, 'message')) as [Buffer];
    assert.equal(data.toString(), 'echo over tls');
    assert.deepEqual(seen, ['localhost http/1.1']);
    ws.terminate();
    wss.close();
  });
});

const SRC = fileURLToPath(new URL('../../../src/proxy/', import.meta.url));

/** Starts a gateway from `yaml` in a child process with `env`; resolves with its listener's port. */
async function childGateway(yaml: string, env: NodeJS.ProcessEnv): Promise<number> {
  const code = `
const { parseConfigText } = await import(${JSON.stringify(join(SRC, 'config/load.ts'))});
const { startGateway } = await import(${JSON.stringify(join(SRC, 'gateway.ts'))});
const gw = await startGateway(parseConfigText(process.env.GW_TEST_YAML, 'child.yaml'), { accessLog: () => undefined });
console.log('PORT ' + gw.listeners[0].port);
`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, ...env, GW_TEST_YAML: yaml },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no port within 20 s: ${err}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const port = /PORT (\d+)/.exec(out)?.[1];
      if (port !== undefined) {
        clearTimeout(timer);
        resolve(Number(port));
      }
    });
    child.once('exit', (status) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited (${String(status)}): ${err}`));
    });
  });
}
