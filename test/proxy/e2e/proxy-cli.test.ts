import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { GwProcess, runGw } from '../../helpers/cli.js';
import { curl, parseResponse } from '../../helpers/curl.js';
import { freeBasePort, freePort } from '../../helpers/sockets.js';
import * as grpc from '@grpc/grpc-js';
import { echoClient, type EchoReply } from '../../../src/backend/grpc-client.js';
import {
  echoGrpcStream,
  makeCert,
  startBackends,
  startTestGateway,
  targets,
} from '../../helpers/proxy.js';

let dir: string;
const backends: RunningBackend[] = [];
const processes: GwProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-proxy-cli-'));
  backends.push(...(await startBackends('http', 'c', 2)));
});

after(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await Promise.all(backends.map((b) => b.close()));
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

function httpConfig(port: number, extra = ''): string {
  return `
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:${port}
    routes:
      - { match: { pathPrefix: / }, upstream: app }${extra}
upstreams:
  - { name: app, balance: round-robin, targets: ${targets(backends)} }
`;
}

describe('gw proxy (CLI)', () => {
  it('--check prints the routing table and exits 0 without opening a port', async () => {
    const port = await freePort();
    const file = await configFile('ok.yaml', httpConfig(port));
    const { code, stdout } = await runGw(['proxy', '--config', file, '--check']);
    assert.equal(code, 0);
    assert.match(stdout, /web/);
    assert.match(stdout, /round-robin/);
    assert.match(stdout, new RegExp(`127\\.0\\.0\\.1:${backends[0]?.port}`));
    // Nothing listens: the check never opened the port.
    await assert.rejects(
      new Promise((resolve, reject) =>
        net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject),
      ),
    );
  });

  it('exits 2 with every config error at once, opening no port', async () => {
    const port = await freePort();
    const file = await configFile(
      'bad.yaml',
      `
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:${port}
    routes:
      - { match: { pathPrefix: / }, upstream: missing }
upstreams:
  - { name: app, balance: sometimes, targets: ["127.0.0.1:99999"] }
`,
    );
    const { code, stderr } = await runGw(['proxy', '--config', file]);
    assert.equal(code, 2);
    assert.match(stderr, /GW_ERR_CONFIG/);
    assert.match(stderr, /listeners\[0\]\.routes\[0\]\.upstream/);
    assert.match(stderr, /upstreams\[0\]\.balance/);
    assert.match(stderr, /upstreams\[0\]\.targets\[0\]/);
  });

  it('exits 2 naming the file when the config does not exist', async () => {
    const { code, stderr } = await runGw(['proxy', '--config', join(dir, 'nope.yaml')]);
    assert.equal(code, 2);
    assert.match(stderr, /nope\.yaml/);
  });

  it('serves, writes an access log, and stops cleanly on SIGINT', async () => {
    const port = await freePort();
    const file = await configFile('serve.yaml', httpConfig(port));
    const proc = new GwProcess(['proxy', '--config', file]);
    processes.push(proc);
    await proc.waitForLine((l) => l.startsWith('listener web (http) on'));
    const res = parseResponse((await curl(['-i', `http://127.0.0.1:${port}/hello`])).stdout);
    assert.equal(res.status, 200);
    await proc.waitForLine((l) => l.includes('GET /hello 200 app'));
    const { code } = await proc.stop('SIGINT');
    assert.equal(code, 0);
  });

  it('exits 1 with one line when a listen port is taken, naming listen: (gw proxy has no --port)', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    const file = await configFile('taken.yaml', httpConfig(port));
    const { code, stderr } = await runGw(['proxy', '--config', file]);
    blocker.close();
    assert.equal(code, 1);
    assert.match(stderr, /GW_ERR_PORT_IN_USE/);
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(stderr, /listen: of listener web/);
    assert.doesNotMatch(stderr, /--port\b/);
  });

  it('writes the access line of a request that ended just before SIGTERM', async () => {
    const port = await freePort();
    const file = await configFile('drain.yaml', httpConfig(port));
    const proc = new GwProcess(['proxy', '--config', file]);
    processes.push(proc);
    await proc.waitForLine((l) => l.startsWith('listener web (http) on'));
    await curl(['-s', '-o', '/dev/null', `http://127.0.0.1:${port}/last-before-stop`]);
    const { code } = await proc.stop('SIGTERM');
    assert.equal(code, 0);
    const logged = proc.lines.findIndex((l) => l.includes('GET /last-before-stop 200'));
    const shutdown = proc.lines.findIndex((l) => l.startsWith('shutting down'));
    assert.ok(logged >= 0 && logged < shutdown, proc.lines.join('\n'));
  });

  it('says at start that balance: hash without hashKey hashes on client-ip', async () => {
    const port = await freePort();
    const yaml = httpConfig(port).replace('balance: round-robin', 'balance: hash');
    const file = await configFile('hash.yaml', yaml);
    const proc = new GwProcess(['proxy', '--config', file]);
    processes.push(proc);
    const line = await proc.waitForLine((l) => l.includes('hashKey'));
    assert.match(line, /upstream app .*client-ip/);
    assert.equal((await proc.stop('SIGINT')).code, 0);
  });

  it('terminates TLS when a listener has a certificate', async () => {
    const { cert, key } = makeCert(dir, 'http');
    const port = await freePort();
    const file = await configFile(
      'tls.yaml',
      httpConfig(port, `\n    tls: { cert: ${cert}, key: ${key} }`),
    );
    const proc = new GwProcess(['proxy', '--config', file, '--quiet']);
    processes.push(proc);
    await proc.waitForLine((l) => l.startsWith('listener web'));
    const res = await curl(['-k', '-i', `https://127.0.0.1:${port}/secure`]);
    const parsed = parseResponse(res.stdout);
    assert.equal(parsed.status, 200);
    assert.equal(
      (JSON.parse(parsed.body.toString()) as { headers: Record<string, string> }).headers[
        'x-forwarded-proto'
      ],
      'https',
    );
    await proc.stop('SIGINT');
  });
});

