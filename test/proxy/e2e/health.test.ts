/**
 * Active health checks end to end: real backend processes (`gw backend`,
 * built with `npm run build`) killed with SIGKILL under a light steady load
 * through an in-process gateway, for HTTP requests, gRPC calls, WebSocket
 * upgrades and TCP connections; then restarted on the same port. And panic
 * mode, and health state across a config swap.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import WebSocket from 'ws';
import * as grpc from '@grpc/grpc-js';
import { echoClient } from '../../../src/backend/grpc-client.js';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import { GwProcess } from '../../helpers/cli.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../../helpers/proxy.js';

type Kind = 'http' | 'grpc' | 'ws' | 'tcp';

const INTERVAL_MS = 250;
const JITTER_MS = 25;
const TIMEOUT_MS = 200;
/** Event-loop and scheduling slack on a shared 2-CPU machine. */
const SLACK_MS = 250;

const children = new Set<GwProcess>();
after(async () => {
  for (const child of children) await child.stop('SIGKILL');
});

/** Starts `gw backend KIND --port PORT --name NAME` as a child process; resolves with its port. */
async function spawnBackend(
  kind: Kind,
  name: string,
  port = 0,
): Promise<{ child: GwProcess; port: number }> {
  const child = new GwProcess([
    'backend',
    kind,
    '--port',
    String(port),
    '--name',
    name,
    '--json',
    '--quiet',
  ]);
  children.add(child);
  const line = await child.waitForLine((l) => l.includes('"listening"'));
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

async function kill(child: GwProcess): Promise<void> {
  await child.stop('SIGKILL');
  children.delete(child);
}

function waitFor(what: string, test: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (test()) {
        clearInterval(poll);
        resolve(performance.now());
      } else if (performance.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`${what}: not within ${timeoutMs} ms`));
      }
    }, 5);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One exchange of each kind through the gateway; rejects on any failure. */
function exchanger(kind: Kind, port: number): { one: () => Promise<void>; close: () => void } {
  if (kind === 'http') {
    return {
      one: async () => {
        const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`status ${res.status}`);
      },
      close: () => undefined,
    };
  }
  if (kind === 'grpc') {
    const client = echoClient(`127.0.0.1:${port}`);
    return {
      one: () =>
        new Promise((resolve, reject) => {
          client.Unary(
            { message: 'hi' },
            new grpc.Metadata(),
            { deadline: Date.now() + 3000 },
            (err) => (err ? reject(err) : resolve()),
          );
        }),
      close: () => client.close(),
    };
  }
  if (kind === 'ws') {
    return {
      one: async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
        ws.on('error', () => undefined);
        const first = await Promise.race([
          once(ws, 'message').then(() => 'message'),
          once(ws, 'close').then(() => 'close'),
          once(ws, 'unexpected-response').then(() => 'refused'),
        ]);
        if (first !== 'message') {
          ws.terminate();
          throw new Error(`upgrade ${first}`);
        }
        const closed = once(ws, 'close');
        ws.close();
        await closed;
      },
      close: () => undefined,
    };
  }
  return {
    one: () =>
      new Promise((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port });
        const timer = setTimeout(() => socket.destroy(new Error('no echo within 3 s')), 3000);
        socket.once('connect', () => socket.write('ping'));
        socket.once('data', (d) => {
          clearTimeout(timer);
          socket.end();
          if (d.toString() === 'ping') resolve();
          else reject(new Error(`echo ${d.toString()}`));
        });
        socket.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        socket.once('close', () => {
          clearTimeout(timer);
          reject(new Error('closed before the echo'));
        });
      }),
    close: () => undefined,
  };
}

