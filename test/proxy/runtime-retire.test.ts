import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningBackend } from '../../src/backend/backend-options.js';
import { parseConfigText } from '../../src/proxy/config/load.js';
import { loadMonitor } from '../../src/proxy/load/load-monitor.js';
import type { GwError } from '../../src/shared/errors.js';
import { sweeper } from '../../src/shared/sweeper.js';
import { startBackends, startTestGateway, targets, type TestGateway } from '../helpers/proxy.js';

// A config's features may start background work (a rate limiter's idle-key sweep, the load
// monitor): a reload that replaces the config ends it, and so does stopping the gateway.

const backends: RunningBackend[] = [];
let gw: TestGateway;

function config(routeExtra: string, top = ''): string {
  return `
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes: [{ name: r, match: { pathPrefix: / }, upstream: app${routeExtra} }]
upstreams:
  - { name: app, targets: ${targets(backends)} }
${top}`;
}

before(async () => {
  backends.push(...(await startBackends('http', 'app', 1)));
});

after(async () => {
  await Promise.all(backends.map((b) => b.close()));
});

describe('a replaced config ends its features’ background work', () => {
  it('stops a rate limiter’s sweep and the load monitor on reload, and on close', async () => {
    const tasksBefore = sweeper.size;
    gw = await startTestGateway(
      config(', rateLimit: { rps: 100 }, priority: normal', 'shedding: { maxInFlight: 100 }'),
    );
    assert.ok(sweeper.size >= tasksBefore + 2, 'the limiter sweeps and the monitor reads');
    const res = await fetch(`http://127.0.0.1:${gw.port('web')}/x`);
    await res.arrayBuffer();
    assert.equal(res.status, 200);

    // The same features again: the new config's take over, the old config's end.
    await gw.gateway.swap(
      parseConfigText(
        config(', rateLimit: { rps: 100 }, priority: normal', 'shedding: { maxInFlight: 100 }'),
        'test.yaml',
      ),
    );
    assert.equal(sweeper.size, tasksBefore + 2, 'no sweep is left behind by the old config');

    await gw.gateway.swap(parseConfigText(config(''), 'test.yaml'));
    assert.equal(sweeper.size, tasksBefore, 'without them, nothing runs');
    assert.equal(loadMonitor.delayMs, 0);

    await gw.gateway.swap(parseConfigText(config(', rateLimit: { rps: 100 }'), 'test.yaml'));
    assert.equal(sweeper.size, tasksBefore + 1);
    await gw.close();
    assert.equal(sweeper.size, tasksBefore, 'stopping the gateway ends it too');
  });

  it('a reload whose config fails to build leaves nothing of it running', async () => {
    const tasksBefore = sweeper.size;
    gw = await startTestGateway(config(', rateLimit: { rps: 100 }'));
    assert.equal(sweeper.size, tasksBefore + 1);
    // Its first route builds a new limiter (and the load monitor), its second cannot be built.
    const broken = `
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { name: r, match: { pathPrefix: / }, upstream: app, rateLimit: { rps: 5 }, priority: core }
      - { name: s, match: { pathPrefix: /s }, upstream: app, fallback: { status: 503, bodyFile: /nonexistent/gw-fallback-body.txt } }
upstreams:
  - { name: app, targets: ${targets(backends)} }
shedding: { maxInFlight: 100 }
`;
    await assert.rejects(
      gw.gateway.swap(parseConfigText(broken, 'test.yaml')),
      (err: GwError) => err.code === 'GW_ERR_CONFIG',
    );
    assert.equal(sweeper.size, tasksBefore + 1, 'only the config in force sweeps');
    const res = await fetch(`http://127.0.0.1:${gw.port('web')}/x`);
    await res.arrayBuffer();
    assert.equal(res.status, 200, 'the config in force still serves');
    await gw.close();
    assert.equal(sweeper.size, tasksBefore);
  });
});
