import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configureTargetBreakers } from '../../../src/proxy/breaker/target-breakers.js';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { L7Exchange } from '../../../src/proxy/pipeline/types.js';
import { TargetRegistry } from '../../../src/proxy/upstream/target-registry.js';
import { tryTargets, type Forwarder } from '../../../src/proxy/upstream/try-targets.js';
import type {
  TargetRuntime,
  UpstreamRuntime,
} from '../../../src/proxy/upstream/upstream-runtime.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { GwError, grpcStatusOf, toGwError, upstreamConnect } from '../../../src/shared/errors.js';
import { Sweeper } from '../../../src/shared/sweeper.js';

// Breakers per target (`circuitBreaker.perTarget`) between attempts and the balancer: a real
// UpstreamState and tryTargets, fake sends, a ManualClock and a sweeper ticked by hand.

const A = '127.0.0.1:9001';
const B = '127.0.0.1:9002';
const C = '127.0.0.1:9003';

const BREAKER = { failureRate: 0.5, minCalls: 2, openMs: 1000, halfOpenCalls: 1, perTarget: true };

function configOf(targets: string[], extra: Record<string, unknown> = {}) {
  return parseConfig(
    {
      listeners: [
        { name: 'web', protocol: 'http', listen: '127.0.0.1:8080', routes: [{ upstream: 'app' }] },
      ],
      upstreams: [{ name: 'app', balance: 'round-robin', targets, ...extra }],
    },
    'test.yaml',
  ).upstreams;
}

/** An upstream with per-target breakers on a manual clock and a hand-ticked sweeper. */
function setup(targets: string[], extra: Record<string, unknown> = {}) {
  const log: string[] = [];
  const registry = new TargetRegistry((line) => log.push(line));
  const config = configOf(targets, { circuitBreaker: BREAKER, ...extra });
  const up = registry.reconcile(config).upstreams.get('app');
  assert.ok(up);
  // On the monotonic scale (whole ms, so durations print exactly), as refreshAvailability is.
  const clock = new ManualClock(Math.ceil(performance.now()));
  const sweeper = new Sweeper(clock);
  const { state } = up;
  state.targetBreakers = configureTargetBreakers(state, state.targetBreakers, undefined);
  const breakers = configureTargetBreakers(
    state,
    undefined,
    up.config.circuitBreaker,
    clock,
    sweeper,
  );
  assert.ok(breakers);
  state.targetBreakers = breakers;
  const target = (id: string): TargetRuntime => {
    const t = up.targets.find((x) => x.id === id);
    assert.ok(t);
    return t;
  };
  return { up, log, clock, sweeper, breakers, target, registry, config };
}

class TestExchange extends L7Exchange {
  constructor() {
    super({
      kind: 'http',
      listener: 'web',
      clientIp: '10.0.0.1',
      method: 'GET',
      host: '',
      url: '/',
      path: '/',
      route: 'r',
      upstream: 'app',
    });
  }
  header(): string | undefined {
    return undefined;
  }
}

/** A forwarder where each target id answers a status or throws (after `gate`, when set); records who was tried. */
function forwarder(outcome: (id: string) => Error | number) {
  const f: Forwarder<TestExchange> & { tried: string[]; gate: Promise<void> | undefined } = {
    tried: [],
    gate: undefined,
    maxAttempts: 2,
    send: async (ex, target) => {
      f.tried.push(target.id);
      if (f.gate !== undefined) await f.gate;
      const result = outcome(target.id);
      if (result instanceof Error) throw result;
      ex.status = result;
    },
    mapError: (_ex, err) => toGwError(err),
    mayRetry: (_ex, error) => error.code === 'GW_ERR_UPSTREAM_CONNECT',
    clientGone: () => false,
    answeredFailure: (ex) => ex.status >= 500,
  };
  return f;
}

async function send(up: UpstreamRuntime, f: Forwarder<TestExchange>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await tryTargets(up, new TestExchange(), f).catch(() => undefined);
}

async function failure(promise: Promise<void>): Promise<GwError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof GwError);
    return err;
  }
  assert.fail('expected a failure');
}

const ids = (targets: readonly TargetRuntime[]) => targets.map((t) => t.id);