function gatewayYaml(kind: Kind, ports: readonly number[]): string {
  const protocol = kind === 'grpc' ? 'grpc' : kind === 'tcp' ? 'tcp' : 'http';
  const listener =
    protocol === 'tcp'
      ? '{ name: front, protocol: tcp, listen: 127.0.0.1:0, upstream: t }'
      : `{ name: front, protocol: ${protocol}, listen: 127.0.0.1:0, accessLog: false, routes: [{ upstream: t }] }`;
  const type = kind === 'grpc' ? 'grpc' : kind === 'tcp' ? 'tcp' : 'http';
  return `
listeners:
  - ${listener}
upstreams:
  - name: t
    targets: ${targets(ports.map((port) => ({ port })))}
    timeouts: { connectMs: 500 }
    healthCheck:
      type: ${type}
      intervalMs: ${INTERVAL_MS}
      timeoutMs: ${TIMEOUT_MS}
      jitterMs: ${JITTER_MS}
      unhealthyThreshold: 1
      healthyThreshold: 2
      unhealthyIntervalMs: 100
`;
}

interface Figures {
  exchanges: number;
  failures: string[];
  /** Failed exchanges that started after the killed process was seen gone. */
  lateFailures: number;
  detectedMs: number;
  backMs: number;
}

/**
 * Three backends of `kind`, a steady sequential load, SIGKILL of the second:
 * it must be marked unhealthy within interval + jitter + timeout and get no new
 * exchange after that; restarted, it must serve again.
 */
async function killAndRestart(kind: Kind): Promise<Figures> {
  const started = await Promise.all([1, 2, 3].map((i) => spawnBackend(kind, `${kind}-${i}`)));
  const ports = started.map((s) => s.port);
  const gw: TestGateway = await startTestGateway(gatewayYaml(kind, ports));
  const state = gw.gateway.registry.state('t');
  assert.ok(state);
  const deadId = `127.0.0.1:${ports[1]}`;
  const dead = state.targets.find((t) => t.id === deadId);
  assert.ok(dead);
  const client = exchanger(kind, gw.port('front'));
  const load_ = { running: true };
  let killedAt = Infinity;
  let goneAt = Infinity;
  let exchanges = 0;
  let lateFailures = 0;
  const failed: { startedAt: number; error: string }[] = [];
  const load = (async () => {
    while (load_.running) {
      const startedAt = performance.now();
      try {
        await client.one();
      } catch (err) {
        if (startedAt > goneAt) lateFailures++;
        failed.push({ startedAt, error: String(err) });
      }
      exchanges++;
      await sleep(2);
    }
  })();
  try {
    await waitFor('every target serving', () => state.targets.every((t) => t.served >= 3), 5000);
    const victim = started[1];
    assert.ok(victim);
    killedAt = performance.now();
    await kill(victim.child);
    goneAt = performance.now();
    const unhealthyLine = (l: string) => l.includes(`${deadId} unhealthy`);
    const detectedAt = await waitFor('marked unhealthy', () => gw.log.some(unhealthyLine), 5000);
    const detectedMs = detectedAt - killedAt;
    assert.ok(
      detectedMs <= INTERVAL_MS + JITTER_MS + TIMEOUT_MS + SLACK_MS,
      `detected after ${detectedMs.toFixed(0)} ms`,
    );
    assert.equal(dead.healthy, false);
    const servedAtDetection = dead.served;
    await sleep(3 * INTERVAL_MS);
    assert.equal(
      dead.served,
      servedAtDetection,
      'the dead target got new exchanges after detection',
    );
    // Back on the same port: healthy again after two passed checks, then it serves.
    await spawnBackend(kind, `${kind}-2`, ports[1]);
    const restartedAt = performance.now();
    await waitFor(
      'healthy again',
      () => gw.log.some((l) => l.includes(`${deadId} healthy again`)),
      5000,
    );
    const backAt = await waitFor('serving again', () => dead.served > servedAtDetection + 2, 5000);
    load_.running = false;
    await load;
    const failures = failed.map(
      (f) =>
        `started ${(f.startedAt - killedAt).toFixed(0)} ms after the kill signal (the process was seen gone after ${(goneAt - killedAt).toFixed(0)} ms): ${f.error}`,
    );
    return { exchanges, failures, lateFailures, detectedMs, backMs: backAt - restartedAt };
  } finally {
    load_.running = false;
    await load;
    client.close();
    await gw.close();
    for (const s of started) if (children.has(s.child)) await kill(s.child);
    for (const child of [...children]) await kill(child);
  }
}

