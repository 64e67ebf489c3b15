import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import { startHttpListener } from '../../../src/proxy/listeners/http-listener.js';
import { isGwError } from '../../../src/shared/errors.js';
import {
  makeCert,
  startBackends,
  startTestGateway,
  targets,
  type TestGateway,
} from '../../helpers/proxy.js';
import { closed, connect, freePort } from '../../helpers/sockets.js';
import { sleep, until } from '../../helpers/wait.js';

// Gateway.apply: a reload changes routes, upstreams and listeners in one step, or not at all.

const backends: RunningBackend[] = [];
let a: RunningBackend;
let b: RunningBackend;
let dir: string;

before(async () => {
  backends.push(...(await startBackends('http', 'a', 1)), ...(await startBackends('http', 'b', 1)));
  [a, b] = backends as [RunningBackend, RunningBackend];
  dir = mkdtempSync(join(tmpdir(), 'gw-reload-'));
});

after(async () => {
  await Promise.all(backends.map((x) => x.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** A config with the listeners given (YAML list items) routing to upstream `app` on `to`. */
function yaml(listeners: string, to: RunningBackend = a, top = ''): string {
  return `
listeners:
${listeners}
upstreams:
  - { name: app, targets: ${targets([to])} }
${top}`;
}

const web = (port: number, extra = '') =>
  `  - { name: web, protocol: http, listen: 127.0.0.1:${port}, routes: [{ upstream: app }]${extra} }`;

interface Answer {
  status: number;
  backend: string;
  connection: string;
  localPort: number;
}

/** GET through `agent` (keep-alive), with the local port of the socket it went on. */
function get(port: number, path: string, agent?: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: agent ?? false }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          backend: String(res.headers['x-backend'] ?? ''),
          connection: res.headers.connection ?? '',
          localPort: req.socket?.localPort ?? 0,
        }),
      );
    });
    req.on('error', reject);
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });
}

const apply = (gw: TestGateway, text: string) => gw.gateway.apply(parseConfigText(text, 'gw.yaml'));

describe('reload: a listener with the same name, protocol and address', () => {
  let gw: TestGateway;
  let port: number;

  before(async () => {
    port = await freePort();
    gw = await startTestGateway(yaml(web(port)));
  });

  after(() => gw.close());

  it('keeps its socket: a keep-alive connection opened before is served by the new config', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(port, '/x', agent);
    assert.equal(first.backend, 'a-1');
    const applied = await apply(gw, yaml(web(port), b));
    assert.deepEqual(applied.listeners, []);
    const second = await get(port, '/x', agent);
    assert.equal(second.backend, 'b-1');
    assert.equal(second.localPort, first.localPort, 'the same connection');
    agent.destroy();
  });

  it('takes its new maxConnections and idle timeout for the connections that follow', async () => {
    const held = await connect(port);
    await apply(gw, yaml(web(port, ', maxConnections: 2, timeouts: { idleMs: 300 }'), b));
    const second = await connect(port);
    const third = await connect(port);
    // Over the new limit: accepted and closed at once. The idle one goes after 300 ms.
    await closed(third);
    await closed(second);
    assert.equal(held.destroyed, false, 'a connection from before keeps its settings');
    held.destroy();
    await until(() => gw.log.some((l) => l.includes('(maxConnections 2)')), 4000, 'refusal log');
  });
});

describe('reload: listeners opened, moved and closed', () => {
  let gw: TestGateway;
  let p1: number;
  let p2: number;
  let p3: number;

  before(async () => {
    [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    gw = await startTestGateway(yaml(web(p1)));
  });

  after(() => gw.close());

  it('opens a new listener and closes a dropped one', async () => {
    const raw = `  - { name: raw, protocol: tcp, listen: 127.0.0.1:${p3}, upstream: app }`;
    const opened = await apply(gw, yaml(`${web(p1)}\n${raw}`));
    assert.deepEqual(opened.listeners, [`listener raw (tcp) opened on 127.0.0.1:${p3}`]);
    assert.equal(await refused(p3), false);
    assert.deepEqual(
      gw.gateway.listeners.map((l) => l.name),
      ['web', 'raw'],
    );
    const dropped = await apply(gw, yaml(web(p1)));
    assert.deepEqual(dropped.listeners, [`listener raw closed (127.0.0.1:${p3} drains)`]);
    await dropped.drained;
    assert.equal(await refused(p3), true);
  });

  it('a moved listener serves on its new address; the old one stops after its in-flight request', async () => {
    const slow = get(p1, '/slow?delayMs=600', new http.Agent({ keepAlive: true }));
    await until(
      () => gw.gateway.registry.state('app')?.targets[0]?.active === 1,
      4000,
      'in flight',
    );
    const applied = await apply(gw, yaml(web(p2), b));
    assert.deepEqual(applied.listeners, [
      `listener web moved to 127.0.0.1:${p2} (127.0.0.1:${p1} drains)`,
    ]);
    assert.equal((await get(p2, '/new')).backend, 'b-1');
    assert.equal(await refused(p1), true, 'the old address accepts no more');
    const answer = await slow;
    assert.equal(answer.status, 200);
    assert.equal(answer.backend, 'a-1', 'finished on the config it was routed with');
    assert.equal(answer.connection, 'close');
    await applied.drained;
  });
});

describe('reload: all or nothing', () => {
  let gw: TestGateway;
  let blocker: net.Server;
  let taken: number;
  let port: number;
  let spare: number;

  before(async () => {
    blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    taken = (blocker.address() as net.AddressInfo).port;
    [port, spare] = [await freePort(), await freePort()];
    gw = await startTestGateway(yaml(web(port)));
  });

  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  });

  it('an address it cannot bind rejects the reload whole: the old config keeps serving, nothing it opened stays', async () => {
    const runtime = gw.gateway.ref.current;
    const target = gw.gateway.registry.state('app')?.targets[0];
    const listeners = [
      web(port),
      `  - { name: fresh, protocol: http, listen: 127.0.0.1:${spare}, routes: [{ upstream: app }] }`,
      `  - { name: busy, protocol: http, listen: 127.0.0.1:${taken}, routes: [{ upstream: app }] }`,
    ].join('\n');
    await assert.rejects(apply(gw, yaml(listeners, b)), (err: unknown) => {
      assert.ok(isGwError(err, 'GW_ERR_PORT_IN_USE'));
      assert.match(
        err.message,
        new RegExp(`listener busy: cannot listen on 127\\.0\\.0\\.1:${taken}`),
      );
      return true;
    });
    assert.equal(gw.gateway.ref.current, runtime, 'the runtime in force is the old one');
    assert.equal(gw.gateway.registry.state('app')?.targets[0], target, 'targets untouched');
    assert.equal((await get(port, '/still')).backend, 'a-1');
    assert.equal(await refused(spare), true, 'the listener bound before the failure is closed');
    assert.deepEqual(
      gw.gateway.listeners.map((l) => l.name),
      ['web'],
    );
  });

  it('turning TLS on for a running listener is a config error at its field', async () => {
    const { cert, key } = makeCert(dir, 'on');
    await assert.rejects(
      apply(gw, yaml(web(port, `, tls: { cert: ${cert}, key: ${key} }`))),
      (err: unknown) => {
        assert.ok(isGwError(err, 'GW_ERR_CONFIG'));
        assert.match(err.message, /listeners\[0\]\.tls/);
        return true;
      },
    );
    assert.equal((await get(port, '/still')).status, 200);
  });
});

