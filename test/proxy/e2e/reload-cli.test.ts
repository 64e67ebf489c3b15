import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { echoClient, type EchoReply, type EchoRequest } from '../../../src/backend/grpc-client.js';
import { GwProcess } from '../../helpers/cli.js';
import { failures, startLoad } from '../../helpers/discovery.js';
import { startBackends, targets } from '../../helpers/proxy.js';
import { connect, freePort, readBytes } from '../../helpers/sockets.js';
import { until } from '../../helpers/wait.js';

// `gw proxy` as users run it, reloading its config file while clients use it.

let dir: string;
let file: string;
let proc: GwProcess;
const backends: RunningBackend[] = [];
let app: RunningBackend[];
const ports = { web: 0, rpc: 0, raw: 0 };

/**
 * The config, in one of two variants that differ in a target's weight and a
 * route; `appTargets` replaces the app upstream's targets (a YAML list).
 */
function config(variant: 0 | 1, appTargets?: string): string {
  const [a1, a2] = app.map((b) => `127.0.0.1:${b.port}`);
  const extra =
    variant === 1 ? '\n      - { name: extra, match: { pathPrefix: /extra }, upstream: app }' : '';
  const ws = backends.filter((b) => b.kind === 'ws');
  const g = backends.filter((b) => b.kind === 'grpc');
  const t = backends.filter((b) => b.kind === 'tcp');
  return `# variant ${variant}
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:${ports.web}
    routes:
      - { name: ws, match: { pathPrefix: /ws }, upstream: ws }${extra}
      - { name: all, match: { pathPrefix: / }, upstream: app }
  - { name: rpc, protocol: grpc, listen: 127.0.0.1:${ports.rpc}, routes: [{ upstream: g }] }
  - { name: raw, protocol: tcp, listen: 127.0.0.1:${ports.raw}, upstream: t }
upstreams:
  - name: app
    balance: weighted
    targets: ${appTargets ?? `[{ address: "${a1}", weight: 1 }, { address: "${a2}", weight: ${variant === 1 ? 3 : 1} }]`}
  - { name: ws, targets: ${targets(ws)} }
  - { name: g, targets: ${targets(g)} }
  - { name: t, targets: ${targets(t)} }
`;
}

/** Replaces the file as editors do: written aside, renamed over it. */
async function replace(text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

const reloaded = () => proc.lines.filter((l) => l.startsWith('config reloaded:')).length;

function getBackend(path: string): Promise<{ status: number; backend: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: ports.web, path, agent: false }, (res) => {
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, backend: String(res.headers['x-backend'] ?? '') }),
        );
      })
      .on('error', reject);
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-reload-cli-'));
  file = join(dir, 'gw.yaml');
  app = await startBackends('http', 'app', 2);
  backends.push(
    ...app,
    ...(await startBackends('ws', 'ws', 1)),
    ...(await startBackends('grpc', 'g', 1)),
    ...(await startBackends('tcp', 't', 1)),
  );
  ports.web = await freePort();
  ports.rpc = await freePort();
  ports.raw = await freePort();
  await writeFile(file, config(0));
  proc = new GwProcess(['proxy', '--config', file, '--quiet']);
  await proc.waitForLine((l) => l.startsWith('config sha256:'));
});

after(async () => {
  await proc.stop('SIGKILL');
  await Promise.all(backends.map((b) => b.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('gw proxy: reloading its config under load', () => {
  it('ten reloads under steady load fail no request; a WebSocket, a gRPC bidi stream and a TCP connection opened before still work after', async (t) => {
    // Sessions opened before the reloads.
    const ws = new WebSocket(`ws://127.0.0.1:${ports.web}/ws`);
    await once(ws, 'message', { signal: AbortSignal.timeout(8000) }); // the backend's hello
    const grpcClient = echoClient(`127.0.0.1:${ports.rpc}`);
    const bidi: grpc.ClientDuplexStream<EchoRequest, EchoReply> = grpcClient.Bidi();
    const replies: string[] = [];
    bidi.on('data', (reply: EchoReply) => replies.push(reply.message));
    bidi.on('error', () => undefined); // asserted through its replies
    bidi.write({ message: 'before' });
    await until(() => replies.length === 1, 5000, 'the first bidi reply');
    const tcp: net.Socket = await connect(ports.raw);
    tcp.write('before\n');
    assert.equal((await readBytes(tcp, 7)).toString(), 'before\n');

    const load = startLoad(ports.web, 4, '/load');
    try {
      for (let i = 1; i <= 10; i++) {
        await replace(config(i % 2 === 1 ? 1 : 0));
        await until(() => reloaded() === i, 8000, `reload ${i}`);
      }
    } finally {
      await load.stop();
    }
    assert.ok(load.samples.length >= 20, `only ${load.samples.length} requests`);
    assert.deepEqual(failures(load.samples), [], 'no request failed');
    t.diagnostic(`${load.samples.length} requests across 10 reloads, none failed`);
    const lines = proc.lines.filter((l) => l.startsWith('config reloaded:'));
    assert.match(
      lines[0] ?? '',
      /^config reloaded: sha256:[0-9a-f]{12} \(1 route changed; upstream app: 1 target reweighted\)$/,
    );

    // The sessions from before still carry data, both ways.
    ws.send('after');
    const [echo] = (await once(ws, 'message', { signal: AbortSignal.timeout(8000) })) as [Buffer];
    assert.equal(echo.toString(), 'after');
    bidi.write({ message: 'after' });
    await until(() => replies.length === 2, 5000, 'the bidi reply after the reloads');
    assert.deepEqual(replies, ['before', 'after']);
    tcp.write('after\n');
    assert.equal((await readBytes(tcp, 6)).toString(), 'after\n');

    ws.close();
    const ended = once(bidi, 'status', { signal: AbortSignal.timeout(5000) });
    bidi.end();
    await ended;
    grpcClient.close();
    tcp.destroy();
  });

  it('a bad config is logged with the field’s place and the old one keeps serving; fixing the file applies it', async () => {
    const before = reloaded();
    const [a1] = app.map((b) => `127.0.0.1:${b.port}`);
    await replace(config(0, `["${a1}", "127.0.0.1:99999"]`));
    const line = await proc.waitForLine((l) => l.startsWith('config rejected'));
    assert.match(
      line,
      /^config rejected \(sha256:[0-9a-f]{12}\): .*gw\.yaml:\d+:\d+: upstreams\[0\]\.targets\[1\]: .*; still serving sha256:[0-9a-f]{12}$/,
    );
    assert.equal((await getBackend('/still')).status, 200);

    // Fixed: only the second app backend remains.
    const a2 = `127.0.0.1:${app[1]?.port}`;
    await replace(config(0, `["${a2}"]`));
    await until(() => reloaded() === before + 1, 8000, 'the fixed config');
    for (let i = 0; i < 4; i++) assert.equal((await getBackend(`/fixed-${i}`)).backend, 'app-2');
  });

  it('SIGHUP reads the file again (no change: it says so, and keeps serving)', async () => {
    proc.child.kill('SIGHUP');
    await proc.waitForLine((l) => l.startsWith('config unchanged:'));
    assert.equal((await getBackend('/after-hup')).status, 200);
  });
});