describe('active health checks: SIGKILL a target under load, then restart it', () => {
  for (const kind of ['http', 'grpc', 'ws', 'tcp'] as const) {
    it(`${kind}: routed around within one interval plus one timeout, and back after restart`, async (t) => {
      const figures = await killAndRestart(kind);
      t.diagnostic(
        `${kind}: ${figures.exchanges} exchanges, ${figures.failures.length} failed, detected ${figures.detectedMs.toFixed(0)} ms after the kill, serving again ${figures.backMs.toFixed(0)} ms after restart`,
      );
      for (const failure of figures.failures) t.diagnostic(failure);
      // Only exchanges in flight while the process died may fail (a call already sent on a
      // connection the target then closed); none started after it was gone (connect failures
      // are retried elsewhere, then it is out). Sequential load: that is one, or very few.
      assert.equal(figures.lateFailures, 0, figures.failures.join('\n'));
      assert.ok(figures.failures.length <= 2, figures.failures.join('\n'));
    });
  }
});

describe('panic mode', () => {
  it('balances over every target when fewer than panicThreshold are healthy, says so once each way', async () => {
    const backends = await startBackends('http', 'p', 3);
    const gw = await startTestGateway(`
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, accessLog: false, routes: [{ upstream: t }] }
upstreams:
  - name: t
    targets: ${targets(backends)}
    healthCheck: { type: http, intervalMs: 50, timeoutMs: 200, jitterMs: 5, unhealthyThreshold: 1, healthyThreshold: 1 }
    panicThreshold: 0.5
`);
    try {
      const base = (b: { port: number }) => `http://127.0.0.1:${b.port}`;
      const [b1, b2, b3] = backends;
      assert.ok(b1 && b2 && b3);
      const hits = async (n: number): Promise<Set<string>> => {
        const names = new Set<string>();
        for (let i = 0; i < n; i++) {
          const res = await fetch(`http://127.0.0.1:${gw.port('web')}/`);
          await res.arrayBuffer();
          names.add(res.headers.get('x-backend') ?? '?');
        }
        return names;
      };
      const state = gw.gateway.registry.state('t');
      assert.ok(state);
      // One of three out: 2/3 ≥ 50%, no panic; the other two serve.
      await fetch(`${base(b1)}/healthz/fail`, { method: 'POST' });
      await waitFor('p-1 out', () => state.serving.length === 2, 3000);
      assert.deepEqual([...(await hits(6))].sort(), ['p-2', 'p-3']);
      assert.equal(state.panicking, false);
      // Two of three out: 1/3 < 50%: panic, every target serves.
      await fetch(`${base(b2)}/healthz/fail`, { method: 'POST' });
      await waitFor('panic', () => state.panicking, 3000);
      assert.deepEqual([...(await hits(9))].sort(), ['p-1', 'p-2', 'p-3']);
      const entered = gw.log.filter((l) => l.includes('panic mode:'));
      assert.deepEqual(entered, [
        'upstream t: panic mode: 1 of 3 targets available (below 50%); balancing over all',
      ]);
      // Probes keep failing while panicking: no further panic lines.
      await sleep(200);
      assert.equal(gw.log.filter((l) => l.includes('panic')).length, 1);
      // One back: 2/3, panic over, the healthy two serve.
      await fetch(`${base(b2)}/healthz/ok`, { method: 'POST' });
      await waitFor('panic over', () => !state.panicking, 3000);
      assert.deepEqual([...(await hits(6))].sort(), ['p-2', 'p-3']);
      assert.deepEqual(
        gw.log.filter((l) => l.includes('panic')),
        [
          'upstream t: panic mode: 1 of 3 targets available (below 50%); balancing over all',
          'upstream t: panic mode over: 2 of 3 targets available',
        ],
      );
      // Its first check, or a later one, found it failing.
      const reason = new RegExp(
        `^upstream t: 127\\.0\\.0\\.1:${b1.port} unhealthy: (first check failed on GET /healthz: |1 consecutive failed check on GET /healthz, last: )status 503$`,
      );
      assert.ok(
        gw.log.some((l) => reason.test(l)),
        gw.log.join('\n'),
      );
    } finally {
      await gw.close();
      await Promise.all(backends.map((b) => b.close()));
    }
  });

  it('panicThreshold 0 turns it off: an all-unhealthy upstream serves no one', async () => {
    const backends = await startBackends('http', 'z', 2);
    const gw = await startTestGateway(`
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, accessLog: false, routes: [{ upstream: t }] }
upstreams:
  - name: t
    targets: ${targets(backends)}
    healthCheck: { type: http, intervalMs: 50, timeoutMs: 200, jitterMs: 5, unhealthyThreshold: 1 }
    panicThreshold: 0
`);
    try {
      for (const b of backends)
        await fetch(`http://127.0.0.1:${b.port}/healthz/fail`, { method: 'POST' });
      const state = gw.gateway.registry.state('t');
      assert.ok(state);
      await waitFor('all out', () => state.targets.every((t) => !t.healthy), 3000);
      assert.equal(state.panicking, false);
      const res = await fetch(`http://127.0.0.1:${gw.port('web')}/`);
      await res.arrayBuffer();
      assert.equal(res.status, 503);
    } finally {
      await gw.close();
      await Promise.all(backends.map((b) => b.close()));
    }
  });
});

