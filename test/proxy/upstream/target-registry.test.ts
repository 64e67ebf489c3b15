import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import type { UpstreamConfig } from '../../../src/proxy/config/types.js';
import { TargetRegistry, type Reconciled } from '../../../src/proxy/upstream/target-registry.js';
import type {
  TargetRuntime,
  UpstreamRuntime,
} from '../../../src/proxy/upstream/upstream-runtime.js';

// The registry is what outlives a reload: these tests reconcile one registry with successive
// configs (as parseConfig resolves them) and check which objects and counts carry over. No
// sockets: nothing here connects (pools are made lazily and never used).

type Target = string | { address: string; weight: number };

/** A config's upstreams, from raw upstream entries, through the real schema. */
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

function app(targets: Target[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'app', targets, ...extra };
}

function runtime(r: Reconciled, name = 'app'): UpstreamRuntime {
  const up = r.upstreams.get(name);
  assert.ok(up, `upstream ${name} in the reconciled set`);
  return up;
}

function target(up: UpstreamRuntime, id: string): TargetRuntime {
  const t = up.targets.find((x) => x.id === id);
  assert.ok(t, `target ${id} in service`);
  return t;
}

/** Ids of `n` picks without a key. */
function picks(up: UpstreamRuntime, n: number): string[] {
  return Array.from({ length: n }, () => up.pick(undefined)?.id ?? '(none)');
}