describe('breakers per target', () => {
  it('opens the circuit of a failing target only, takes it out of rotation, and logs it naming the target', async () => {
    const { up, log, sweeper, breakers, target } = setup([A, B, C]);
    const f = forwarder((id) => (id === B ? 500 : 200));
    // Round robin: B gets every third request; two 500s of two calls open its circuit.
    await send(up, f, 6);
    assert.equal(f.tried.filter((id) => id === B).length, 2);
    assert.deepEqual(log, [
      `upstream app: target ${B}: circuit open, 2 of 2 calls failed in 10 s; open for 1 s`,
    ]);
    assert.equal(target(B).circuitOpen, true);
    assert.equal(breakers.breakerOf(target(A))?.state, 'closed');
    assert.deepEqual(ids(up.state.serving), [A, C]);
    assert.equal(sweeper.size, 1, 'one sweep task while a circuit is open');
    f.tried.length = 0;
    await send(up, f, 20);
    assert.ok(!f.tried.includes(B), 'no traffic while open');
    assert.equal(f.tried.length, 20, 'one attempt each');
  });

  it('turns half-open when its time is up, back in rotation; a successful probe closes it', async () => {
    const { up, log, clock, sweeper, target } = setup([A, B, C]);
    let bBroken = true;
    const f = forwarder((id) => (id === B && bBroken ? 500 : 200));
    await send(up, f, 6);
    assert.equal(target(B).circuitOpen, true);
    clock.advance(999);
    sweeper.tick();
    assert.deepEqual(ids(up.state.serving), [A, C], 'not before its time');
    // The next sweep after its time (one sweep period, 50 ms here, at most late).
    clock.advance(50);
    sweeper.tick();
    assert.equal(
      log.at(-1),
      `upstream app: target ${B}: circuit half-open: letting 1 probe through`,
    );
    assert.equal(target(B).circuitOpen, false);
    assert.deepEqual(ids(up.state.serving), [A, B, C]);
    assert.equal(sweeper.size, 0, 'the sweep stops once no circuit is open');
    bBroken = false;
    f.tried.length = 0;
    await send(up, f, 3);
    assert.ok(f.tried.includes(B));
    assert.equal(log.at(-1), `upstream app: target ${B}: circuit closed: 1 probe succeeded`);
  });

  it('a half-open target with its probes out is skipped without counting an attempt', async () => {
    const { up, clock, sweeper, breakers, target } = setup([A, B]);
    const f = forwarder((id) => (id === B ? 500 : 200));
    await send(up, f, 4);
    assert.equal(target(B).circuitOpen, true);
    clock.advance(1000);
    sweeper.tick();
    // B's one probe is held in flight; while it is, every pick of B is refused and re-picked.
    let release = (): void => undefined;
    f.gate = new Promise<void>((resolve) => (release = resolve));
    const exchanges: TestExchange[] = [];
    const running: Promise<void>[] = [];
    for (let i = 0; i < 4; i++) {
      const ex = new TestExchange();
      exchanges.push(ex);
      running.push(tryTargets(up, ex, f).catch(() => undefined));
    }
    assert.equal(breakers.breakerOf(target(B))?.probesInFlight, 1);
    assert.deepEqual(f.tried.slice(-4).sort(), [A, A, A, B]);
    assert.deepEqual(
      exchanges.map((ex) => ex.attempts),
      [1, 1, 1, 1],
      'a refusal is no attempt',
    );
    release();
    await Promise.all(running);
    // The probe failed: open again, for twice as long, and out of rotation.
    assert.equal(breakers.breakerOf(target(B))?.state, 'open');
    assert.equal(breakers.breakerOf(target(B))?.retryInMs(), 2000);
    assert.deepEqual(ids(up.state.serving), [A]);
  });

  it('a failed attempt, then only refusing circuits: the failure is the answer', async () => {
    const { up, clock, sweeper, target } = setup([A, B]);
    await send(
      up,
      forwarder((id) => (id === B ? 500 : 200)),
      4,
    );
    clock.advance(1000);
    sweeper.tick();
    assert.equal(target(B).circuitOpen, false, 'half-open, in rotation');
    // B's one probe is held in flight (two picks at most land on it).
    let release = (): void => undefined;
    const gated = forwarder(() => 200);
    gated.gate = new Promise<void>((resolve) => (release = resolve));
    const running: Promise<void>[] = [];
    while (!gated.tried.includes(B) && running.length < 2) {
      running.push(tryTargets(up, new TestExchange(), gated));
    }
    assert.ok(gated.tried.includes(B));
    // A refuses connections and B's circuit refuses the retry: A's failure is thrown.
    const refused = forwarder((id) => (id === A ? upstreamConnect(id, 'refused') : 200));
    const err = await failure(tryTargets(up, new TestExchange(), refused));
    assert.equal(err.code, 'GW_ERR_UPSTREAM_CONNECT');
    assert.deepEqual(refused.tried, [A]);
    release();
    await Promise.all(running);
  });

  it('every circuit open: GW_ERR_CIRCUIT_OPEN without touching a target (panic mode or not)', async () => {
    for (const panicThreshold of [0.5, 0]) {
      const { up, log } = setup([A, B], { panicThreshold });
      const f = forwarder(() => 500);
      await send(up, f, 4);
      assert.equal(up.state.targetBreakers?.openCount, 2, log.join('\n'));
      assert.deepEqual(ids(up.state.serving), panicThreshold === 0 ? [] : [A, B]);
      const sent = f.tried.length;
      const ex = new TestExchange();
      const err = await failure(tryTargets(up, ex, f));
      assert.equal(err.code, 'GW_ERR_CIRCUIT_OPEN');
      assert.equal(err.httpStatus, 503);
      assert.equal(grpcStatusOf(err.code), 14);
      assert.match(
        err.message,
        /^upstream app: circuit open \(every target's circuit is open \(2 of 2\); retry in 1 s\)$/,
      );
      assert.equal(f.tried.length, sent, 'nothing was sent');
      assert.equal(ex.attempts, 0);
    }
  });

  it('an upstream with no target still answers GW_ERR_NO_TARGET', async () => {
    const { up } = setup([A]);
    await up.state.setTargets([]);
    const err = await failure(
      tryTargets(
        up,
        new TestExchange(),
        forwarder(() => 200),
      ),
    );
    assert.equal(err.code, 'GW_ERR_NO_TARGET');
  });

  it('keeps each staying target’s breaker across reloads with the same settings, forgets dropped ones', async () => {
    const { up, breakers, registry, target, sweeper, log } = setup([A, B, C]);
    const f = forwarder((id) => (id === B ? 500 : 200));
    await send(up, f, 6);
    const a = breakers.breakerOf(target(A));
    registry.reconcile(configOf([A, B, C], { circuitBreaker: { ...BREAKER } }));
    assert.equal(up.state.targetBreakers, breakers, 'same settings: the same breakers');
    assert.equal(breakers.breakerOf(target(A)), a);
    assert.equal(target(B).circuitOpen, true);
    assert.deepEqual(ids(up.state.serving), [A, C]);

    // B leaves the upstream: its breaker is forgotten, and the sweep stops.
    const b = target(B);
    registry.reconcile(configOf([A, C], { circuitBreaker: BREAKER }));
    assert.equal(breakers.breakerOf(b), undefined);
    assert.equal(breakers.openCount, 0);
    assert.equal(sweeper.size, 0);
    assert.equal(up.state.observers.length, 1);

    // Other settings: new breakers, all closed, said once when one was not closed.
    await send(
      up,
      forwarder(() => 500),
      4,
    );
    assert.equal(breakers.openCount, 2);
    assert.equal(up.state.serving.length, 2, 'panic mode: both served');
    registry.reconcile(configOf([A, C], { circuitBreaker: { ...BREAKER, minCalls: 3 } }));
    const next = up.state.targetBreakers;
    assert.ok(next);
    assert.notEqual(next, breakers);
    assert.equal(next.breakerOf(target(A))?.state, 'closed');
    assert.ok(up.targets.every((t) => !t.circuitOpen));
    assert.deepEqual(up.state.observers, [next.observe]);
    assert.equal(
      log.at(-1),
      "upstream app: circuit breaker settings changed; every target's circuit closed again",
    );

    // One breaker for the whole upstream instead: per-target ones go.
    registry.reconcile(configOf([A, C], { circuitBreaker: { ...BREAKER, perTarget: false } }));
    assert.equal(up.state.targetBreakers, undefined);
    assert.ok(up.state.breaker !== undefined);
    assert.deepEqual(up.state.observers, [up.state.breaker.observe]);
    // No breaker at all: nothing listens, nothing to test per request.
    registry.reconcile(configOf([A, C]));
    assert.equal(up.state.targetBreakers, undefined);
    assert.equal(up.state.breaker, undefined);
    assert.equal(up.state.observers.length, 0);
  });

  it('the config dropping it returns open targets to rotation at once', async () => {
    const { up, registry, target, sweeper, log } = setup([A, B, C]);
    await send(
      up,
      forwarder((id) => (id === B ? 500 : 200)),
      6,
    );
    assert.equal(target(B).circuitOpen, true);
    registry.reconcile(configOf([A, B, C]));
    assert.equal(target(B).circuitOpen, false);
    assert.deepEqual(ids(up.state.serving), [A, B, C]);
    assert.equal(sweeper.size, 0);
    assert.equal(
      log.at(-1),
      'upstream app: per-target circuit breakers removed; every target back in rotation',
    );
  });
});
