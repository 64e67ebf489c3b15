import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { echoClient, type EchoClient, type EchoReply } from '../../../src/backend/grpc-client.js';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import {
  addReplyField,
  type ExchangeKind,
  type L4Exchange,
  type Middleware,
} from '../../../src/proxy/pipeline/types.js';
import type { TargetRuntime } from '../../../src/proxy/upstream/target-runtime.js';
import { issuesOf } from '../config/helpers.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../../helpers/proxy.js';
import { freePort, startTrap } from '../../helpers/sockets.js';
import { until } from '../../helpers/wait.js';

/*
 * End-to-end tests of the gateway's seams, through real sockets: middleware
 * registered on a route (HTTP, WebSocket, gRPC) or on a tcp listener, the
 * allowFrom and responseHeaders features, the not-found route, reloads while
 * an exchange waits or is in flight, and hash balancing of TCP on the client IP.
 */

// --- Clients ---------------------------------------------------------------

interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP/1.1 request to 127.0.0.1:port on its own connection. */
function httpGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, headers, agent: false, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path} within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket through the gateway: the 101 response and the backend's hello. */
async function wsOpen(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket; response: IncomingMessage; hello: { backend: string } }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers, handshakeTimeout: 10_000 });
  const upgraded = once(ws, 'upgrade') as Promise<[IncomingMessage]>;
  const message = once(ws, 'message') as Promise<[Buffer]>;
  const [response] = await upgraded;
  const [data] = await message;
  return { ws, response, hello: JSON.parse(data.toString()) as { backend: string } };
}

async function wsClose(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  const closed = once(ws, 'close');
  ws.close();
  await closed;
}

/** An upgrade the gateway refuses: the HTTP response it got instead of a 101. */
async function wsRefused(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; upgraded: boolean }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers, handshakeTimeout: 10_000 });
  ws.on('error', () => undefined);
  let upgraded = false;
  ws.on('upgrade', () => (upgraded = true));
  const [req, response] = (await once(ws, 'unexpected-response')) as [
    http.ClientRequest,
    IncomingMessage,
  ];
  req.destroy();
  return { status: response.statusCode ?? 0, headers: response.headers, upgraded };
}

interface GrpcResult {
  reply: EchoReply | undefined;
  error: grpc.ServiceError | undefined;
  /** The response's initial metadata (headers), when the call got any before its status. */
  initial: grpc.Metadata | undefined;
}

/** One unary Echo call with `metadata`; resolves with its reply or error, never rejects. */
function grpcUnary(client: EchoClient, entries: Record<string, string>): Promise<GrpcResult> {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(entries)) metadata.set(name, value);
  return new Promise((resolve) => {
    let initial: grpc.Metadata | undefined;
    const call = client.Unary(
      { message: 'seams' },
      metadata,
      { deadline: Date.now() + 10_000 },
      (err, reply) => {
        resolve({ reply, error: err ?? undefined, initial });
      },
    );
    call.on('metadata', (md: grpc.Metadata) => (initial = md));
  });
}

/** A gRPC call on a method no route of the gw.echo service takes. */
function grpcOther(port: number): Promise<grpc.ServiceError | null> {
  const other = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<grpc.ServiceError | null>((resolve) => {
    other.makeUnaryRequest(
      '/other.Service/Call',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err) => resolve(err),
    );
  }).finally(() => other.close());
}

/** Connects, resolving with the socket once connected (on `host`, 127.0.0.1 by default). */
function tcpConnect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * How a TCP connection to the gateway ended when the client sent nothing:
 * the error code it got (a reset may come before Node reports the connect,
 * then the connect itself fails with ECONNRESET), or `closed`.
 */
function tcpEnding(port: number): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the connection was neither reset nor closed within 5 s'));
    }, 5000);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? 'error');
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    socket.resume();
  });
}

