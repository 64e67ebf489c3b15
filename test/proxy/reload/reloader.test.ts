import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigRevision } from '../../../src/proxy/config/config-source.js';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import type { ProxyConfig } from '../../../src/proxy/config/types.js';
import type { Applied } from '../../../src/proxy/gateway.js';
import { describeChanges } from '../../../src/proxy/reload/config-diff.js';
import { planListeners } from '../../../src/proxy/reload/listener-plan.js';
import { Reloader, type ReloadTarget } from '../../../src/proxy/reload/reloader.js';
import { configError, portInUse } from '../../../src/shared/errors.js';

function config(extra = { listeners: '', upstreams: '', top: '' }): ProxyConfig {
  return parseConfigText(
    `
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:8080
    routes:
      - { name: api, match: { pathPrefix: /api }, upstream: api }
      - { name: rest, match: { pathPrefix: / }, upstream: api }${extra.listeners}
upstreams:
  - { name: api, targets: ["127.0.0.1:9001", { address: "127.0.0.1:9002", weight: 2 }] }${extra.upstreams}
${extra.top}`,
    'gw.yaml',
  );
}

const revision = (name: string, c: ProxyConfig = config()): ConfigRevision => ({
  config: c,
  revision: name,
});

/** A stand-in gateway: each apply waits until the test lets it finish (or fail). */
class FakeTarget implements ReloadTarget {
  readonly applied: ProxyConfig[] = [];
  private pending: { finish: () => void; fail: (err: unknown) => void }[] = [];

  apply(next: ProxyConfig): Promise<Applied> {
    return new Promise((resolve, reject) => {
      this.pending.push({
        finish: () => {
          this.applied.push(next);
          resolve({ listeners: [], drained: Promise.resolve() });
        },
        fail: reject,
      });
    });
  }

  get waiting(): number {
    return this.pending.length;
  }

  finish(): void {
    this.pending.shift()?.finish();
  }

  fail(err: unknown): void {
    this.pending.shift()?.fail(err);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Reloader', () => {
  it('applies one revision at a time; a newer one arriving meanwhile waits, intermediate ones are skipped', async () => {
    const target = new FakeTarget();
    const log: string[] = [];
    const reloader = new Reloader(target, revision('r1'), (line) => log.push(line));
    const c2 = config({ listeners: '', upstreams: '', top: 'shutdownTimeoutMs: 100' });
    const c3 = config({ listeners: '', upstreams: '', top: 'shutdownTimeoutMs: 200' });
    const c4 = config({ listeners: '', upstreams: '', top: 'shutdownTimeoutMs: 300' });
    const second = reloader.apply(revision('r2', c2));
    const third = reloader.apply(revision('r3', c3));
    const fourth = reloader.apply(revision('r4', c4));
    await tick();
    assert.equal(target.waiting, 1, 'only r2 is being applied');
    assert.deepEqual(await third, { kind: 'skipped', revision: 'r3' });
    target.finish();
    assert.deepEqual(await second, { kind: 'applied', revision: 'r2' });
    await tick();
    assert.equal(target.waiting, 1, 'r4 follows r2');
    target.finish();
    assert.deepEqual(await fourth, { kind: 'applied', revision: 'r4' });
    assert.deepEqual(target.applied, [c2, c4]);
    assert.equal(reloader.revision, 'r4');
    assert.equal(reloader.config, c4);
    assert.deepEqual(log, [
      'config skipped: r3 (r4 arrived before it was applied)',
      'config reloaded: r2 (shutdownTimeoutMs changed)',
      'config reloaded: r4 (shutdownTimeoutMs changed)',
    ]);
  });

  it('does not apply the revision in force again', async () => {
    const target = new FakeTarget();
    const log: string[] = [];
    const reloader = new Reloader(target, revision('sha256:aaa'), (line) => log.push(line));
    assert.deepEqual(await reloader.apply(revision('sha256:aaa')), {
      kind: 'unchanged',
      revision: 'sha256:aaa',
    });
    assert.equal(target.waiting, 0);
    assert.deepEqual(log, ['config unchanged: sha256:aaa is the one in force']);
  });

  it('logs a rejected candidate with the field’s place, and keeps the revision in force', () => {
    const log: string[] = [];
    const reloader = new Reloader(new FakeTarget(), revision('sha256:good'), (l) => log.push(l));
    const error = configError('gw.yaml', [
      {
        kind: 'invalid',
        path: 'upstreams[0].targets[1]',
        problem: 'port out of range',
        got: '"127.0.0.1:99999"',
        line: 12,
        column: 5,
      },
    ]);
    const outcome = reloader.reject(error, 'sha256:bad');
    assert.equal(outcome.kind, 'rejected');
    assert.equal(reloader.revision, 'sha256:good');
    assert.deepEqual(log, [
      'config rejected (sha256:bad): gw.yaml:12:5: upstreams[0].targets[1]: port out of range (got "127.0.0.1:99999"); still serving sha256:good',
    ]);
  });

  it('a revision the gateway could not take (an address in use) is rejected, the old one serves', async () => {
    const target = new FakeTarget();
    const log: string[] = [];
    const reloader = new Reloader(target, revision('r1'), (line) => log.push(line));
    const outcome = reloader.apply(
      revision('r2', config({ listeners: '', upstreams: '', top: 'shutdownTimeoutMs: 9' })),
    );
    await tick();
    target.fail(portInUse('127.0.0.1', 8081));
    assert.equal((await outcome).kind, 'rejected');
    assert.equal(reloader.revision, 'r1');
    assert.match(log[0] ?? '', /^config rejected \(r2\): .*127\.0\.0\.1:8081.*; still serving r1$/);
  });
});

