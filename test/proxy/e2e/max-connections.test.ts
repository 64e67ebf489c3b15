import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { makeCert, startTestGateway, type TestGateway } from '../../helpers/proxy.js';
import { connect, startPeer } from '../../helpers/sockets.js';

const MAX = 5;
/** A route the tests never take: their requests are answered by the gateway (404, SETTINGS). */
const ROUTES = '[{ match: { path: /unused }, upstream: echo }]';
let dir: string;
let gw: TestGateway;
let echo: { port: number; close: () => void };
const opened: net.Socket[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gw-maxconn-'));
  const { cert, key } = makeCert(dir, 'web');
  echo = await startPeer((socket) => {
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  gw = await startTestGateway(`
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, maxConnections: ${MAX}, routes: ${ROUTES} }
  - name: sec
    protocol: http
    listen: 127.0.0.1:0
    maxConnections: ${MAX}
    tls: { cert: ${cert}, key: ${key} }
    routes: ${ROUTES}
  - { name: rpc, protocol: grpc, listen: 127.0.0.1:0, maxConnections: ${MAX}, routes: ${ROUTES} }
  - { name: raw, protocol: tcp, listen: 127.0.0.1:0, maxConnections: ${MAX}, upstream: echo }
upstreams:
  - { name: echo, targets: ["127.0.0.1:${echo.port}"] }
`);
});

after(async () => {
  for (const socket of opened) socket.destroy();
  await gw.close();
  echo.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves once the bytes `socket` received satisfy `done`; rejects if it closes or stalls first. */
function until(
  socket: net.Socket,
  done: (text: string) => boolean,
  timeoutMs = 5000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (done(text)) finish();
    };
    const onClose = (): void => finish(new Error('closed before it was served'));
    const timer = setTimeout(() => finish(new Error('not served in time')), timeoutMs);
    socket.on('data', onData).on('close', onClose);
  });
}

const GET = 'GET /nowhere HTTP/1.1\r\nhost: gw.test\r\n\r\n';
/** The HTTP/2 client preface and an empty SETTINGS frame (RFC 9113 §3.4). */
const H2_PREFACE = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
  Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
]);

/** Opens a connection the gateway demonstrably serves (an answer came back), left open. */
const serve: Record<string, (port: number) => Promise<net.Socket>> = {
  async web(port) {
    const socket = await track(connect(port));
    const answered = until(socket, (t) => t.includes('\r\n\r\n'));
    socket.write(GET);
    await answered;
    return socket;
  },
  async sec(port) {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    opened.push(socket);
    socket.on('error', () => undefined);
    const answered = until(socket, (t) => t.includes('\r\n\r\n'));
    socket.write(GET);
    await answered;
    return socket;
  },
  async rpc(port) {
    const socket = await track(connect(port));
    // The server's SETTINGS: a frame header of type 4 in the first 9 bytes.
    const answered = until(socket, (t) => t.length >= 9 && t.charCodeAt(3) === 4);
    socket.write(H2_PREFACE);
    await answered;
    return socket;
  },
  async raw(port) {
    const socket = await track(connect(port));
    const answered = until(socket, (t) => t.includes('ping'));
    socket.write('ping');
    await answered;
    return socket;
  },
};

async function track(pending: Promise<net.Socket>): Promise<net.Socket> {
  const socket = await pending;
  socket.on('error', () => undefined);
  opened.push(socket);
  return socket;
}

/** Connects and waits (bounded) for the gateway to close the connection; true if it did. */
async function closedByGateway(
  port: number,
  timeoutMs = 3000,
): Promise<{ closed: boolean; bytes: number }> {
  const socket = await track(connect(port));
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  socket.destroy();
  return { closed, bytes };
}

/** Connections refused so far by `name`, summed from its log lines, and the number of lines. */
function refusals(name: string): { count: number; lines: number } {
  const prefix = `gw: listener ${name}: `;
  let count = 0;
  let lines = 0;
  for (const line of gw.log) {
    if (!line.startsWith(prefix)) continue;
    const match = new RegExp(
      `^${prefix}(\\d+) connections? refused in the last 1 s \\(maxConnections ${MAX}\\)$`,
    ).exec(line);
    assert.ok(match, line);
    count += Number(match[1]);
    lines++;
  }
  return { count, lines };
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  for (let waited = 0; !check() && waited < timeoutMs; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('gw proxy: maxConnections on every listener', () => {
  for (const name of ['web', 'sec', 'rpc', 'raw']) {
    it(`${name}: holds ${MAX} idle connections, closes the next at once, logs at most a line a second, serves again when one leaves`, async () => {
      const port = gw.port(name);
      const open = serve[name];
      assert.ok(open);
      const held: net.Socket[] = [];
      for (let i = 0; i < MAX; i++) held.push(await open(port));

      const sixth = await closedByGateway(port);
      assert.equal(sixth.closed, true, 'the connection over the limit was kept open');
      assert.equal(sixth.bytes, 0, 'the connection over the limit was answered');

      // A burst of refusals is coalesced into at most one line a second.
      const started = performance.now();
      await Promise.all(Array.from({ length: 9 }, () => closedByGateway(port)));
      await waitFor(() => refusals(name).count >= 10);
      const elapsedS = (performance.now() - started) / 1000;
      const { count, lines } = refusals(name);
      assert.equal(count, 10, gw.log.join('\n'));
      assert.ok(lines <= Math.ceil(elapsedS) + 1, `${lines} lines in ${elapsedS.toFixed(1)} s`);

      // The held connections still work, and one leaving makes room for a new client.
      held[0]?.destroy();
      let fresh: net.Socket | undefined;
      for (let attempt = 0; fresh === undefined && attempt < 40; attempt++) {
        fresh = await open(port).catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 100));
          return undefined;
        });
      }
      assert.ok(fresh, 'no new client was served after one of the held connections closed');
      for (const socket of [...held, fresh]) socket.destroy();
    });
  }
});