/** Resolves with `promise`, or fails after `ms` (a bound, not a speed check). */
async function within<T>(promise: Promise<T>, ms = 2000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

const A = '127.0.0.1:9001';
const B = '127.0.0.1:9002';
const C = '127.0.0.1:9003';

describe('TargetRegistry.reconcile', () => {
  it('keeps a target across a reload as the same object, with its active and served counts', () => {
    const registry = new TargetRegistry();
    const first = runtime(registry.reconcile(upstreams(app([A, B]))));
    const a = target(first, A);
    a.active = 2;
    a.served = 5;
    const second = runtime(registry.reconcile(upstreams(app([{ address: A, weight: 3 }, B]))));
    assert.equal(target(second, A), a, 'the same TargetRuntime');
    assert.equal(a.active, 2);
    assert.equal(a.served, 5);
    assert.equal(a.drained, false);
  });

  it("takes a kept target's weight from the new config", () => {
    const registry = new TargetRegistry();
    const first = runtime(registry.reconcile(upstreams(app([A, { address: B, weight: 2 }]))));
    assert.equal(target(first, A).weight, 1);
    assert.equal(target(first, B).weight, 2);
    const second = runtime(
      registry.reconcile(upstreams(app([{ address: A, weight: 7 }, B], { balance: 'weighted' }))),
    );
    assert.equal(target(second, A).weight, 7);
    assert.equal(target(second, B).weight, 1, 'back to the default weight');
    // The balancer uses the new weights: A gets 7 of every 8 picks.
    const counts = new Map<string, number>();
    for (const id of picks(second, 800)) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.equal(counts.get(A), 700);
    assert.equal(counts.get(B), 100);
  });

  it('drains a target the new config drops: not picked any more, and `drained` resolves', async () => {
    const registry = new TargetRegistry();
    const first = runtime(registry.reconcile(upstreams(app([A, B, C]))));
    const b = target(first, B);
    const reconciled = registry.reconcile(upstreams(app([A, C])));
    const second = runtime(reconciled);
    assert.equal(b.drained, true);
    assert.deepEqual(
      second.targets.map((t) => t.id),
      [A, C],
    );
    assert.ok(!picks(second, 30).includes(B), 'the new runtime never picks it');
    assert.ok(!picks(first, 30).includes(B), 'nor does a runtime pinned to the old config');
    await within(reconciled.drained);
  });

  it('drains every target of an upstream the new config drops', async () => {
    const registry = new TargetRegistry();
    const first = registry.reconcile(upstreams(app([A, B]), { name: 'other', targets: [C] }));
    const old = runtime(first);
    const [a, b] = [target(old, A), target(old, B)];
    const other = target(runtime(first, 'other'), C);
    const second = registry.reconcile(upstreams({ name: 'other', targets: [C] }));
    assert.equal(second.upstreams.has('app'), false);
    assert.equal(registry.state('app'), undefined);
    // UpstreamState.drain closes the source first, so its targets are marked once that settles.
    await within(second.drained);
    assert.equal(a.drained, true);
    assert.equal(b.drained, true);
    assert.deepEqual(old.targets, [], 'a runtime pinned to the old config lists no target');
    assert.equal(other.drained, false, 'the upstream that stays is untouched');
    assert.equal(target(runtime(second, 'other'), C), other);
  });

  it('gives an upstream whose balance changed a new balancer over the same target objects', () => {
    const registry = new TargetRegistry();
    const first = runtime(registry.reconcile(upstreams(app([A, B, C]))));
    const state = first.state;
    const balancer = state.balancer;
    const before = [...first.targets];
    const second = runtime(
      registry.reconcile(upstreams(app([A, B, C], { balance: 'least-conn' }))),
    );
    assert.equal(second.state, state, 'the upstream keeps its lasting state');
    assert.notEqual(state.balancer, balancer, 'a new balancer');
    assert.deepEqual(second.targets, before);
    second.targets.forEach((t, i) => assert.equal(t, before[i]));
  });

  it('keeps the balancer when the balance stays the same', () => {
    const registry = new TargetRegistry();
    const first = runtime(registry.reconcile(upstreams(app([A, B], { balance: 'round-robin' }))));
    const balancer = first.state.balancer;
    const second = runtime(
      registry.reconcile(upstreams(app([A, B, C], { balance: 'round-robin' }))),
    );
    assert.equal(second.state.balancer, balancer);
  });

  it('lets least-conn see the counts of kept targets across a reload', () => {
    const registry = new TargetRegistry();
    const first = runtime(registry.reconcile(upstreams(app([A, B], { balance: 'least-conn' }))));
    target(first, A).active = 5;
    const second = runtime(
      registry.reconcile(upstreams(app([A, B], { balance: 'least-conn', tls: false }))),
    );
    assert.deepEqual(new Set(picks(second, 10)), new Set([B]), 'A is busy: every pick goes to B');
  });

  it('puts a re-added target back in service, not drained', async () => {
    const registry = new TargetRegistry();
    const first = runtime(registry.reconcile(upstreams(app([A, B]))));
    const oldB = target(first, B);
    await within(registry.reconcile(upstreams(app([A]))).drained);
    assert.equal(oldB.drained, true);
    const third = runtime(registry.reconcile(upstreams(app([A, B]))));
    const b = target(third, B);
    assert.equal(b.drained, false);
    assert.ok(picks(third, 4).includes(B), 'it is picked again');
    assert.equal(oldB.drained, true, 'the object drained before stays drained');
  });

  it('pins each runtime to its own config: the old one still reports the old timeouts', () => {
    const registry = new TargetRegistry();
    const first = runtime(
      registry.reconcile(upstreams(app([A], { timeouts: { connectMs: 111 } }))),
    );
    const second = runtime(
      registry.reconcile(
        upstreams(app([A], { timeouts: { connectMs: 222, headerMs: 333 }, balance: 'random' })),
      ),
    );
    assert.notEqual(first, second);
    assert.equal(first.state, second.state, 'over one lasting state');
    assert.equal(first.config.timeouts.connectMs, 111);
    assert.equal(first.config.balance, 'round-robin');
    assert.equal(second.config.timeouts.connectMs, 222);
    assert.equal(second.config.timeouts.headerMs, 333);
    assert.equal(second.config.balance, 'random');
  });

  it("keeps a kept target's HTTP/1.1 pool unless the connection settings changed", () => {
    const registry = new TargetRegistry();
    const first = runtime(registry.reconcile(upstreams(app([A]))));
    const a = target(first, A);
    const pool = a.h1Pool();
    registry.reconcile(upstreams(app([{ address: A, weight: 4 }])));
    assert.equal(a.h1Pool(), pool, 'same timeouts and tls: the warm pool stays');
    registry.reconcile(upstreams(app([A], { timeouts: { connectMs: 50 } })));
    assert.notEqual(a.h1Pool(), pool, 'new timeouts: new connections');
  });

  it('carries the round-robin rotation over a reload that keeps the balance', () => {
    const registry = new TargetRegistry();
    const first = runtime(registry.reconcile(upstreams(app([A, B, C]))));
    assert.deepEqual(picks(first, 2), [A, B]);
    const second = runtime(registry.reconcile(upstreams(app([A, B, { address: C, weight: 2 }]))));
    assert.deepEqual(picks(second, 4), [C, A, B, C], 'continues with C, does not restart at A');
  });

  it('continues the rotation at the same place when the target due next is dropped', () => {
    const registry = new TargetRegistry();
    const first = runtime(registry.reconcile(upstreams(app([A, B, C]))));
    assert.deepEqual(picks(first, 1), [A]); // B is due next
    const second = runtime(registry.reconcile(upstreams(app([A, C]))));
    // round-robin update(): B is gone, so the target now at B's position (C) is due.
    assert.deepEqual(picks(second, 3), [C, A, C]);
  });
});