describe('describeChanges', () => {
  const plain = { listeners: '', upstreams: '', top: '' };

  it('counts routes added, removed and changed, and names the targets an upstream gained', () => {
    const before = config();
    const after = parseConfigText(
      `
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:8080
    routes:
      - { name: api, match: { pathPrefix: /v2 }, upstream: api }
      - { name: new, match: { pathPrefix: / }, upstream: api }
upstreams:
  - { name: api, targets: ["127.0.0.1:9001", { address: "127.0.0.1:9002", weight: 3 }, "127.0.0.1:9003"] }
`,
      'gw.yaml',
    );
    // api changed, rest removed, new added.
    assert.deepEqual(describeChanges(before, after), [
      '3 routes changed',
      'upstream api: 1 target added, 1 reweighted',
    ]);
  });

  it('names upstreams added and removed, listener settings and top-level settings', () => {
    const before = config({
      ...plain,
      upstreams: '\n  - { name: old, targets: ["127.0.0.1:9100"] }',
    });
    const after = config({
      listeners: '\n    timeouts: { idleMs: 1000 }',
      upstreams: '\n  - { name: fresh, balance: random, targets: ["127.0.0.1:9200"] }',
      top: 'shutdownTimeoutMs: 2000',
    });
    assert.deepEqual(describeChanges(before, after), [
      'listener web: timeouts changed',
      'upstream fresh added',
      'upstream old removed',
      'shutdownTimeoutMs changed',
    ]);
  });

  it('is empty when nothing but the text changed', () => {
    assert.deepEqual(describeChanges(config(), config()), []);
  });
});

describe('planListeners', () => {
  const listeners = (yaml: string) =>
    parseConfigText(
      `listeners:\n${yaml}\nupstreams:\n  - { name: a, targets: ["127.0.0.1:9001"] }\n`,
      'gw.yaml',
    ).listeners;
  const running = (yaml: string) =>
    listeners(yaml).map((config) => ({ config, listener: config.name }));
  const web = (address: string, extra = '') =>
    `  - { name: web, protocol: http, listen: "${address}", routes: [{ upstream: a }]${extra} }`;

  it('keeps a listener with the same name, protocol and address; opens a moved one; closes a dropped one', () => {
    const now = running(
      `${web('127.0.0.1:8080')}\n  - { name: raw, protocol: tcp, listen: 127.0.0.1:9000, upstream: a }`,
    );
    const plan = planListeners(
      now,
      listeners(
        `${web('127.0.0.1:8081')}\n  - { name: rpc, protocol: grpc, listen: 127.0.0.1:9500, routes: [{ upstream: a }] }`,
      ),
    );
    assert.deepEqual(plan.keep, []);
    assert.deepEqual(
      plan.open.map((o) => [o.config.name, o.replaces?.listener]),
      [
        ['web', 'web'],
        ['rpc', undefined],
      ],
    );
    assert.deepEqual(
      plan.removed.map((r) => r.listener),
      ['raw'],
    );
    assert.deepEqual(plan.issues, []);
    const kept = planListeners(now, listeners(web('127.0.0.1:8080', ', timeouts: { idleMs: 5 }')));
    assert.deepEqual(
      kept.keep.map((k) => k.entry.listener),
      ['web'],
    );
  });

  it('refuses what a live socket cannot do: change protocol, turn TLS on, take another listener’s address', () => {
    const now = running(
      `${web('127.0.0.1:8080')}\n  - { name: raw, protocol: tcp, listen: 127.0.0.1:9000, upstream: a }`,
    );
    const protocol = planListeners(
      now,
      listeners(
        '  - { name: web, protocol: grpc, listen: 127.0.0.1:8080, routes: [{ upstream: a }] }',
      ),
    );
    assert.deepEqual(
      protocol.issues.map((i) => i.path),
      ['listeners[0].protocol'],
    );
    const tls = planListeners(
      now,
      listeners(web('127.0.0.1:8080', ', tls: { cert: c.pem, key: k.pem }')),
    );
    assert.deepEqual(
      tls.issues.map((i) => i.path),
      ['listeners[0].tls'],
    );
    const taken = planListeners(
      now,
      listeners('  - { name: other, protocol: tcp, listen: 127.0.0.1:8080, upstream: a }'),
    );
    assert.deepEqual(
      taken.issues.map((i) => i.path),
      ['listeners[0].listen'],
    );
    assert.match(taken.issues[0]?.problem ?? '', /held by listener web \(http\)/);
  });
});
