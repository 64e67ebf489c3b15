import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { sha256Hex } from '../../../src/proxy/middleware/auth/consumers.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../../helpers/proxy.js';

// A consumer's own rateLimit (consumers[].rateLimit) holds wherever the consumer authenticates:
// one count across every route of the config, checked before the route's own limit.

const ALICE_KEY = 'alice-key-0123456789';
const BOB_KEY = 'bob-key-0123456789';

const backends: RunningBackend[] = [];
let gw: TestGateway;

before(async () => {
  backends.push(...(await startBackends('http', 'app', 1)));
  gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { name: one, match: { pathPrefix: /one }, upstream: app, auth: { type: api-key } }
      - { name: two, match: { pathPrefix: /two }, upstream: app, auth: { type: api-key } }
upstreams:
  - { name: app, targets: ${targets(backends)} }
consumers:
  - { name: alice, apiKeys: ["sha256:${sha256Hex(ALICE_KEY)}"], rateLimit: { rps: 0.01, burst: 3 } }
  - { name: bob, apiKeys: ["sha256:${sha256Hex(BOB_KEY)}"] }
`);
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

async function get(path: string, key: string): Promise<Response> {
  const res = await fetch(`http://127.0.0.1:${gw.port('web')}${path}`, {
    headers: { 'x-api-key': key },
  });
  await res.arrayBuffer();
  return res;
}

describe("a consumer's own rate limit", () => {
  it('counts the consumer across routes and answers 429 past its burst, naming the consumer', async () => {
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (const path of ['/one/a', '/two/b', '/one/c', '/two/d']) {
      const res = await get(path, ALICE_KEY);
      statuses.push(res.status);
      if (res.status === 429) refused = res;
    }
    assert.deepEqual(statuses, [200, 200, 200, 429], 'a burst of 3 over both routes together');
    const headers = refused?.headers ?? new Headers();
    assert.equal(headers.get('x-gw-error'), 'GW_ERR_RATE_LIMITED');
    assert.match(headers.get('ratelimit-policy') ?? '', /^"consumer";/);
    assert.ok(Number(headers.get('retry-after')) > 0);
    assert.ok(gw.log.some((l) => l.includes('/two/d 429') && l.includes('GW_ERR_RATE_LIMITED')));
  });

  it('leaves a consumer without a limit, and unauthenticated requests, alone', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await get('/one/x', BOB_KEY)).status, 200);
    assert.equal((await get('/one/x', 'wrong-key-0123456789')).status, 401);
  });
});
