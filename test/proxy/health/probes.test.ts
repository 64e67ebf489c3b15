import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { startBackend } from '../../../src/backend/start-backend.js';
import { runProbe, type ProbeAddress } from '../../../src/proxy/health/probe.js';
import { checkRequest, servingStatus } from '../../../src/proxy/health/probe-grpc.js';
import { resolveHealthCheck, type HealthCheckFile } from '../../../src/proxy/health/schema.js';

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const close of closers) await close();
});

function at(port: number): ProbeAddress {
  return { host: '127.0.0.1', port, id: `127.0.0.1:${port}`, tls: false };
}

function check(file: Partial<HealthCheckFile> & Pick<HealthCheckFile, 'type'>) {
  return resolveHealthCheck({ timeoutMs: 300, ...file });
}

async function httpServer(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

/** A TCP server that accepts and never answers. */
async function silentServer(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => sockets.add(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('http probe', () => {
  it('passes on 200 ok, fails on 500 with the status, checks the body and Host', async () => {
    const seen: string[] = [];
    const port = await httpServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.host}`);
      if (req.url === '/bad') res.writeHead(500).end('boom');
      else res.writeHead(200).end('all ok here');
    });
    assert.deepEqual(await runProbe(check({ type: 'http' }), at(port)), { ok: true });
    assert.deepEqual(await runProbe(check({ type: 'http', path: '/bad' }), at(port)), {
      ok: false,
      kind: 'answer',
      reason: 'status 500',
    });
    assert.deepEqual(
      await runProbe(check({ type: 'http', path: '/bad', expectStatus: [[500, 500]] }), at(port)),
      { ok: true },
    );
    assert.deepEqual(await runProbe(check({ type: 'http', body: 'ok here' }), at(port)), {
      ok: true,
    });
    assert.deepEqual(await runProbe(check({ type: 'http', body: 'ready' }), at(port)), {
      ok: false,
      kind: 'answer',
      reason: 'body lacks "ready"',
    });
    await runProbe(check({ type: 'http', host: 'api.test' }), at(port));
    assert.equal(seen[0], `GET /healthz 127.0.0.1:${port}`);
    assert.equal(seen.at(-1), 'GET /healthz api.test');
  });

  it('times out on a target that accepts and never answers, within the timeout', async () => {
    const port = await silentServer();
    const started = performance.now();
    const result = await runProbe(check({ type: 'http', timeoutMs: 200 }), at(port));
    const took = performance.now() - started;
    assert.deepEqual(result, { ok: false, kind: 'timeout', reason: 'timeout after 200 ms' });
    assert.ok(took >= 190 && took < 1000, `${took}`);
  });

  it('names a refused connection', async () => {
    const result = await runProbe(check({ type: 'http' }), at(await closedPort()));
    assert.deepEqual(result, { ok: false, kind: 'connect', reason: 'connect ECONNREFUSED' });
  });

  it('probes the check port, not the target port', async () => {
    const port = await httpServer((_req, res) => res.end('ok'));
    const result = await runProbe(check({ type: 'http', port }), at(await closedPort()));
    assert.deepEqual(result, { ok: true });
  });

  it("follows the gw http backend's /healthz/fail and /healthz/ok switch", async () => {
    const backend = await startBackend('http', { port: 0, name: 'h' });
    closers.push(() => backend.close());
    const post = (path: string) =>
      fetch(`http://127.0.0.1:${backend.port}${path}`, { method: 'POST' });
    const c = check({ type: 'http', body: 'ok' });
    assert.deepEqual(await runProbe(c, at(backend.port)), { ok: true });
    await post('/healthz/fail');
    assert.deepEqual(await runProbe(c, at(backend.port)), {
      ok: false,
      kind: 'answer',
      reason: 'status 503',
    });
    await post('/healthz/ok');
    assert.deepEqual(await runProbe(c, at(backend.port)), { ok: true });
  });
});

describe('tcp probe', () => {
  it('passes on connect, fails on refusal', async () => {
    assert.deepEqual(await runProbe(check({ type: 'tcp' }), at(await silentServer())), {
      ok: true,
    });
    const refused = await runProbe(check({ type: 'tcp' }), at(await closedPort()));
    assert.equal(refused.ok, false);
  });

  it('sends and expects; a silent target times out', async () => {
    const server = net.createServer((s) =>
      s.on('data', (d) => s.write(d.toString().includes('PING') ? 'hello PONG\n' : 'what?\n')),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const { port } = server.address() as net.AddressInfo;
    assert.deepEqual(
      await runProbe(check({ type: 'tcp', send: 'PING\n', expect: 'PONG' }), at(port)),
      {
        ok: true,
      },
    );
    const wrong = await runProbe(
      check({ type: 'tcp', send: 'HI\n', expect: 'PONG', timeoutMs: 150 }),
      at(port),
    );
    assert.deepEqual(wrong, { ok: false, kind: 'timeout', reason: 'timeout after 150 ms' });
    const silent = await runProbe(
      check({ type: 'tcp', send: 'PING\n', expect: 'PONG', timeoutMs: 150 }),
      at(await silentServer()),
    );
    assert.equal(!silent.ok && silent.kind, 'timeout');
  });
});

describe('grpc probe', () => {
  it('encodes HealthCheckRequest and decodes HealthCheckResponse by hand', () => {
    assert.deepEqual([...checkRequest('')], [0, 0, 0, 0, 0]);
    assert.deepEqual([...checkRequest('ab')], [0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]);
    assert.equal(servingStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 1])), 1);
    assert.equal(servingStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 2])), 2);
    assert.equal(servingStatus(Buffer.from([0, 0, 0, 0, 0])), 0);
    assert.equal(servingStatus(Buffer.from([0, 0, 0, 0, 3, 0x08])), undefined);
  });

  it('passes on SERVING, fails on NOT_SERVING and on an unknown service', async () => {
    const good = await startBackend('grpc', { port: 0, name: 'g1' });
    const bad = await startBackend('grpc', { port: 0, name: 'g2', failHealth: true });
    closers.push(
      () => good.close(),
      () => bad.close(),
    );
    assert.deepEqual(await runProbe(check({ type: 'grpc' }), at(good.port)), { ok: true });
    assert.deepEqual(
      await runProbe(check({ type: 'grpc', service: 'gw.echo.v1.Echo' }), at(good.port)),
      { ok: true },
    );
    assert.deepEqual(await runProbe(check({ type: 'grpc' }), at(bad.port)), {
      ok: false,
      kind: 'answer',
      reason: 'NOT_SERVING',
    });
    const unknown = await runProbe(check({ type: 'grpc', service: 'no.Such' }), at(good.port));
    assert.equal(unknown.ok, false);
    assert.match(unknown.reason, /^grpc status 5 NOT_FOUND/);
  });

  it('times out on a target that accepts and never answers; names a refused connection', async () => {
    const silent = await runProbe(
      check({ type: 'grpc', timeoutMs: 150 }),
      at(await silentServer()),
    );
    assert.deepEqual(silent, { ok: false, kind: 'timeout', reason: 'timeout after 150 ms' });
    const refused = await runProbe(check({ type: 'grpc' }), at(await closedPort()));
    assert.deepEqual(refused, { ok: false, kind: 'connect', reason: 'connect ECONNREFUSED' });
  });
});
