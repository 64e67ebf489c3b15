import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { curl, parseResponse } from '../../helpers/curl.js';
import { connect, freePort, readBytes, startPeer } from '../../helpers/sockets.js';
import {
  startBackends,
  startTestGateway,
  tally,
  targets,
  type TestGateway,
  gatewayTo,
} from '../../helpers/proxy.js';

interface Echoed {
  backend: string;
  method: string;
  path: string;
  url: string;
  headers: Record<string, string>;
  bodyBytes: number;
}

const backends: RunningBackend[] = [];
let gw: TestGateway;
let base: string;
let deadPort: number;

before(async () => {
  const rr = await startBackends('http', 'rr', 3);
  const wt = await startBackends('http', 'w', 3);
  const hs = await startBackends('http', 'h', 4);
  const slow = await startBackends('http', 'slow', 1, { latencyMs: 2000 });
  backends.push(...rr, ...wt, ...hs, ...slow);
  deadPort = await freePort();
  const [w1, w2, w3] = wt;
  gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    limits: { maxBodyBytes: 65536, maxHeaderBytes: 4096 }
    trustedProxies: [10.0.0.0/8]
    routes:
      - { match: { pathPrefix: /rr }, upstream: rr }
      - { match: { pathPrefix: /weighted }, upstream: weighted }
      - { match: { pathPrefix: /hash }, upstream: hashed }
      - { match: { pathPrefix: /strip }, upstream: rr, stripPrefix: true }
      - { match: { pathPrefix: /old }, upstream: rr, rewritePrefix: /new }
      - { match: { path: /exact, methods: [POST] }, upstream: rr }
      - { match: { host: "*.example.test", pathPrefix: /host }, upstream: rr }
      - { match: { pathRegex: "^/re/[0-9]+$", headers: { x-team: blue } }, upstream: rr }
      - { match: { pathPrefix: /dead }, upstream: dead }
      - { match: { pathPrefix: /half }, upstream: half }
      - { match: { pathPrefix: /slow }, upstream: slow }
upstreams:
  - { name: rr, balance: round-robin, targets: ${targets(rr)} }
  - name: weighted
    balance: weighted
    targets:
      - { address: "127.0.0.1:${w1?.port}", weight: 5 }
      - { address: "127.0.0.1:${w2?.port}", weight: 1 }
      - { address: "127.0.0.1:${w3?.port}", weight: 1 }
  - { name: hashed, balance: hash, hashKey: "header:x-user", targets: ${targets(hs)} }
  - { name: dead, targets: ["127.0.0.1:${deadPort}"] }
  - { name: half, balance: round-robin, targets: ["127.0.0.1:${deadPort}", "127.0.0.1:${rr[0]?.port}"] }
  - name: slow
    targets: ${targets(slow)}
    timeouts: { headerMs: 200 }
`);
  base = `http://127.0.0.1:${gw.port('web')}`;
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

async function get(path: string, args: readonly string[] = []) {
  const result = await curl(['-i', ...args, `${base}${path}`]);
  assert.equal(result.code, 0, result.stderr);
  const response = parseResponse(result.stdout);
  const json = (): Echoed => JSON.parse(response.body.toString()) as Echoed;
  return { ...response, json };
}

/** Sends a request with exactly these raw headers (Node's client leaves Connection alone). */
function rawRequest(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gw proxy: HTTP', () => {
  it('spreads requests evenly over three targets with round-robin (counted by backend name)', async () => {
    const names: string[] = [];
    for (let i = 0; i < 30; i++) names.push((await get('/rr/x')).headers['x-backend'] ?? '');
    assert.deepEqual(tally(names), { 'rr-1': 10, 'rr-2': 10, 'rr-3': 10 });
  });

  it('follows weights 5,1,1 smoothly through the proxy', async () => {
    const names: string[] = [];
    for (let i = 0; i < 14; i++) names.push((await get('/weighted/')).headers['x-backend'] ?? '');
    const cycle = ['w-1', 'w-1', 'w-2', 'w-1', 'w-3', 'w-1', 'w-1'];
    assert.deepEqual(names, [...cycle, ...cycle]);
  });

  it('sends the same x-user to the same target every time, and different users to several', async () => {
    const byUser = new Map<string, Set<string>>();
    for (let round = 0; round < 3; round++) {
      for (let u = 0; u < 20; u++) {
        const name = (await get('/hash/', ['-H', `x-user: user-${u}`])).headers['x-backend'] ?? '';
        byUser.set(`user-${u}`, (byUser.get(`user-${u}`) ?? new Set()).add(name));
      }
    }
    for (const seen of byUser.values()) assert.equal(seen.size, 1);
    const used = new Set([...byUser.values()].map((s) => [...s][0]));
    assert.ok(used.size >= 3, `only ${used.size} targets used`);
  });

  it('strips or rewrites the matched prefix and keeps the query', async () => {
    assert.equal((await get('/strip/a/b?q=1')).json().url, '/a/b?q=1');
    assert.equal((await get('/strip?q=1')).json().url, '/?q=1');
    assert.equal((await get('/old/thing')).json().url, '/new/thing');
  });

  it('matches on exact path and method, host wildcard, regex and header', async () => {
    assert.equal((await get('/exact', ['-X', 'POST'])).status, 200);
    assert.equal((await get('/exact')).status, 404);
    assert.equal((await get('/host/x', ['-H', 'Host: api.example.test'])).status, 200);
    assert.equal((await get('/host/x', ['-H', 'Host: a.b.example.test'])).status, 404);
    assert.equal((await get('/re/42', ['-H', 'x-team: blue'])).status, 200);
    assert.equal((await get('/re/42', ['-H', 'x-team: red'])).status, 404);
    assert.equal((await get('/re/4x2', ['-H', 'x-team: blue'])).status, 404);
  });

  it('answers an unmatched request 404 with a short body that names no internals', async () => {
    const res = await get('/nowhere');
    assert.equal(res.status, 404);
    assert.equal(res.headers['x-gw-error'], 'GW_ERR_ROUTE_NOT_FOUND');
    assert.equal(res.body.toString(), '404 Not Found\n');
  });

  it('removes hop-by-hop request headers, including those named by Connection, and keeps Host', async () => {
    const res = await rawRequest('/rr/h', {
      Host: 'public.example.test:8443',
      Connection: 'keep-alive, x-private',
      'X-Private': 'secret',
      'Keep-Alive': 'timeout=5',
      TE: 'trailers',
      'Proxy-Authorization': 'Basic Zm9vOmJhcg==',
      'X-Kept': 'yes',
    });
    const seen = (JSON.parse(res.body) as Echoed).headers;
    for (const name of ['x-private', 'keep-alive', 'te', 'proxy-authorization']) {
      assert.equal(seen[name], undefined, name);
    }
    assert.equal(seen['x-kept'], 'yes');
    assert.equal(seen.host, 'public.example.test:8443');
    assert.equal(seen['x-forwarded-host'], 'public.example.test:8443');
  });

  it('replaces X-Forwarded-For from an untrusted client instead of trusting it', async () => {
    const seen = (
      await get('/rr/', ['-H', 'X-Forwarded-For: 6.6.6.6', '-H', 'X-Forwarded-Proto: https'])
    ).json().headers;
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
  });

  it('relays HEAD without a body and a chunked upload with its length', async () => {
    const head = await curl(['-sI', `${base}/rr/x`]);
    assert.match(head.stdout.toString(), /^HTTP\/1\.1 200/);
    const chunked = await curl(
      ['-s', '-H', 'Transfer-Encoding: chunked', '--data-binary', '@-', `${base}/rr/up`],
      Buffer.alloc(20_000, 0x61),
    );
    assert.equal((JSON.parse(chunked.stdout.toString()) as Echoed).bodyBytes, 20_000);
  });

  it('passes trailers from the target to the client', async () => {
    const trailers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
      http
        .get(`${base}/rr/t?trailers=1`, { agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.trailers));
        })
        .on('error', reject);
    });
    assert.equal(trailers['x-trailer'], 'yes');
  });

  it('handles Expect: 100-continue, and refuses an oversized body before it is sent', async () => {
    const ok = await get('/rr/up', [
      '-H',
      'Expect: 100-continue',
      '--data-binary',
      'x'.repeat(1000),
    ]);
    assert.equal(ok.json().bodyBytes, 1000);
    const big = await curl(
      ['-i', '-H', 'Expect: 100-continue', '--data-binary', '@-', `${base}/rr/up`],
      Buffer.alloc(100_000),
    );
    const res = parseResponse(big.stdout);
    assert.equal(res.status, 413);
    assert.equal(res.headers['x-gw-error'], 'GW_ERR_BODY_TOO_LARGE');
  });

  it('answers 413 for a chunked body that grows past the limit', async () => {
    const res = await curl(
      ['-i', '-H', 'Transfer-Encoding: chunked', '--data-binary', '@-', `${base}/rr/up`],
      Buffer.alloc(200_000, 0x62),
    );
    assert.equal(parseResponse(res.stdout).status, 413);
  });

  it('maps a refused connection to 502 GW_ERR_UPSTREAM_CONNECT', async () => {
    const res = await get('/dead/x');
    assert.equal(res.status, 502);
    assert.equal(res.headers['x-gw-error'], 'GW_ERR_UPSTREAM_CONNECT');
  });

  it('retries an idempotent request once on another target when the connect fails', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await get('/half/x')).status, 200);
    assert.ok(gw.log.some((l) => l.includes('/half/x 200') && l.includes('attempts=2')));
  });

  it('retries a POST whose connect failed too: nothing reached the target', async () => {
    const before = gw.log.length;
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) {
      statuses.push((await get('/half/x', ['-X', 'POST', '--data-binary', 'body'])).status);
    }
    assert.deepEqual(statuses, [200, 200]);
    const lines = gw.log.slice(before).filter((l) => l.includes('POST /half/x 200'));
    assert.ok(
      lines.some((l) => l.includes('attempts=2')),
      lines.join('\n'),
    );
  });

  it('maps a response-header timeout to 504 GW_ERR_UPSTREAM_TIMEOUT', async () => {
    const res = await get('/slow/x');
    assert.equal(res.status, 504);
    assert.equal(res.headers['x-gw-error'], 'GW_ERR_UPSTREAM_TIMEOUT');
  });

  it('answers 431 for oversized headers', async () => {
    const res = await get('/rr/', ['-H', `x-big: ${'a'.repeat(5000)}`]);
    assert.equal(res.status, 431);
  });

  it('refuses a request with both Content-Length and Transfer-Encoding (no smuggling): 400 and close', async () => {
    const socket = await connect(gw.port('web'));
    const reply = readBytes(socket, 1 << 20, 5000);
    socket.write(
      'POST /rr/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /rr/smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    const text = (await reply).toString();
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.doesNotMatch(text, /smuggled/);
    assert.equal(text.match(/HTTP\/1\.1/g)?.length, 1);
  });

  it('answers a malformed request line with 400', async () => {
    const socket = await connect(gw.port('web'));
    const reply = readBytes(socket, 1 << 20, 5000);
    socket.write('GARBAGE\r\n\r\n');
    assert.match((await reply).toString(), /^HTTP\/1\.1 400 /);
  });

  it('cuts the client connection when the target dies mid-response', async () => {
    const peer = await startPeer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial');
        setTimeout(() => socket.destroy(), 50);
      });
    });
    const local = await gatewayTo('http', [peer.port]);
    const res = await curl([`http://127.0.0.1:${local.port('web')}/`]);
    await local.close();
    peer.close();
    assert.notEqual(res.code, 0); // curl reports the transfer as cut short
    assert.equal(res.stdout.toString(), 'partial');
  });
});
