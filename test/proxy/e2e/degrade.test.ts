import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { circuitOpen } from '../../../src/shared/errors.js';
import type { Middleware } from '../../../src/proxy/pipeline/types.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../../helpers/proxy.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One GET on a fresh connection; rejects when the connection is cut before the response ends. */
function get(port: number, path: string, timeoutMs = 5000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('aborted')));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A port nothing listens on: connecting to it is refused. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A target that sends a response head and part of its body, then cuts the connection. */
async function halfAnswer(): Promise<{ port: number; close: () => void }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
      setTimeout(() => socket.destroy(), 50);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => server.close() };
}

describe('fallback', () => {
  const backends: RunningBackend[] = [];
  let gw: TestGateway;
  let half: { port: number; close: () => void };

  before(async () => {
    const dead = await deadPort();
    half = await halfAnswer();
    backends.push(...(await startBackends('http', 'alt', 1)));
    // The circuit breaker is another feature: its GW_ERR_CIRCUIT_OPEN is thrown here from a
    // route hook, which runs after the features (inside the fallback), as the terminal does.
    const routeMiddleware = (_listener: string, route: { name: string }): Middleware | undefined =>
      route.name === 'open'
        ? () => () => Promise.reject(circuitOpen('api', '12 of 20 calls failed'))
        : undefined;
    gw = await startTestGateway(
      `
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - name: static
        match: { pathPrefix: /static }
        upstream: dead
        fallback: { status: 200, headers: { content-type: application/json, x-note: cached }, body: '{"degraded":true}' }
      - name: alternate
        match: { pathPrefix: /alternate }
        upstream: dead
        fallback: { upstream: alt }
      - name: open
        match: { pathPrefix: /open }
        upstream: alt
        fallback: { status: 503, body: 'later' }
      - name: half
        match: { pathPrefix: /half }
        upstream: half
        fallback: { status: 200, body: 'fallback' }
      - name: plain
        match: { pathPrefix: /plain }
        upstream: dead
upstreams:
  - { name: dead, targets: ["127.0.0.1:${dead}"] }
  - { name: alt, targets: ${targets(backends)} }
  - { name: half, targets: ["127.0.0.1:${half.port}"] }
`,
      { routeMiddleware },
    );
  });
  after(async () => {
    await gw.close();
    half.close();
    for (const b of backends) await b.close();
  });

  it('answers with the static body when the only target refuses connections', async () => {
    const res = await get(gw.port('web'), '/static/x');
    assert.equal(res.status, 200);
    assert.equal(res.body, '{"degraded":true}');
    assert.equal(res.headers['x-gw-fallback'], 'upstream-failed');
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['x-note'], 'cached');
    assert.equal(res.headers['x-gw-error'], undefined);
  });

  it('without a fallback the same failure is the gateway error', async () => {
    const res = await get(gw.port('web'), '/plain/x');
    assert.equal(res.status, 502);
    assert.equal(res.headers['x-gw-error'], 'GW_ERR_UPSTREAM_CONNECT');
    assert.equal(res.headers['x-gw-fallback'], undefined);
  });

  it('sends the request to the alternate upstream', async () => {
    const res = await get(gw.port('web'), '/alternate/y');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-gw-fallback'], 'upstream-failed');
    assert.match(res.body + JSON.stringify(res.headers), /alt-1/);
  });

  it('answers an open circuit with the fallback, saying so', async () => {
    const res = await get(gw.port('web'), '/open/z');
    assert.equal(res.status, 503);
    assert.equal(res.body, 'later');
    assert.equal(res.headers['x-gw-fallback'], 'circuit-open');
    assert.equal(res.headers['x-gw-error'], undefined);
  });

  it('is not used once response bytes went out: the connection is cut', async () => {
    await assert.rejects(get(gw.port('web'), '/half/h'));
    // Answered by the fallback, the exchange would have no error code (the reply has none).
    const deadline = Date.now() + 2000;
    while (!gw.log.some((l) => l.includes('/half/h')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const line = gw.log.find((l) => l.includes('/half/h')) ?? '';
    assert.match(line, / 200 half .* GW_ERR_UPSTREAM_RESET$/);
  });
});

describe('priority load shedding under real overload', () => {
  const backends: RunningBackend[] = [];
  let gw: TestGateway;

  before(async () => {
    backends.push(...(await startBackends('http', 'slow', 1, { latencyMs: 300 })));
    gw = await startTestGateway(`
shedding: { maxInFlight: 20, hardMaxInFlight: 400 }
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { name: pay, match: { pathPrefix: /pay }, upstream: slow, priority: core }
      - { name: feed, match: { pathPrefix: /feed }, upstream: slow }
      - name: news
        match: { pathPrefix: /news }
        upstream: slow
        fallback: { status: 200, body: 'cached news' }
upstreams:
  - { name: slow, targets: ${targets(backends)} }
`);
  });
  after(async () => {
    await gw.close();
    for (const b of backends) await b.close();
  });

  it('keeps every core request while normal ones are shed with GW_ERR_SHED or their fallback', async () => {
    const port = gw.port('web');
    const normal: Promise<Answer>[] = [];
    const core: Promise<{ answer: Answer; ms: number }>[] = [];
    // Three waves of 100 normal requests, each with 20 core requests among them.
    for (let wave = 0; wave < 3; wave++) {
      for (let i = 0; i < 100; i++) {
        normal.push(get(port, i % 4 === 0 ? `/news/${wave}-${i}` : `/feed/${wave}-${i}`, 10_000));
        if (i % 5 === 0) {
          const start = performance.now();
          core.push(
            get(port, `/pay/${wave}-${i}`, 10_000).then((answer) => ({
              answer,
              ms: performance.now() - start,
            })),
          );
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const normals = await Promise.all(normal);
    const cores = await Promise.all(core);
    const ok = normals.filter((a) => a.status === 200 && a.headers['x-gw-fallback'] === undefined);
    const shedPlain = normals.filter((a) => a.headers['x-gw-error'] === 'GW_ERR_SHED');
    const shedFallback = normals.filter((a) => a.headers['x-gw-fallback'] === 'shed');
    const coreOk = cores.filter((c) => c.answer.status === 200).length;
    const ms = cores.map((c) => c.ms).sort((a, b) => a - b);
    const p99 = ms[Math.min(ms.length - 1, Math.ceil(ms.length * 0.99) - 1)] ?? 0;
    console.log(
      `core ${coreOk}/${cores.length} ok, p99 ${p99.toFixed(0)} ms; normal ${ok.length}/${normals.length} served, ` +
        `${shedPlain.length} shed 503, ${shedFallback.length} shed to fallback`,
    );
    assert.equal(coreOk, cores.length, 'every core request is served');
    // Bounded: the backend's 300 ms plus the gateway's share on a loaded 2-core machine.
    assert.ok(p99 < 2000, `core p99 ${p99} ms`);
    assert.ok(shedPlain.length > 0, 'normal requests are shed');
    assert.ok(shedFallback.length > 0, 'a shed route with a fallback answers with it');
    assert.equal(ok.length + shedPlain.length + shedFallback.length, normals.length);
    for (const a of shedPlain) assert.equal(a.status, 503);
    for (const a of shedFallback) assert.equal(a.body, 'cached news');
    // At most maxInFlight are ever admitted at once, and cores count too: fewer than 20 per wave.
    assert.ok(ok.length <= 60, `${ok.length} normal served`);
    // Sampled log: one line per second, with the reason.
    const deadline = Date.now() + 3000;
    while (!gw.log.some((l) => l.startsWith('shed ')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lines = gw.log.filter((l) => l.startsWith('shed '));
    console.log(lines.join('\n'));
    assert.ok(lines.length >= 1 && lines.length <= 3, `${lines.length} shed lines`);
    assert.match(
      lines[0] ?? '',
      /^shed \d+ normal requests? in the last 1 s: \d+ in flight > maxInFlight 20$/,
    );
  });
});
