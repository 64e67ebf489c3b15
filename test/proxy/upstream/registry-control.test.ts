import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasReusePort } from '../../../src/proxy/cluster/listen-mode.js';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import type { UpstreamConfig } from '../../../src/proxy/config/types.js';
import { TargetRegistry } from '../../../src/proxy/upstream/target-registry.js';
import type { UpstreamSnapshot } from '../../../src/proxy/upstream/upstream-runtime.js';

// The two halves of `gw proxy --workers`' one health truth, without processes: a primary's
// registry says what changed (snapshot), a worker's registry takes it (follow) and never probes
// nor watches discovery itself. No sockets: nothing here connects.

function upstreams(...raw: Record<string, unknown>[]): ReadonlyMap<string, UpstreamConfig> {
  const routes = raw.map((u) => ({ upstream: u.name }));
  const config = parseConfig(
    {
      listeners: [{ name: 'web', protocol: 'http', listen: '127.0.0.1:8080', routes }],
      upstreams: raw,
    },
    'test.yaml',
  );
  return config.upstreams;
}

const checked = {
  name: 'app',
  targets: ['127.0.0.1:9001', '127.0.0.1:9002'],
  healthCheck: { type: 'http', path: '/healthz', intervalMs: 60_000 },
};
const found = { name: 'found', discovery: { type: 'dns', name: 'api.example.test', port: 9101 } };

function target(host: string, port: number) {
  return { id: `${host}:${port}`, address: { host, port }, weight: 1 };
}

describe('registry control (--workers)', () => {
  it("a worker's upstream runs no health monitor and takes the primary's verdicts", async () => {
    const registry = new TargetRegistry(() => undefined, { controlled: true });
    registry.follow([{ name: 'app', targets: undefined, down: ['127.0.0.1:9002'] }]);
    registry.reconcile(upstreams(checked));
    const state = registry.state('app');
    assert.ok(state);
    assert.equal(state.health, undefined);
    // The verdict known before the config was loaded applies at once.
    assert.deepEqual(
      state.serving.map((t) => t.id),
      ['127.0.0.1:9001'],
    );
    registry.follow([{ name: 'app', targets: undefined, down: [] }]);
    assert.deepEqual(
      state.serving.map((t) => t.id),
      ['127.0.0.1:9001', '127.0.0.1:9002'],
    );
    await registry.close(0);
  });

  it("a worker's discovered upstream takes the primary's targets, never starting a source", async () => {
    const lines: string[] = [];
    const registry = new TargetRegistry((line) => lines.push(line), { controlled: true });
    const first: UpstreamSnapshot = {
      name: 'found',
      targets: [target('127.0.0.1', 9101)],
      down: [],
    };
    registry.follow([first]);
    registry.reconcile(upstreams(found));
    await registry.ready();
    const state = registry.state('found');
    assert.ok(state);
    assert.deepEqual(
      state.targets.map((t) => t.id),
      ['127.0.0.1:9101'],
    );
    const kept = state.targets[0];
    registry.follow([
      { name: 'found', targets: [target('127.0.0.1', 9101), target('127.0.0.1', 9102)], down: [] },
    ]);
    assert.deepEqual(
      state.targets.map((t) => t.id),
      ['127.0.0.1:9101', '127.0.0.1:9102'],
    );
    // A target that remains keeps its object (its connections, counts).
    assert.equal(state.targets[0], kept);
    // No source ran: a DNS source for a name that does not resolve would have said so.
    assert.deepEqual(lines, []);
    await registry.close(0);
  });

  it("a primary's registry says when availability changed, and what every upstream holds", async () => {
    let changes = 0;
    const registry = new TargetRegistry(() => undefined, { changed: () => (changes += 1) });
    registry.reconcile(upstreams(checked));
    assert.ok(changes > 0);
    const state = registry.state('app');
    assert.ok(state?.health !== undefined, 'the primary runs the health checks');
    const before = changes;
    const [, second] = state.targets;
    assert.ok(second);
    second.healthy = false;
    state.refreshAvailability(performance.now());
    assert.ok(changes > before);
    assert.deepEqual(registry.snapshot(), [
      { name: 'app', targets: undefined, down: ['127.0.0.1:9002'] },
    ]);
    await registry.close(0);
  });

  it('uses reusePort only where Node has it, on Linux', () => {
    assert.equal(hasReusePort('20.20.2', 'linux'), false);
    assert.equal(hasReusePort('22.11.0', 'linux'), false);
    assert.equal(hasReusePort('22.12.0', 'linux'), true);
    assert.equal(hasReusePort('23.0.0', 'linux'), false);
    assert.equal(hasReusePort('23.1.0', 'linux'), true);
    assert.equal(hasReusePort('24.0.0', 'linux'), true);
    assert.equal(hasReusePort('24.0.0', 'darwin'), false);
  });
});
