import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { GwProcess } from '../../helpers/cli.js';
import { startBackends, targets } from '../../helpers/proxy.js';
import { closed, freePort } from '../../helpers/sockets.js';
import { sleep, until } from '../../helpers/wait.js';

// `gw proxy` stopping on SIGTERM/SIGINT: it stops accepting, lets what is in flight finish
// within shutdownTimeoutMs, then exits 0; a second signal exits at once.

let dir: string;
const backends: RunningBackend[] = [];
const processes: GwProcess[] = [];
let app: RunningBackend[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-shutdown-'));
  app = await startBackends('http', 'app', 2);
  backends.push(
    ...app,
    ...(await startBackends('ws', 'ws', 1)),
    ...(await startBackends('grpc', 'g', 1)),
  );
});

after(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await Promise.all(backends.map((b) => b.close()));
  await rm(dir, { recursive: true, force: true });
});

interface Ports {
  web: number;
  rpc: number;
}

/** Starts `gw proxy` on a config with an http listener (app, /ws) and a grpc one. */
async function startGw(
  name: string,
  shutdownTimeoutMs: number,
): Promise<{ proc: GwProcess; ports: Ports }> {
  const ports = { web: await freePort(), rpc: await freePort() };
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    `shutdownTimeoutMs: ${shutdownTimeoutMs}
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:${ports.web}
    routes:
      - { match: { pathPrefix: /ws }, upstream: ws }
      - { match: { pathPrefix: / }, upstream: app }
  - { name: rpc, protocol: grpc, listen: 127.0.0.1:${ports.rpc}, routes: [{ upstream: g }] }
upstreams:
  - { name: app, targets: ${targets(app)} }
  - { name: ws, targets: ${targets(backends.filter((b) => b.kind === 'ws'))} }
  - { name: g, targets: ${targets(backends.filter((b) => b.kind === 'grpc'))} }
`,
  );
  const proc = new GwProcess(['proxy', '--config', file]);
  processes.push(proc);
  await proc.waitForLine((l) => l.startsWith('config sha256:'));
  return { proc, ports };
}

interface Answer {
  status: number;
  connection: string;
}

function get(port: number, path: string, agent: http.Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            connection: res.headers.connection ?? '',
          }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** `promise`, or a rejection naming `what` when it has not settled within `ms`. */