describe('gw proxy: gRPC over TLS', () => {
  it('serves gRPC over TLS with ALPN h2', async () => {
    const { cert, key } = makeCert(dir, 'grpc');
    const grpcBackends = await startBackends('grpc', 'tls', 1);
    backends.push(...grpcBackends);
    const gw = await startTestGateway(`
listeners:
  - name: rpc
    protocol: grpc
    listen: 127.0.0.1:0
    tls: { cert: ${cert}, key: ${key} }
    routes: [ { match: { pathPrefix: / }, upstream: g } ]
upstreams:
  - { name: g, targets: ${targets(grpcBackends)} }
`);
    const client = echoClient(
      `localhost:${gw.port('rpc')}`,
      {},
      grpc.credentials.createSsl(await readFile(cert)),
    );
    const reply = await new Promise<EchoReply | undefined>((resolve, reject) => {
      client.Unary({ message: 'over tls' }, (err, r) => (err ? reject(err) : resolve(r)));
    });
    client.close();
    await gw.close();
    assert.equal(reply?.backend, 'tls-1');
  });
});

describe('gw proxy: gRPC to targets over TLS', () => {
  /** A bare HTTP/2-over-TLS target answering each call with the request's own bytes. */
  async function tlsTarget(cert: string, key: string): Promise<http2.Http2SecureServer> {
    const server = http2.createSecureServer({
      cert: await readFile(cert),
      key: await readFile(key),
    });
    server.on('stream', (stream) => echoGrpcStream(stream));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return server;
  }

  async function callThrough(
    port: number,
  ): Promise<{ message?: string | undefined; code?: number }> {
    const client = echoClient(`127.0.0.1:${port}`);
    try {
      return await new Promise((resolve) => {
        client.Unary(
          { message: 'sealed' },
          new grpc.Metadata(),
          { deadline: Date.now() + 5000 },
          (err, r) => resolve(err ? { code: err.code } : { message: r?.message }),
        );
      });
    } finally {
      client.close();
    }
  }

  for (const trusted of [true, false]) {
    it(
      trusted
        ? 'speaks TLS with ALPN h2 to a target whose certificate it trusts'
        : 'answers UNAVAILABLE (GW_ERR_UPSTREAM_CONNECT) when the target certificate is not trusted',
      async () => {
        const { cert, key } = makeCert(dir, `up-${String(trusted)}`);
        const target = await tlsTarget(cert, key);
        const targetPort = (target.address() as net.AddressInfo).port;
        const port = await freePort();
        const file = await configFile(
          `up-tls-${String(trusted)}.yaml`,
          `listeners:
  - { name: rpc, protocol: grpc, listen: 127.0.0.1:${port}, routes: [{ match: { pathPrefix: / }, upstream: sealed }] }
upstreams:
  - { name: sealed, tls: true, targets: ["127.0.0.1:${targetPort}"] }
`,
        );
        const proc = new GwProcess(
          ['proxy', '--config', file],
          trusted ? { NODE_EXTRA_CA_CERTS: cert } : {},
        );
        processes.push(proc);
        try {
          await proc.waitForLine((l) => l.startsWith('listener rpc'));
          const result = await callThrough(port);
          if (trusted) {
            assert.deepEqual(result, { message: 'sealed' });
          } else {
            assert.deepEqual(result, { code: grpc.status.UNAVAILABLE });
            await proc.waitForLine((l) => l.includes('GW_ERR_UPSTREAM_CONNECT'));
          }
        } finally {
          await proc.stop('SIGINT');
          await new Promise<void>((r) => target.close(() => r()));
        }
      },
    );
  }
});

