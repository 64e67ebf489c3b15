import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import type { HttpEcho } from '../../../src/backend/http-backend.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../../helpers/proxy.js';
import { connect, readBytes } from '../../helpers/sockets.js';

const backends: RunningBackend[] = [];
let gw: TestGateway;

before(async () => {
  const pub = await startBackends('http', 'pub', 1);
  const adm = await startBackends('http', 'adm', 1);
  const rpc = await startBackends('grpc', 'rpc', 1);
  backends.push(...pub, ...adm, ...rpc);
  gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { match: { host: a.test, pathPrefix: /only-a }, upstream: adm }
      - { match: { pathPrefix: /admin }, upstream: adm }
      - { match: { pathPrefix: /public }, upstream: pub }
      - { match: { pathPrefix: /strip }, upstream: pub, stripPrefix: true }
  - name: rpc
    protocol: grpc
    listen: 127.0.0.1:0
    routes: [{ match: { pathPrefix: /gw.echo.v1.Echo/ }, upstream: rpc }]
upstreams:
  - { name: pub, targets: ${targets(pub)} }
  - { name: adm, targets: ${targets(adm)} }
  - { name: rpc, targets: ${targets(rpc)} }
`);
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

/** Sends a GET for `target` on a raw socket (no client-side URL clean-up) and reads the answer. */
async function get(
  target: string,
  host = 'gw.test',
): Promise<{ status: number; head: string; echo?: HttpEcho }> {
  const socket = await connect(gw.port('web'));
  socket.on('error', () => undefined);
  socket.write(`GET ${target} HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n\r\n`);
  const answer = (await readBytes(socket, Number.MAX_SAFE_INTEGER)).toString('latin1');
  socket.destroy();
  const end = answer.indexOf('\r\n\r\n');
  const head = answer.slice(0, end);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  const body = answer.slice(end + 4);
  const echo = head.includes('x-backend') ? (JSON.parse(body) as HttpEcho) : undefined;
  return echo === undefined ? { status, head } : { status, head, echo };
}

describe('gw proxy: routing on the normalised path (http)', () => {
  it('routes /public/../admin as /admin: the /public target never sees it', async () => {
    for (const target of ['/public/../admin', '/public/%2e%2e/admin', '/public/.%2E/admin?q=1']) {
      const { status, echo } = await get(target);
      assert.equal(status, 200, target);
      assert.equal(echo?.backend, 'adm-1', target);
      assert.equal(echo.path, '/admin', target);
    }
  });

  it('forwards the normalised path with the query untouched', async () => {
    const { echo } = await get('/public//a/./b/../c?x=%2e%2e');
    assert.equal(echo?.backend, 'pub-1');
    assert.equal(echo.url, '/public/a/c?x=%2e%2e');
  });

  it('strips a prefix from the normalised path', async () => {
    const { echo } = await get('/strip/x/%2e%2e/y');
    assert.equal(echo?.url, '/y');
  });

  it('answers 400 for encoded slashes, backslashes, NUL escapes and ".." above the root', async () => {
    for (const target of [
      '/public/..%2Fadmin',
      '/public/..%5cadmin',
      '/public\\..\\admin',
      '/public/%00',
      '/../admin',
    ]) {
      const { status, head } = await get(target);
      assert.equal(status, 400, `${target}: ${head}`);
      assert.match(head, /x-gw-error: GW_ERR_BAD_REQUEST/);
    }
    assert.ok(
      gw.log.some((l) => l.includes('/public/..%2Fadmin 400')),
      gw.log.join('\n'),
    );
  });
});

describe('gw proxy: absolute-form requests (RFC 9112 §3.2.2)', () => {
  it('routes on the target authority, which the target receives as Host', async () => {
    const { status, echo } = await get('http://a.test/only-a/x?y=1', 'b.test');
    assert.equal(status, 200);
    assert.equal(echo?.backend, 'adm-1');
    assert.equal(echo.url, '/only-a/x?y=1');
    assert.equal(echo.headers.host, 'a.test');
    assert.equal(echo.headers['x-forwarded-host'], 'a.test');
  });

  it('normalises the path of an absolute-form target too', async () => {
    const { echo } = await get('http://gw.test/public/%2e%2e/admin');
    assert.equal(echo?.backend, 'adm-1');
    assert.equal(echo.path, '/admin');
  });

  it('refuses userinfo in the target with 400', async () => {
    const { status } = await get('http://user:pw@a.test/only-a/x');
    assert.equal(status, 400);
  });
});

describe('gw proxy: gRPC paths must be in normal form', () => {
  /** Sends a gRPC-shaped request for `path` and returns its grpc-status (trailers-only or trailers). */
  async function grpcStatus(path: string): Promise<string | undefined> {
    const session = http2.connect(`http://127.0.0.1:${gw.port('rpc')}`);
    session.on('error', () => undefined);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
      return await new Promise((resolve, reject) => {
        let status: string | undefined;
        stream.on('response', (headers) => (status ??= headers['grpc-status'] as string));
        stream.on('trailers', (trailers: http2.IncomingHttpHeaders) => {
          status ??= trailers['grpc-status'] as string;
        });
        stream.on('error', reject);
        stream.on('close', () => resolve(status));
        stream.resume();
      });
    } finally {
      session.destroy();
    }
  }

  it('answers INTERNAL (13) to a :path with dot segments, never reaching the target', async () => {
    for (const path of [
      '/gw.echo.v1.Echo/../gw.echo.v1.Echo/Unary',
      '/gw.echo.v1.Echo/%2e%2e/x/Unary',
    ]) {
      assert.equal(await grpcStatus(path), '13', path);
    }
    assert.ok(
      gw.log.some((l) => l.includes('/gw.echo.v1.Echo/../gw.echo.v1.Echo/Unary 13')),
      gw.log.join('\n'),
    );
  });

  it('still routes a plain :path', async () => {
    assert.equal(await grpcStatus('/gw.echo.v1.Echo/Unary'), '0');
  });
});