/** Sends `text` and reads back as many bytes (an echo through the gateway). */
async function tcpEcho(socket: net.Socket, text: string): Promise<string> {
  const got: Buffer[] = [];
  let total = 0;
  const want = Buffer.byteLength(text);
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no echo within 5 s')), 5000);
    const onData = (chunk: Buffer): void => {
      got.push(chunk);
      total += chunk.length;
      if (total >= want) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  socket.write(text);
  await done;
  return Buffer.concat(got).toString();
}

/** The first line a TCP target sends (the banner of a tcp backend: `hello from NAME`). */
async function firstLine(port: number, host: string): Promise<string> {
  const socket = await tcpConnect(port, host);
  let text = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line within 5 s: ${text}`)), 5000);
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      socket.once('error', reject);
    });
  } finally {
    socket.destroy();
  }
  return text.split('\n')[0] ?? '';
}

/** A log line appears (the access log writes after the answer went out). */
async function logLine(gw: TestGateway, test: (line: string) => boolean, what: string) {
  await until(() => gw.log.some(test), 4000, `${what}\n${gw.log.join('\n')}`);
  return gw.log.find(test) ?? '';
}

// --- The gateway for middleware, allowFrom, responseHeaders, not-found ----------

/** What the test middleware saw of one L7 exchange. */
interface Seen {
  readonly kind: ExchangeKind;
  readonly listener: string;
  readonly route: string;
  readonly probe: string | undefined;
}

/** What the test middleware saw of one TCP connection. */
interface SeenTcp {
  readonly kind: ExchangeKind;
  readonly listener: string;
  readonly clientIp: string;
}

const seen: Seen[] = [];
const seenTcp: SeenTcp[] = [];

/** The route middleware: records the exchange and adds `x-probe-seen: <kind>` to its answer. */
const probe: Middleware = (next) => (ex) => {
  seen.push({ kind: ex.kind, listener: ex.listener, route: ex.route, probe: ex.header('x-probe') });
  addReplyField(ex, 'x-probe-seen', ex.kind);
  return next(ex);
};

/** The L4 middleware: records the connection, and refuses it when `refuse` (by throwing). */
function tcpProbe(refuse: boolean): Middleware<L4Exchange> {
  return (next) => async (ex) => {
    seenTcp.push({ kind: ex.kind, listener: ex.listener, clientIp: ex.clientIp });
    if (refuse) throw new Error('refused by the test middleware');
    await next(ex);
  };
}

const PROBED_ROUTES = new Set(['probed', 'probed-rpc']);

const backends: RunningBackend[] = [];
let trap: Awaited<ReturnType<typeof startTrap>>;
let gw: TestGateway;
let rpc: EchoClient;

before(async () => {
  const ws = await startBackends('ws', 'ws', 1);
  const web = await startBackends('http', 'web', 1);
  const g = await startBackends('grpc', 'g', 1);
  const echo = await startBackends('tcp', 'echo', 1);
  backends.push(...ws, ...web, ...g, ...echo);
  trap = await startTrap();
  const dead = await freePort();
  const deny = 'allowFrom: ["10.0.0.0/8"]';
  const allow = 'allowFrom: ["127.0.0.1/32", "::1"]';
  const rh = 'responseHeaders: { x-served-by: gw-seams, cache-control: no-store }';
  gw = await startTestGateway(
    `
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { name: probed, match: { pathPrefix: /probed }, rewritePrefix: /, upstream: ws }
      - { name: plain, match: { pathPrefix: /plain }, upstream: web }
      - { name: denied, match: { pathPrefix: /denied }, upstream: trap, ${deny} }
      - { name: allowed, match: { pathPrefix: /allowed }, rewritePrefix: /, upstream: ws, ${allow} }
      - { name: rh, match: { pathPrefix: /rh }, rewritePrefix: /, upstream: ws, ${rh} }
      - { name: rh-down, match: { pathPrefix: /down }, upstream: dead, ${rh} }
  - name: rpc
    protocol: grpc
    listen: 127.0.0.1:0
    routes:
      - { name: denied-rpc, match: { pathPrefix: /gw.echo.v1.Echo/, headers: { x-route: deny } }, upstream: trap, ${deny} }
      - { name: allowed-rpc, match: { pathPrefix: /gw.echo.v1.Echo/, headers: { x-route: allow } }, upstream: g, ${allow} }
      - { name: rh-rpc, match: { pathPrefix: /gw.echo.v1.Echo/, headers: { x-route: rh } }, upstream: g, ${rh} }
      - { name: probed-rpc, match: { pathPrefix: /gw.echo.v1.Echo/ }, upstream: g }
  - { name: tcp-probed, protocol: tcp, listen: 127.0.0.1:0, upstream: echo }
  - { name: tcp-refused, protocol: tcp, listen: 127.0.0.1:0, upstream: trap }
  - { name: tcp-denied, protocol: tcp, listen: 127.0.0.1:0, upstream: trap, ${deny} }
  - { name: tcp-allowed, protocol: tcp, listen: 127.0.0.1:0, upstream: echo, ${allow} }
upstreams:
  - { name: ws, targets: ${targets(ws)} }
  - { name: web, targets: ${targets(web)} }
  - { name: g, targets: ${targets(g)} }
  - { name: echo, targets: ${targets(echo)} }
  - { name: trap, targets: ["127.0.0.1:${trap.port}"] }
  - { name: dead, targets: ["127.0.0.1:${dead}"] }
`,
    {
      routeMiddleware: (_listener, route) => (PROBED_ROUTES.has(route.name) ? probe : undefined),
      tcpMiddleware: (listener) =>
        listener === 'tcp-probed'
          ? tcpProbe(false)
          : listener === 'tcp-refused'
            ? tcpProbe(true)
            : undefined,
    },
  );
  rpc = echoClient(`127.0.0.1:${gw.port('rpc')}`);
});

after(async () => {
  rpc.close();
  await gw.close();
  trap.close();
  await Promise.all(backends.map((b) => b.close()));
});

describe('gw proxy seams: route middleware (routeMiddleware)', () => {
  it('sees an HTTP request on its route, reads its header, and its reply field reaches the client', async () => {
    seen.length = 0;
    const res = await httpGet(gw.port('web'), '/probed/healthz', { 'x-probe': 'http-1' });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok'); // relayed from the ws backend's /healthz
    assert.equal(res.headers['x-backend'], 'ws-1');
    assert.equal(res.headers['x-probe-seen'], 'http');
    assert.deepEqual(seen, [{ kind: 'http', listener: 'web', route: 'probed', probe: 'http-1' }]);
  });

  it('sees a WebSocket upgrade on its route, and its reply field is in the 101 response', async () => {
    seen.length = 0;
    const { ws, response, hello } = await wsOpen(gw.port('web'), '/probed', { 'x-probe': 'ws-1' });
    assert.equal(response.statusCode, 101);
    assert.equal(response.headers['x-probe-seen'], 'ws');
    assert.equal(hello.backend, 'ws-1');
    await wsClose(ws);
    assert.deepEqual(seen, [{ kind: 'ws', listener: 'web', route: 'probed', probe: 'ws-1' }]);
  });

  it('sees a gRPC call on its route, and its reply field is in the initial metadata', async () => {
    seen.length = 0;
    const { reply, error, initial } = await grpcUnary(rpc, { 'x-probe': 'grpc-1' });
    assert.equal(error, undefined);
    assert.equal(reply?.backend, 'g-1');
    assert.deepEqual(initial?.get('x-probe-seen'), ['grpc']);
    assert.deepEqual(seen, [
      { kind: 'grpc', listener: 'rpc', route: 'probed-rpc', probe: 'grpc-1' },
    ]);
  });

  it('is not called for requests on other routes', async () => {
    seen.length = 0;
    const res = await httpGet(gw.port('web'), '/plain/x', { 'x-probe': 'other' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-backend'], 'web-1');
    assert.equal(res.headers['x-probe-seen'], undefined);
    const { ws, response } = await wsOpen(gw.port('web'), '/rh', { 'x-probe': 'other' });
    assert.equal(response.headers['x-probe-seen'], undefined);
    await wsClose(ws);
    const call = await grpcUnary(rpc, { 'x-probe': 'other', 'x-route': 'rh' });
    assert.equal(call.error, undefined);
    assert.equal(call.initial?.get('x-probe-seen').length, 0);
    assert.deepEqual(seen, []);
  });
});

describe('gw proxy seams: L4 middleware (tcpMiddleware)', () => {
  it('sees a TCP connection with its kind and client address, and lets its bytes flow', async () => {
    seenTcp.length = 0;
    const socket = await tcpConnect(gw.port('tcp-probed'));
    assert.equal(await tcpEcho(socket, 'through the L4 chain\n'), 'through the L4 chain\n');
    socket.destroy();
    assert.deepEqual(seenTcp, [{ kind: 'tcp', listener: 'tcp-probed', clientIp: '127.0.0.1' }]);
  });

  it('refuses a connection by throwing: the client is reset and no target is contacted', async () => {
    seenTcp.length = 0;
    const hits = trap.hits();
    assert.equal(await tcpEnding(gw.port('tcp-refused')), 'ECONNRESET');
    assert.deepEqual(seenTcp, [{ kind: 'tcp', listener: 'tcp-refused', clientIp: '127.0.0.1' }]);
    assert.equal(trap.hits(), hits);
    const line = await logLine(gw, (l) => l.includes(' tcp-refused tcp '), 'the refused line');
    assert.match(line, / GW_ERR_INTERNAL$/);
  });
});

describe('gw proxy seams: allowFrom', () => {
  it('answers an HTTP request from outside the list 403 GW_ERR_FORBIDDEN, and lets one inside through', async () => {
    const hits = trap.hits();
    const denied = await httpGet(gw.port('web'), '/denied/x');
    assert.equal(denied.status, 403);
    assert.equal(denied.headers['x-gw-error'], 'GW_ERR_FORBIDDEN');
    assert.equal(trap.hits(), hits);
    const allowed = await httpGet(gw.port('web'), '/allowed/healthz');
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['x-backend'], 'ws-1');
  });

  it('refuses a WebSocket upgrade from outside the list with 403 before any 101, no target asked', async () => {
    const hits = trap.hits();
    const denied = await wsRefused(gw.port('web'), '/denied');
    assert.equal(denied.status, 403);
    assert.equal(denied.headers['x-gw-error'], 'GW_ERR_FORBIDDEN');
    assert.equal(denied.upgraded, false);
    assert.equal(trap.hits(), hits);
    const { ws, response, hello } = await wsOpen(gw.port('web'), '/allowed');
    assert.equal(response.statusCode, 101);
    assert.equal(hello.backend, 'ws-1');
    await wsClose(ws);
  });

  it('answers a gRPC call from outside the list PERMISSION_DENIED, and lets one inside through', async () => {
    const hits = trap.hits();
    const denied = await grpcUnary(rpc, { 'x-route': 'deny' });
    assert.equal(denied.error?.code, grpc.status.PERMISSION_DENIED);
    assert.deepEqual(denied.error.metadata.get('x-gw-error'), ['GW_ERR_FORBIDDEN']);
    assert.equal(trap.hits(), hits);
    const allowed = await grpcUnary(rpc, { 'x-route': 'allow' });
    assert.equal(allowed.error, undefined);
    assert.equal(allowed.reply?.backend, 'g-1');
  });

  it('resets a TCP connection from outside the list, and pipes one from inside', async () => {
    const hits = trap.hits();
    assert.equal(await tcpEnding(gw.port('tcp-denied')), 'ECONNRESET');
    assert.equal(trap.hits(), hits);
    const line = await logLine(gw, (l) => l.includes(' tcp-denied tcp '), 'the denied line');
    assert.match(line, / GW_ERR_FORBIDDEN$/);
    const socket = await tcpConnect(gw.port('tcp-allowed'));
    assert.equal(await tcpEcho(socket, 'allowed\n'), 'allowed\n');
    socket.destroy();
  });
});

describe('gw proxy seams: responseHeaders', () => {
  it('adds the fields to a relayed HTTP response', async () => {
    const res = await httpGet(gw.port('web'), '/rh/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-backend'], 'ws-1');
    assert.equal(res.headers['x-served-by'], 'gw-seams');
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it("adds the fields to the gateway's own error reply on the route (target down: 502)", async () => {
    const res = await httpGet(gw.port('web'), '/down/x');
    assert.equal(res.status, 502);
    assert.equal(res.headers['x-gw-error'], 'GW_ERR_UPSTREAM_CONNECT');
    assert.equal(res.headers['x-served-by'], 'gw-seams');
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('adds the fields to the WebSocket 101', async () => {
    const { ws, response } = await wsOpen(gw.port('web'), '/rh');
    assert.equal(response.statusCode, 101);
    assert.equal(response.headers['x-served-by'], 'gw-seams');
    assert.equal(response.headers['cache-control'], 'no-store');
    await wsClose(ws);
  });

  it("adds the fields to a gRPC call's response metadata", async () => {
    const { reply, error, initial } = await grpcUnary(rpc, { 'x-route': 'rh' });
    assert.equal(error, undefined);
    assert.equal(reply?.backend, 'g-1');
    assert.deepEqual(initial?.get('x-served-by'), ['gw-seams']);
    assert.deepEqual(initial.get('cache-control'), ['no-store']);
  });

  it('adds nothing on a route without them', async () => {
    const res = await httpGet(gw.port('web'), '/plain/x');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-served-by'], undefined);
  });
});

describe('gw proxy seams: the not-found route', () => {
  it('answers an HTTP request no route takes 404 and logs it with GW_ERR_ROUTE_NOT_FOUND', async () => {
    const res = await httpGet(gw.port('web'), '/nowhere-http');
    assert.equal(res.status, 404);
    assert.equal(res.headers['x-gw-error'], 'GW_ERR_ROUTE_NOT_FOUND');
    const line = await logLine(gw, (l) => l.includes(' GET /nowhere-http '), 'the 404 line');
    assert.match(
      line,
      /^127\.0\.0\.1 web GET \/nowhere-http 404 - - \S+ms GW_ERR_ROUTE_NOT_FOUND$/,
    );
  });

  it('answers a WebSocket upgrade no route takes 404 and logs it', async () => {
    const res = await wsRefused(gw.port('web'), '/nowhere-ws');
    assert.equal(res.status, 404);
    assert.equal(res.upgraded, false);
    const line = await logLine(gw, (l) => l.includes(' /nowhere-ws '), 'the ws 404 line');
    assert.match(
      line,
      /^127\.0\.0\.1 web ws GET \/nowhere-ws 404 - - \S+ms GW_ERR_ROUTE_NOT_FOUND$/,
    );
  });

  it('answers a gRPC call no route takes UNIMPLEMENTED and logs it', async () => {
    const err = await grpcOther(gw.port('rpc'));
    assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
    const line = await logLine(gw, (l) => l.includes(' /other.Service/Call '), 'the grpc line');
    assert.match(
      line,
      /^127\.0\.0\.1 rpc grpc POST \/other\.Service\/Call 12 - - \S+ms GW_ERR_ROUTE_NOT_FOUND$/,
    );
  });
});

// --- Reloads -------------------------------------------------------------------

/** A target that answers each request only when the test lets it go. */
async function startHolder(): Promise<{
  port: number;
  waiting: () => number;
  release: () => void;
  close: () => Promise<void>;
}> {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    held.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    waiting: () => held.length,
    release() {
      for (const res of held.splice(0)) res.end('held\n');
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

describe('gw proxy seams: reloads', () => {
  const reloadBackends: RunningBackend[] = [];
  let holder: Awaited<ReturnType<typeof startHolder>>;
  let rg: TestGateway;
  let oldB: RunningBackend;
  let newB: RunningBackend;
  let spare: RunningBackend;
  let held = 0;
  let open: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();

  /** Holds a request with `x-wait` until `open()`. */
  const waiter: Middleware = (next) => async (ex) => {
    if (ex.header('x-wait') !== undefined) {
      held++;
      await gate;
    }
    await next(ex);
  };

  const config = (appUpstream: string, keepTargets: string, withOld: boolean): string => `
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { name: app, match: { pathPrefix: /app }, upstream: ${appUpstream} }
      - { name: keep, match: { pathPrefix: /keep }, upstream: keep }
upstreams:
${withOld ? `  - { name: old, targets: ${targets([oldB])} }\n` : ''}  - { name: new, targets: ${targets([newB])} }
  - { name: keep, targets: ${keepTargets} }
`;

  before(async () => {
    [oldB] = (await startBackends('http', 'old', 1)) as [RunningBackend];
    [newB] = (await startBackends('http', 'new', 1)) as [RunningBackend];
    [spare] = (await startBackends('http', 'spare', 1)) as [RunningBackend];
    reloadBackends.push(oldB, newB, spare);
    holder = await startHolder();
    rg = await startTestGateway(config('old', targets([holder]), true), {
      routeMiddleware: () => waiter,
    });
  });

  after(async () => {
    holder.release();
    await rg.close();
    await holder.close();
    await Promise.all(reloadBackends.map((b) => b.close()));
  });

  it('finishes a request waiting in a middleware on its old upstream, the next goes to the new', async () => {
    gate = new Promise<void>((resolve) => (open = resolve));
    held = 0;
    const pending = httpGet(rg.port('web'), '/app/first', { 'x-wait': '1' });
    await until(() => held === 1, 4000, 'the middleware holds the request');
    // The route now points at `new`, and `old` is gone from the config.
    const swapped = rg.gateway.swap(
      parseConfigText(config('new', targets([holder]), false), 'v2.yaml'),
    );
    assert.equal(rg.gateway.ref.current.upstreams.has('old'), false);
    open();
    const res = await pending;
    await swapped;
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-backend'], 'old-1');
    assert.equal((JSON.parse(res.body) as { backend: string }).backend, 'old-1');
    const line = await logLine(rg, (l) => l.includes(' GET /app/first '), 'the first line');
    assert.match(line, new RegExp(` GET /app/first 200 old 127\\.0\\.0\\.1:${oldB.port} `));

    const next = await httpGet(rg.port('web'), '/app/second');
    assert.equal(next.status, 200);
    assert.equal(next.headers['x-backend'], 'new-1');
    const nextLine = await logLine(rg, (l) => l.includes(' GET /app/second '), 'the second line');
    assert.match(nextLine, new RegExp(` GET /app/second 200 new 127\\.0\\.0\\.1:${newB.port} `));
  });

  it('keeps a target the new config keeps: same object, its request still counted in flight', async () => {
    const holderId = `127.0.0.1:${holder.port}`;
    const find = (): TargetRuntime | undefined =>
      rg.gateway.ref.current.upstream('keep').targets.find((t) => t.id === holderId);
    const before = find();
    assert.ok(before !== undefined, 'the holder is a target of keep');
    const runtimeBefore = rg.gateway.ref.current;
    const pending = httpGet(rg.port('web'), '/keep/slow');
    await until(() => holder.waiting() === 1, 4000, 'the holder has the request');
    assert.equal(before.active, 1);
    // Same target (and a new one beside it), another config.
    await rg.gateway.swap(
      parseConfigText(config('new', targets([holder, spare]), false), 'v3.yaml'),
    );
    assert.notEqual(rg.gateway.ref.current, runtimeBefore);
    assert.equal(rg.gateway.ref.current.upstream('keep').targets.length, 2);
    const afterSwap = find();
    assert.equal(afterSwap, before, 'the same TargetRuntime object');
    assert.equal(afterSwap.active, 1);
    holder.release();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'held\n');
    await until(() => afterSwap.active === 0, 4000, 'the target is idle again');
  });
});

// --- Hash balancing of TCP on the client IP ----------------------------------

describe('gw proxy seams: TCP hash on client-ip', () => {
  const hashBackends: RunningBackend[] = [];
  let hg: TestGateway;
  let v6 = false;

  before(async () => {
    hashBackends.push(...(await startBackends('tcp', 'h', 3, { banner: true })));
    // A second listener on [::1] gives a second client address; only where IPv6 loopback works.
    v6 = await new Promise<boolean>((resolve) => {
      const probeServer = net.createServer();
      probeServer.once('error', () => resolve(false));
      probeServer.listen(0, '::1', () => probeServer.close(() => resolve(true)));
    });
    hg = await startTestGateway(`
listeners:
  - { name: hash4, protocol: tcp, listen: 127.0.0.1:0, upstream: hashed }
${v6 ? '  - { name: hash6, protocol: tcp, listen: "[::1]:0", upstream: hashed }\n' : ''}upstreams:
  - { name: hashed, balance: hash, hashKey: client-ip, targets: ${targets(hashBackends)} }
`);
  });

  after(async () => {
    await hg.close();
    await Promise.all(hashBackends.map((b) => b.close()));
  });

  it('keeps one client on one target across 10 reconnects', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 10; i++) lines.push(await firstLine(hg.port('hash4'), '127.0.0.1'));
    assert.match(lines[0] ?? '', /^hello from h-[123]$/);
    assert.deepEqual(new Set(lines), new Set([lines[0]]));
  });

  it('keys on the client address: 127.0.0.1 and ::1 are each kept on their own target', async (t) => {
    if (!v6) {
      t.skip('no IPv6 loopback on this machine');
      return;
    }
    const v4: string[] = [];
    const v6Lines: string[] = [];
    for (let i = 0; i < 10; i++) {
      v4.push(await firstLine(hg.port('hash4'), '127.0.0.1'));
      v6Lines.push(await firstLine(hg.port('hash6'), '::1'));
    }
    assert.deepEqual(new Set(v4), new Set([v4[0]]));
    assert.deepEqual(new Set(v6Lines), new Set([v6Lines[0]]));
    // Which targets the two addresses hash to is the hash's business: they may or may not differ.
    t.diagnostic(`127.0.0.1 → ${v4[0] ?? ''}; ::1 → ${v6Lines[0] ?? ''}`);
    await logLine(hg, (l) => l.startsWith('::1 hash6 tcp hashed '), 'a line from ::1');
  });

  it('refuses hashKey header:x-user on an upstream a tcp listener uses', () => {
    const yaml = (hashKey: string): string => `
listeners:
  - { name: raw, protocol: tcp, listen: 127.0.0.1:0, upstream: u }
upstreams:
  - { name: u, balance: hash, hashKey: "${hashKey}", targets: ["127.0.0.1:9"] }
`;
    const issues = issuesOf(() => parseConfigText(yaml('header:x-user'), 'tcp-hash.yaml'));
    assert.ok(
      issues.some((issue) => issue.path === 'upstreams[0].hashKey'),
      JSON.stringify(issues),
    );
    // The same upstream hashing on client-ip is fine.
    assert.equal(parseConfigText(yaml('client-ip'), 'tcp-hash.yaml').upstreams.size, 1);
  });
});
