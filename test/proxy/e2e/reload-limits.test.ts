import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import { sha256Hex } from '../../../src/proxy/middleware/auth/consumers.js';
import { sweeper } from '../../../src/shared/sweeper.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../../helpers/proxy.js';
import { tcpTry as tryTcp } from '../../helpers/sockets.js';

/*
 * A reload keeps every limit that is still set the same at the same place:
 * a client at its limit stays refused (it does not get a fresh burst each
 * time the operator reloads), while a changed limit starts afresh. Through
 * real sockets: a route's rateLimit, consumers' own limits, and a tcp
 * listener's connectionsPerSecond.
 */

const ALICE_KEY = 'alice-key-0123456789';
const BOB_KEY = 'bob-key-0123456789';

interface Limits {
  /** The route's rps (burst 2). */
  route: number;
  /** Alice's rps (burst 2); Bob's is always 0.01. */
  alice: number;
  /** The tcp listener's rate (burst 2). */
  tcp: number;
  /** Another route, unrelated to any limit. */
  other: string;
  /** The route's `headers` flag: what admitted answers carry, not what is counted. */
  headers: boolean;
}

const START: Limits = { route: 0.01, alice: 0.01, tcp: 0.01, other: 'a', headers: false };

const backends: RunningBackend[] = [];
let gw: TestGateway;

function config(l: Limits): string {
  return `
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { name: limited, match: { pathPrefix: /limited }, upstream: app, rateLimit: { rps: ${l.route}, burst: 2, headers: ${l.headers} } }
      - { name: keyed, match: { pathPrefix: /keyed }, upstream: app, auth: { type: api-key } }
      - { name: other, match: { pathPrefix: /other }, upstream: app, responseHeaders: { x-version: ${l.other} } }
  - { name: raw, protocol: tcp, listen: 127.0.0.1:0, upstream: echo, connectionsPerSecond: { rate: ${l.tcp}, burst: 2 } }
upstreams:
  - { name: app, targets: ${targets(backends.filter((b) => b.name.startsWith('app')))} }
  - { name: echo, targets: ${targets(backends.filter((b) => b.name.startsWith('echo')))} }
consumers:
  - { name: alice, apiKeys: ["sha256:${sha256Hex(ALICE_KEY)}"], rateLimit: { rps: ${l.alice}, burst: 2 } }
  - { name: bob, apiKeys: ["sha256:${sha256Hex(BOB_KEY)}"], rateLimit: { rps: 0.01, burst: 2 } }
`;
}

function reload(l: Limits): Promise<void> {
  return gw.gateway.swap(parseConfigText(config(l), 'test.yaml'));
}

async function status(path: string, key?: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${gw.port('web')}${path}`, {
    headers: key === undefined ? {} : { 'x-api-key': key },
  });
  await res.arrayBuffer();
  return res.status;
}

/** Statuses of `n` requests in a row. */
async function statuses(n: number, path: string, key?: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await status(path, key));
  return out;
}

/** How a tcp connection through the gateway ended: its echo, or the error code (a reset). */
function tcpTry(text: string): Promise<string> {
  return tryTcp(gw.port('raw'), text);
}

before(async () => {
  backends.push(...(await startBackends('http', 'app', 1)));
  backends.push(...(await startBackends('tcp', 'echo', 1)));
  gw = await startTestGateway(config(START));
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

describe('limits across a reload', () => {
  it("keeps a route's limit through reloads that leave it as it was; a changed rps starts afresh", async () => {
    assert.deepEqual(await statuses(3, '/limited/a'), [200, 200, 429], 'burst 2, then refused');

    // Unrelated changes elsewhere, and the limit's `headers` flag: the client stays refused.
    await reload({ ...START, other: 'b' });
    assert.equal(await status('/limited/b'), 429, 'no fresh burst after a reload');
    await reload({ ...START, other: 'c', headers: true });
    assert.equal(await status('/limited/c'), 429, 'headers do not change what is counted');

    await reload({ ...START, other: 'c', route: 0.02 });
    assert.deepEqual(await statuses(3, '/limited/d'), [200, 200, 429], 'a new rps: fresh state');
  });

  it("keeps consumers' limits, starting afresh only the consumer whose limit changed", async () => {
    await reload(START);
    assert.deepEqual(await statuses(3, '/keyed/a', ALICE_KEY), [200, 200, 429]);
    assert.deepEqual(await statuses(3, '/keyed/b', BOB_KEY), [200, 200, 429]);

    await reload({ ...START, other: 'd' });
    assert.equal(await status('/keyed/c', ALICE_KEY), 429);
    assert.equal(await status('/keyed/d', BOB_KEY), 429);

    await reload({ ...START, other: 'd', alice: 0.02 });
    assert.deepEqual(await statuses(3, '/keyed/e', ALICE_KEY), [200, 200, 429], 'alice: fresh');
    assert.equal(await status('/keyed/f', BOB_KEY), 429, 'bob: unchanged, still refused');
  });

  it("keeps a tcp listener's connectionsPerSecond; a changed rate starts afresh", async () => {
    await reload(START);
    assert.deepEqual(
      [await tcpTry('one'), await tcpTry('two'), await tcpTry('three')],
      ['one', 'two', 'ECONNRESET'],
    );
    await reload({ ...START, other: 'e' });
    assert.equal(await tcpTry('four'), 'ECONNRESET', 'no fresh burst after a reload');
    await reload({ ...START, other: 'e', tcp: 0.02 });
    assert.deepEqual(
      [await tcpTry('five'), await tcpTry('six'), await tcpTry('seven')],
      ['five', 'six', 'ECONNRESET'],
    );
  });

  it('runs no more sweeps after many reloads than after one', async () => {
    await reload(START);
    const tasks = sweeper.size;
    for (let i = 0; i < 5; i++) await reload({ ...START, other: `n${i}` });
    assert.equal(sweeper.size, tasks, 'kept stores keep their one sweep each');
    // The route's limit changed: its old store (and sweep) goes, a new one comes.
    await reload({ ...START, route: 0.5 });
    assert.equal(sweeper.size, tasks);
  });
});