describe('gw demo', () => {
  it('starts, shows every protocol balanced over three backends, answers gw demo call, and stops on SIGINT', async () => {
    const base = await freeBasePort();
    const demo = new GwProcess(['demo', '--base-port', `${base}`]);
    processes.push(demo);
    for (const kind of ['http', 'ws', 'grpc', 'tcp']) {
      const line = await demo.waitForLine(
        (l) => l.trimStart().startsWith(`${kind} `) && l.includes('×3'),
        20_000,
      );
      const names =
        line
          .split('→')[1]
          ?.split(',')
          .map((s) => s.trim()) ?? [];
      assert.equal(new Set(names).size, 3, line);
    }
    const call = await runGw(['demo', 'call', 'grpc', '--base-port', `${base}`, '--count', '3']);
    assert.equal(call.code, 0, call.stderr);
    assert.equal(call.stdout.trim().split('\n').length, 3);
    // What it suggests runs as printed after npm install: npx gw, with this demo's --base-port.
    await demo.waitForLine((l) => l.startsWith('Access log'));
    assert.ok(
      demo.lines.some((l) => l.includes(`npx gw demo call grpc --count 6 --base-port ${base}`)),
      demo.lines.join('\n'),
    );
    assert.ok(!demo.lines.some((l) => /^\s+gw /.test(l)), 'no bare gw command');
    // GET / answers what to try, through the catch-all route, from a backend.
    const root = parseResponse((await curl(['-si', `http://127.0.0.1:${base}/`])).stdout);
    assert.equal(root.status, 200);
    assert.match(root.headers['x-backend'] ?? '', /^api-\d$/);
    assert.match(root.body.toString(), /Try:/);
    assert.match(
      root.body.toString(),
      new RegExp(`npx gw demo call grpc --count 6 --base-port ${base}`),
    );
    // A request that ends just before SIGTERM is still in the access log.
    await curl(['-s', '-o', '/dev/null', `http://127.0.0.1:${base}/api/last-before-stop`]);
    const { code } = await demo.stop('SIGTERM');
    assert.equal(code, 0);
    assert.ok(
      demo.lines.some((l) => l.includes('/api/last-before-stop')),
      demo.lines.join('\n'),
    );
  });

  it('a taken port: the hint names --base-port, not a --port gw demo does not have', async () => {
    // The demo's http port taken (a port the demo may use: its base port is at most 65533).
    const blocker = net.createServer();
    const port = 20000 + Math.floor(Math.random() * 40000);
    await new Promise<void>((resolve, reject) => {
      blocker.once('error', reject);
      blocker.listen(port, '127.0.0.1', resolve);
    });
    const { code, stderr } = await runGw(['demo', '--base-port', `${port}`], { timeoutMs: 30_000 });
    blocker.close();
    assert.equal(code, 1, stderr);
    assert.match(stderr, /GW_ERR_PORT_IN_USE/);
    assert.match(stderr, /--base-port/);
    assert.doesNotMatch(stderr, /--port\b/);
  });

  it('gw demo call with no demo running: the hint names --base-port, not --host/--port', async () => {
    const port = await freePort();
    const { code, stderr } = await runGw(['demo', 'call', 'http', '--base-port', `${port}`]);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /GW_ERR_CONNECT_REFUSED/);
    assert.match(stderr, /gw demo/);
    assert.match(stderr, /--base-port/);
    assert.doesNotMatch(stderr, /--host|--port\b/);
  });
});
