import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { GwProcess } from '../../helpers/cli.js';
import { startBackends, targets } from '../../helpers/proxy.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';
import { freePort } from '../../helpers/sockets.js';
import { sleep } from '../../helpers/wait.js';

/*
 * Two gateway instances as separate processes (`gw proxy --config`, the
 * built CLI) sharing one real redis-server: a client load spread over both
 * at three times a route's limit is admitted rps × t + burst times in total
 * (±5%), as one gateway would; with Redis killed mid-run both keep serving
 * under failureMode open (each limiting on its own), and once it is back
 * the limits are shared again. The store's timeout is 1 s here, not the
 * default 50 ms: on a shared, busy test machine a Redis answer may take
 * longer than 50 ms, and the instances would rightly limit locally for a
 * while (this test is about a Redis that is gone, not a slow one).
 */

const RPS = 100;
const BURST = 20;

let dir: string;
let redis: TestRedis;
const backends: RunningBackend[] = [];
const gateways: { proc: GwProcess; port: number }[] = [];

function configText(port: number): string {
  const route = (name: string, rps: number, burst: number): string =>
    `      - { name: ${name}, match: { pathPrefix: /${name} }, upstream: app, rateLimit: { rps: ${rps}, burst: ${burst}, key: route, store: redis } }`;
  return `
store: { redis: "${redis.url}", failureMode: open, timeoutMs: 1000 }
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:${port}
    accessLog: false
    routes:
${route('accuracy', RPS, BURST)}
${route('outage', RPS, BURST)}
${route('down', 0.01, 4)}
${route('back', 0.01, 4)}
upstreams:
  - { name: app, targets: ${targets(backends)} }
`;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-redis-cluster-'));
  redis = await startRedis();
  backends.push(...(await startBackends('http', 'app', 1)));
  for (const name of ['a', 'b']) {
    const port = await freePort();
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, configText(port));
    const proc = new GwProcess(['proxy', '--config', file]);
    gateways.push({ proc, port });
    await proc.waitForLine((l) => l.startsWith('listener web (http) on'));
    await proc.waitForLine((l) => l.endsWith('connected; limits shared'));
  }
});

after(async () => {
  await Promise.all(gateways.map((g) => g.proc.stop('SIGKILL')));
  await Promise.all(backends.map((b) => b.close()));
  await redis.close();
  await rm(dir, { recursive: true, force: true });
});

function httpGet(port: number, path: string, agent: http.Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('error', reject);
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path} within 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

interface LoadResult {
  readonly counts: Record<string, number>;
  readonly seconds: number;
}

/**
 * Sends `rate` requests a second to `path` for `seconds`, alternating
 * between the two gateways, each with its own keep-alive connections;
 * tallies statuses (and `error` for a request that got no answer).
 */
async function load(path: string, rate: number, seconds: number): Promise<LoadResult> {
  const agents = gateways.map(() => new http.Agent({ keepAlive: true, maxSockets: 8 }));
  const counts: Record<string, number> = {};
  const total = rate * seconds;
  const start = performance.now();
  let lastSent = start;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      lastSent = Math.max(lastSent, performance.now());
      const g = gateways[i % gateways.length];
      const agent = agents[i % agents.length];
      if (g === undefined || agent === undefined) return;
      const status = await httpGet(g.port, path, agent).catch(() => 'error');
      counts[status] = (counts[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  for (const agent of agents) agent.destroy();
  return { counts, seconds: (lastSent - start) / 1000 };
}

/** One request after another, alternating gateways: their statuses in order. */
async function alternate(path: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const g = gateways[i % gateways.length];
    if (g !== undefined) statuses.push(await httpGet(g.port, path, false));
  }
  return statuses;
}

/** Each gateway's store lines, without the URL. */
function storeLines(): string[] {
  return gateways.flatMap((g) =>
    g.proc.lines.filter((l) => l.startsWith('store ')).map((l) => l.replace(/^store [^ ]+ /, '')),
  );
}

function waitBoth(test: (line: string) => boolean, ms: number): Promise<string[]> {
  return Promise.all(gateways.map((g) => g.proc.waitForLine(test, ms)));
}

describe('two gateway processes sharing one Redis', () => {
  it('admit rps × t + burst (±5%) in total of a load at 3× the limit spread over both', async () => {
    const { counts, seconds } = await load('/accuracy', RPS * 3, 10);
    const admitted = counts[200] ?? 0;
    const expected = RPS * seconds + BURST;
    console.log(
      `redis accuracy: ${JSON.stringify(counts)} over ${seconds.toFixed(2)} s; admitted ${admitted}, expected ${expected.toFixed(0)} (rps × 10 + burst = ${RPS * 10 + BURST})`,
    );
    assert.deepEqual(Object.keys(counts).sort(), ['200', '429'], 'only 200 and 429');
    assert.ok(
      Math.abs(admitted - expected) <= expected * 0.05,
      `admitted ${admitted}, expected ${expected.toFixed(0)} ± 5%\n${storeLines().join('\n')}`,
    );
    assert.deepEqual(
      storeLines(),
      ['a', 'b'].map(() => 'connected; limits shared'),
      'no outage',
    );
  });

  it('keep serving while Redis is killed (each limiting locally) and share limits again once it is back', async () => {
    const running = load('/outage', RPS * 3, 8);
    await sleep(2000);
    await redis.kill();
    const unreachable = await waitBoth((l) => l.includes(': unreachable ('), 5000);
    for (const line of unreachable) {
      assert.match(
        line,
        /^store redis:\/\/127\.0\.0\.1:\d+\/0: unreachable \(.+\); limiting locally \(failureMode open\)$/,
      );
    }
    // Down: each instance counts on its own, so together they admit two bursts.
    const down = await alternate('/down', 10);
    assert.equal(down.filter((s) => s === 200).length, 8, `while down: ${down.join(' ')}`);
    await sleep(1000);
    await redis.restart();
    await waitBoth((l) => l.endsWith('reachable again; limits shared'), 5000);
    // Back: one burst of 4 across both.
    assert.deepEqual(await alternate('/back', 6), [200, 200, 200, 200, 429, 429]);
    const { counts } = await running;
    console.log(`redis outage: ${JSON.stringify(counts)}`);
    assert.deepEqual(
      Object.keys(counts).sort(),
      ['200', '429'],
      'no request failed: only 200 and 429',
    );
    const changes = storeLines();
    assert.equal(changes.length, 6, `one line per state change:\n${changes.join('\n')}`);
  });
});