function within<T>(promise: Promise<T>, what: string, ms = 8000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** An EchoRequest `{ message, delay_ms }` as one gRPC message (protobuf by hand: fields 1 and 3). */
function echoRequest(message: string, delayMs: number): Buffer {
  const text = Buffer.from(message);
  const varint: number[] = [];
  for (let n = delayMs; ; n >>>= 7) {
    if (n < 0x80) {
      varint.push(n);
      break;
    }
    varint.push((n & 0x7f) | 0x80);
  }
  const body = Buffer.from([0x0a, text.length, ...text, 0x18, ...varint]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

describe('gw proxy: graceful shutdown', () => {
  it('completes every request it accepted while load runs', async () => {
    const { proc, ports } = await startGw('load', 5000);
    let responses = 0;
    let closing = 0;
    let refused = 0;
    const statuses: number[] = [];
    let stop = false;
    // Keep-alive loops; each ends when the gateway no longer takes connections.
    const loops = Array.from({ length: 4 }, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < 2000 && !stop; i++) {
        try {
          const answer = await get(ports.web, `/load?delayMs=40`, agent);
          statuses.push(answer.status);
          responses++;
          if (answer.connection === 'close') closing++;
        } catch {
          // A request the gateway never accepted: refused, or sent on a connection it closed.
          refused++;
          if (proc.child.exitCode !== null || refused > 50) break;
          await sleep(5);
        }
      }
      agent.destroy();
    });
    await until(() => responses >= 40, 10_000, '40 responses');
    const { code } = await proc.stop('SIGTERM', 10_000);
    stop = true;
    await Promise.all(loops);
    assert.equal(code, 0);
    const accepted = proc.lines.filter((l) => l.includes(' GET /load?delayMs=40 '));
    assert.ok(
      accepted.every((l) => l.includes(' GET /load?delayMs=40 200 ')),
      accepted.filter((l) => !l.includes(' 200 ')).join('\n'),
    );
    assert.equal(responses, accepted.length, 'every request the gateway accepted was answered');
    assert.ok(statuses.every((s) => s === 200));
    assert.ok(closing >= 1, 'responses in flight at the signal said Connection: close');
  });

  it('closes idle keep-alive connections at once, finishes a request, a gRPC call (after GOAWAY) and a WebSocket session in flight, then exits 0', async () => {
    const { proc, ports } = await startGw('drain', 1500);
    // An idle keep-alive connection.
    const idleAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let idleSocket: net.Socket | undefined;
    await within(
      new Promise<void>((resolve, reject) => {
        const req = http.get(
          { host: '127.0.0.1', port: ports.web, path: '/idle', agent: idleAgent },
          (res) => {
            idleSocket = req.socket ?? undefined;
            res.resume();
            res.on('end', resolve);
          },
        );
        req.on('error', reject);
      }),
      'the first request',
    );
    assert.ok(idleSocket !== undefined);
    const idleClosed = closed(idleSocket);
    // A request, a gRPC call and a WebSocket session in flight.
    const slow = get(ports.web, '/slow?delayMs=700', new http.Agent({ keepAlive: true }));
    const session = http2.connect(`http://127.0.0.1:${ports.rpc}`);
    session.on('error', () => undefined);
    const goaway = once(session, 'goaway') as Promise<[number, number]>;
    const call = session.request({
      ':method': 'POST',
      ':path': '/gw.echo.v1.Echo/Unary',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    call.end(echoRequest('in flight', 700));
    const callDone = new Promise<{ status: string; bytes: number }>((resolve, reject) => {
      let bytes = 0;
      call.on('data', (chunk: Buffer) => (bytes += chunk.length));
      call.on('trailers', (trailers: http2.IncomingHttpHeaders) =>
        resolve({ status: String(trailers['grpc-status']), bytes }),
      );
      call.on('error', reject);
    });
    const ws = new WebSocket(`ws://127.0.0.1:${ports.web}/ws`);
    await within(once(ws, 'message'), 'the WebSocket hello');
    const wsClosed = once(ws, 'close');
    await sleep(200); // the request and the call reach their targets

    proc.child.kill('SIGTERM');
    await within(idleClosed, 'the idle connection closed');
    assert.equal(proc.child.exitCode, null, 'the idle connection closed while the gateway drains');
    const [code, lastStreamId] = await within(goaway, 'GOAWAY');
    assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
    assert.equal(lastStreamId, 1, 'GOAWAY names the call in flight as the last stream');
    const answer = await within(slow, 'the slow response');
    assert.deepEqual(answer, { status: 200, connection: 'close' });
    const done = await within(callDone, 'the gRPC call');
    assert.equal(done.status, '0');
    assert.ok(done.bytes > 5, 'the reply came before the trailers');
    // The WebSocket session goes on during the drain.
    ws.send('still here');
    const [echo] = (await within(once(ws, 'message'), 'the echo')) as [Buffer];
    assert.equal(echo.toString(), 'still here');
    assert.equal((await within(proc.exited, 'the exit')).code, 0);
    await within(wsClosed, 'the WebSocket closed');
    session.destroy();
    idleAgent.destroy();
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const exitCode = signal === 'SIGINT' ? 130 : 143;
    it(`a second ${signal} exits at once (${exitCode}) instead of waiting out shutdownTimeoutMs`, async () => {
      const { proc, ports } = await startGw(`twice-${signal}`, 60_000);
      const ws = new WebSocket(`ws://127.0.0.1:${ports.web}/ws`);
      await within(once(ws, 'message'), 'the WebSocket hello');
      proc.child.kill(signal);
      await proc.waitForLine((l) => l.startsWith('shutting down'));
      assert.equal(proc.child.exitCode, null, 'the session holds the first shutdown');
      proc.child.kill(signal);
      assert.equal((await proc.stop(signal, 10_000)).code, exitCode);
      ws.terminate();
    });
  }
});