describe('reload: a TLS listener', () => {
  it('serves the new certificate to the handshakes that follow, on the same socket', async () => {
    const one = makeCert(dir, 'first');
    const two = makeCert(dir, 'second');
    const port = await freePort();
    const tlsOf = (c: { cert: string; key: string }) => `, tls: { cert: ${c.cert}, key: ${c.key} }`;
    const gw = await startTestGateway(yaml(web(port, tlsOf(one))));
    const fingerprint = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
          resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
          socket.destroy();
        });
        socket.on('error', reject);
      });
    const expected = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;
    try {
      assert.equal(await fingerprint(), expected(one.cert));
      await apply(gw, yaml(web(port, tlsOf(two))));
      assert.equal(await fingerprint(), expected(two.cert));
    } finally {
      await gw.close();
    }
  });
});

describe('reload: a TLS listener removed while a handshake is under way', () => {
  for (const protocol of ['http', 'grpc'] as const) {
    it(`${protocol}: the connection whose handshake ends after the close is closed, not served`, async () => {
      const { cert, key } = makeCert(dir, `late-${protocol}`);
      const [port, secure] = [await freePort(), await freePort()];
      const late = `  - { name: late, protocol: ${protocol}, listen: 127.0.0.1:${secure}, tls: { cert: ${cert}, key: ${key} }, routes: [{ upstream: app }] }`;
      // A long drain: the late connection must close because it is late, not at the deadline.
      const drain = 'shutdownTimeoutMs: 60000';
      const gw = await startTestGateway(yaml(`${web(port)}\n${late}`, a, drain));
      try {
        // Accepted by the listener, no ClientHello yet.
        const raw = await connect(secure);
        const applied = await apply(gw, yaml(web(port), a, drain));
        const socket = tls.connect({
          socket: raw,
          rejectUnauthorized: false,
          ALPNProtocols: [protocol === 'grpc' ? 'h2' : 'http/1.1'],
        });
        socket.on('error', () => undefined);
        await new Promise<void>((resolve) =>
          socket.once('secureConnect', resolve).once('close', resolve),
        );
        if (protocol === 'http') socket.write('GET /late HTTP/1.1\r\nhost: x\r\n\r\n');
        else {
          const session = http2.connect('https://127.0.0.1', { createConnection: () => socket });
          session.on('error', () => undefined);
          const call = session.request({
            ':method': 'POST',
            ':path': '/gw.echo.v1.Echo/Unary',
            'content-type': 'application/grpc',
          });
          call.on('error', () => undefined).end();
        }
        await once(socket, 'close', { signal: AbortSignal.timeout(5000) });
        void applied.drained;
        // The gateway is still up (an exception would have ended this test's process).
        assert.equal((await get(port, '/after')).status, 200);
      } finally {
        await gw.close();
      }
    });
  }
});

describe('a listener started held (bound by a reload before its config is in force)', () => {
  it('answers nothing until it is opened, then serves what waited', async () => {
    const gw = await startTestGateway(yaml(web(0)));
    const config = parseConfigText(yaml(web(0)), 'gw.yaml').listeners[0];
    assert.ok(config?.protocol === 'http');
    const listener = await startHttpListener(config, gw.gateway.ref, () => undefined, true);
    try {
      const pending = get(listener.port, '/waited');
      let answered = false;
      void pending.then(() => (answered = true));
      await sleep(150);
      assert.equal(answered, false);
      listener.open();
      assert.equal((await pending).status, 200);
    } finally {
      await listener.close(0);
      await gw.close();
    }
  });
});