describe('health state across a config swap', () => {
  it('an unhealthy target that remains stays unhealthy; dropping healthCheck releases it', async () => {
    const backends = await startBackends('http', 's', 2);
    const yaml = (extra: string) => `
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, accessLog: false, routes: [{ upstream: t }] }
upstreams:
  - name: t
    targets: ${targets(backends)}
${extra}`;
    const check =
      '    healthCheck: { type: http, intervalMs: 60000, timeoutMs: 200, jitterMs: 0, unhealthyThreshold: 1 }\n';
    const [b1] = backends;
    assert.ok(b1);
    // Failing before the gateway starts: its first probe (at once, jitter 0) takes it out,
    // and the next is a minute away.
    await fetch(`http://127.0.0.1:${b1.port}/healthz/fail`, { method: 'POST' });
    const gw = await startTestGateway(yaml(check));
    try {
      const state = gw.gateway.registry.state('t');
      assert.ok(state);
      const first = state.targets[0];
      assert.ok(first);
      await waitFor('first target out', () => !first.healthy, 3000);
      await fetch(`http://127.0.0.1:${b1.port}/healthz/ok`, { method: 'POST' });
      // A reload with other check settings: the verdict stays (a fresh start would serve it).
      await gw.gateway.swap(
        parseConfigText(yaml(check.replace('timeoutMs: 200', 'timeoutMs: 300')), 'test.yaml'),
      );
      assert.equal(state.targets[0], first, 'the same TargetRuntime after the swap');
      assert.equal(first.healthy, false);
      assert.deepEqual(
        state.serving.map((t) => t.id),
        [`127.0.0.1:${backends[1]?.port}`],
      );
      // Without healthCheck: every target counts as healthy again.
      await gw.gateway.swap(parseConfigText(yaml(''), 'test.yaml'));
      assert.equal(first.healthy, true);
      assert.equal(state.serving.length, 2);
      assert.ok(gw.log.some((l) => l.includes('health checks off')));
    } finally {
      await gw.close();
      await Promise.all(backends.map((b) => b.close()));
    }
  });
});
