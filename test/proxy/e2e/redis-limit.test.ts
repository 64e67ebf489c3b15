import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import { sha256Hex } from '../../../src/proxy/middleware/auth/consumers.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../../helpers/proxy.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';
import { sleep, until } from '../../helpers/wait.js';

/*
 * Limits kept in Redis, through real sockets, with gateways in this
 * process sharing one real redis-server: the same 429 as a local limit,
 * one count across gateways (routes and consumers), 503 while Redis is
 * gone with failureMode closed, and one connection per gateway that a
 * reload keeps while the URL stays. Timeouts are 1 s, not 50 ms: the test
 * machine may be busy, and these tests are not about a slow Redis.
 */

const ALICE_KEY = 'alice-key-0123456789';

let redis: TestRedis;
const backends: RunningBackend[] = [];
const gateways: TestGateway[] = [];

before(async () => {
  redis = await startRedis();
  backends.push(...(await startBackends('http', 'app', 1)));
});

after(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await Promise.all(backends.map((b) => b.close()));
  await redis.close();
});

function config(store: string, routes: string, extra = ''): string {
  return `
${store}
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    accessLog: false
    routes:
${routes}
upstreams:
  - { name: app, targets: ${targets(backends)} }
${extra}`;
}

async function gateway(yaml: string): Promise<TestGateway> {
  const gw = await startTestGateway(yaml);
  gateways.push(gw);
  return gw;
}

async function get(
  gw: TestGateway,
  path: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const res = await fetch(`http://127.0.0.1:${gw.port('web')}${path}`, { headers });
  await res.arrayBuffer();
  return res;
}

/** The `id=` of each client Redis has named `gw`. */
async function gwClients(): Promise<string[]> {
  const list = await redis.command('CLIENT', 'LIST');
  return [...list.matchAll(/^id=(\d+) .*name=gw /gm)].map((m) => m[1] ?? '');
}

describe('limits kept in Redis, end to end', () => {
  it('answers over a shared limit with the same 429 fields as a local one', async () => {
    const routes = (store: string) =>
      `      - { name: api, match: { pathPrefix: /same }, upstream: app, rateLimit: { rps: 1, burst: 2, key: route, store: ${store} } }`;
    const shared = await gateway(
      config(`store: { redis: "${redis.url}", timeoutMs: 1000 }`, routes('redis')),
    );
    const local = await gateway(config('', routes('memory')));
    const refusals: Record<string, string | null>[] = [];
    for (const gw of [shared, local]) {
      const statuses = [];
      let refused: Response | undefined;
      for (let i = 0; i < 3; i++) {
        const res = await get(gw, '/same');
        statuses.push(res.status);
        if (res.status === 429) refused = res;
      }
      assert.deepEqual(statuses, [200, 200, 429]);
      const h = refused?.headers ?? new Headers();
      refusals.push(
        Object.fromEntries(
          ['x-gw-error', 'retry-after', 'ratelimit-policy', 'ratelimit'].map((n) => [n, h.get(n)]),
        ),
      );
    }
    assert.deepEqual(refusals[0], refusals[1]);
    assert.deepEqual(refusals[0], {
      'x-gw-error': 'GW_ERR_RATE_LIMITED',
      'retry-after': '1',
      'ratelimit-policy': '"route";q=1;w=1',
      ratelimit: '"route";r=0;t=1',
    });
  });

  it("counts a route's and a consumer's limit once across two gateways", async () => {
    const yaml = config(
      `store: { redis: "${redis.url}", keyPrefix: "two:", timeoutMs: 1000 }`,
      `      - { name: both, match: { pathPrefix: /both }, upstream: app, rateLimit: { rps: 0.01, burst: 3, key: route, store: redis } }
      - { name: auth, match: { pathPrefix: /auth }, upstream: app, auth: { type: api-key } }`,
      `consumers:
  - { name: alice, apiKeys: ["sha256:${sha256Hex(ALICE_KEY)}"], rateLimit: { rps: 0.01, burst: 2, store: redis } }`,
    );
    const one = await gateway(yaml);
    const two = await gateway(yaml);
    const routeStatuses = [];
    for (const gw of [one, two, one, two]) routeStatuses.push((await get(gw, '/both')).status);
    assert.deepEqual(routeStatuses, [200, 200, 200, 429], 'a burst of 3 over both gateways');
    const key = { 'x-api-key': ALICE_KEY };
    const consumerStatuses = [];
    for (const gw of [two, one, two]) consumerStatuses.push((await get(gw, '/auth', key)).status);
    assert.deepEqual(consumerStatuses, [200, 200, 429], "alice's burst of 2 over both");
    const keys = await redis.command('KEYS', 'two:rl:*');
    assert.match(keys, /two:rl:web\/both:/);
    assert.match(keys, /two:rl:consumer:alice/);
  });

  it('keeps its one connection across a reload with the same URL, and closes it with the gateway', async () => {
    const before = new Set(await gwClients());
    const route = (rps: number) =>
      `      - { name: api, match: { pathPrefix: / }, upstream: app, rateLimit: { rps: ${rps}, store: redis } }`;
    const gw = await startTestGateway(
      config(`store: { redis: "${redis.url}", timeoutMs: 1000 }`, route(10)),
    );
    const mine = (await gwClients()).filter((id) => !before.has(id));
    assert.equal(mine.length, 1, 'one connection for the gateway');
    await gw.gateway.swap(
      parseConfigText(
        config(`store: { redis: "${redis.url}", timeoutMs: 900 }`, route(20)),
        'test.yaml',
      ),
    );
    assert.deepEqual(
      (await gwClients()).filter((id) => !before.has(id)),
      mine,
      'the same connection after the reload',
    );
    assert.equal((await get(gw, '/x')).status, 200);
    await gw.close();
    let left: string[] = mine;
    for (let i = 0; i < 100 && left.length > 0; i++) {
      const now = new Set(await gwClients());
      left = mine.filter((id) => now.has(id));
      if (left.length > 0) await sleep(20);
    }
    assert.deepEqual(left, [], 'closed with the gateway');
  });

  it('refuses with 503 GW_ERR_STORE_UNAVAILABLE while Redis is gone, with failureMode closed', async () => {
    const gw = await gateway(
      config(
        `store: { redis: "${redis.url}", failureMode: closed, timeoutMs: 1000 }`,
        `      - { name: api, match: { pathPrefix: /closed }, upstream: app, rateLimit: { rps: 100, store: redis } }
      - { name: free, match: { pathPrefix: /free }, upstream: app }`,
      ),
    );
    assert.equal((await get(gw, '/closed')).status, 200);
    await redis.kill();
    try {
      const name = `store redis://127.0.0.1:${redis.port}/0: unreachable`;
      await until(() => gw.log.some((l) => l.startsWith(name)), 4000, name);
      const refused = await get(gw, '/closed');
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('x-gw-error'), 'GW_ERR_STORE_UNAVAILABLE');
      assert.equal((await get(gw, '/free')).status, 200, 'routes without a shared limit serve');
    } finally {
      await redis.restart();
    }
    await until(() => gw.log.some((l) => l.endsWith('reachable again; limits shared')), 5000);
    assert.equal((await get(gw, '/closed')).status, 200);
  });
});
