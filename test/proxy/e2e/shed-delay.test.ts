import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../../helpers/proxy.js';
import { sleep, until } from '../../helpers/wait.js';

/*
 * Shedding on event-loop delay, for real: the gateway runs in this process,
 * and the test keeps this process's event loop busy (a synchronous busy wait
 * of BUSY_MS every few ms, as a CPU-bound gateway would be), so the delay
 * the load monitor measures (perf_hooks.monitorEventLoopDelay, p99 over a
 * second) is the gateway's own. Normal routes are shed with 503 GW_ERR_SHED
 * (or their fallback), core routes are served; once the loop is free again,
 * normal routes are served again. Requests go through real sockets.
 */

const MAX_DELAY_MS = 50;
const BUSY_MS = 150;

const backends: RunningBackend[] = [];
let gw: TestGateway;

before(async () => {
  backends.push(...(await startBackends('http', 'app', 1)));
  gw = await startTestGateway(`
shedding: { maxEventLoopDelayMs: ${MAX_DELAY_MS} }
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { name: pay, match: { pathPrefix: /pay }, upstream: app, priority: core }
      - { name: feed, match: { pathPrefix: /feed }, upstream: app }
      - { name: news, match: { pathPrefix: /news }, upstream: app, fallback: { status: 200, body: 'cached news' } }
upstreams:
  - { name: app, targets: ${targets(backends)} }
`);
});

after(async () => {
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

interface Answer {
  status: number;
  error: string | null;
  fallback: string | null;
  body: string;
}

async function get(path: string): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${gw.port('web')}${path}`, {
    signal: AbortSignal.timeout(10_000),
  });
  return {
    status: res.status,
    error: res.headers.get('x-gw-error'),
    fallback: res.headers.get('x-gw-fallback'),
    body: await res.text(),
  };
}

/** Keeps the event loop blocked BUSY_MS at a time, with a few ms free in between, until stopped. */
function blockTheLoop(): () => void {
  const timer = setInterval(() => {
    const end = performance.now() + BUSY_MS;
    while (performance.now() < end);
  }, 5);
  return () => clearInterval(timer);
}

/** Asks `path` until `want` holds (at most `tries` times, 100 ms apart); the last answer. */
async function askUntil(path: string, want: (a: Answer) => boolean, tries = 60): Promise<Answer> {
  let answer = await get(path);
  for (let i = 1; i < tries && !want(answer); i++) {
    await sleep(100);
    answer = await get(path);
  }
  return answer;
}

describe('shedding on event-loop delay', () => {
  it('sheds normal routes while the loop is blocked, serves core ones, and recovers', async () => {
    assert.equal((await get('/feed/calm')).status, 200, 'a calm gateway serves everyone');

    const unblock = blockTheLoop();
    try {
      const shed = await askUntil('/feed/busy', (a) => a.status === 503);
      assert.equal(shed.status, 503, 'a normal route is shed once the delay is measured');
      assert.equal(shed.error, 'GW_ERR_SHED');
      // The delay is over the limit for as long as the loop stays blocked: a core route is
      // served meanwhile, and another normal route gets its fallback.
      const core = await get('/pay/busy');
      assert.equal(core.status, 200, 'a core route is never shed without a hard limit');
      assert.equal(core.error, null);
      const news = await get('/news/busy');
      assert.deepEqual([news.status, news.fallback, news.body], [200, 'shed', 'cached news']);
      assert.equal((await get('/feed/busy-again')).error, 'GW_ERR_SHED');
    } finally {
      unblock();
    }

    const calm = await askUntil('/feed/calm-again', (a) => a.status === 200);
    assert.equal(calm.status, 200, 'served again once the loop is free');
    const isShedLine = (l: string): boolean => l.startsWith('shed ') && l.includes(' normal ');
    await until(() => gw.log.some(isShedLine), 3000, 'a shed line in the log');
    const line = gw.log.find(isShedLine);
    assert.match(
      line ?? gw.log.join('\n'),
      new RegExp(
        `^shed \\d+ normal requests? in the last 1 s: event-loop delay \\d+ ms > maxEventLoopDelayMs ${MAX_DELAY_MS}$`,
      ),
    );
  });
});
