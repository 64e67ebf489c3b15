import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configureBreaker } from '../../../src/proxy/breaker/monitor.js';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { L7Exchange } from '../../../src/proxy/pipeline/types.js';
import { TargetRegistry } from '../../../src/proxy/upstream/target-registry.js';
import { tryTargets, type Forwarder } from '../../../src/proxy/upstream/try-targets.js';
import type { UpstreamRuntime } from '../../../src/proxy/upstream/upstream-runtime.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { GwError, grpcStatusOf, toGwError } from '../../../src/shared/errors.js';

// The breaker wired to an upstream: configured with the upstream (kept across reloads with
// the same settings), asked at the start of tryTargets, fed by the attempt observers.

function configOf(upstream: Record<string, unknown>) {
  return parseConfig(
    {
      listeners: [
        { name: 'web', protocol: 'http', listen: '127.0.0.1:8080', routes: [{ upstream: 'app' }] },
      ],
      upstreams: [{ name: 'app', targets: ['127.0.0.1:9001'], ...upstream }],
    },
    'test.yaml',
  ).upstreams;
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

/** A forwarder answering `status` (after `gate` when given), counting sends. */
function forwarder(status: () => number, gate?: Promise<void>) {
  const f: Forwarder<TestExchange> & { sent: number } = {
    sent: 0,
    maxAttempts: 2,
    send: async (ex) => {
      f.sent++;
      if (gate !== undefined) await gate;
      ex.status = status();
    },
    mapError: (_ex, err) => toGwError(err),
    mayRetry: () => false,
    clientGone: () => false,
    answeredFailure: (ex) => ex.status >= 500,
  };
  return f;
}

const BREAKER = { failureRate: 0.5, minCalls: 2, openMs: 1000, halfOpenCalls: 1 };

/** An upstream with a breaker on a manual clock. */
function upstream(): { up: UpstreamRuntime; clock: ManualClock; log: string[] } {
  const log: string[] = [];
  const registry = new TargetRegistry((line) => log.push(line));
  const up = registry.reconcile(configOf({ circuitBreaker: BREAKER })).upstreams.get('app');
  assert.ok(up);
  const clock = new ManualClock(0);
  const { state } = up;
  state.breaker = configureBreaker(state, state.breaker, undefined);
  state.breaker = configureBreaker(state, undefined, up.config.circuitBreaker, clock);
  return { up, clock, log };
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

describe('breaker monitor', () => {
  it('lives with the upstream: kept on a reload with the same settings, replaced or removed otherwise', () => {
    const registry = new TargetRegistry();
    const first = registry.reconcile(configOf({ circuitBreaker: BREAKER })).upstreams.get('app');
    const breaker = first?.state.breaker;
    assert.ok(breaker);
    assert.deepEqual(first.state.observers, [breaker.observe]);
    const same = registry.reconcile(configOf({ circuitBreaker: { ...BREAKER } })).upstreams;
    assert.equal(same.get('app')?.state.breaker, breaker, 'same settings: the same breaker');
    const changed = registry.reconcile(configOf({ circuitBreaker: { ...BREAKER, minCalls: 3 } }));
    const next = changed.upstreams.get('app')?.state;
    assert.notEqual(next?.breaker, breaker);
    assert.equal(next?.observers.length, 1, 'the old observer left');
    const none = registry.reconcile(configOf({})).upstreams.get('app')?.state;
    assert.equal(none?.breaker, undefined);
    assert.equal(none?.observers.length, 0);
  });

  it('an open circuit throws GW_ERR_CIRCUIT_OPEN before any target is tried', async () => {
    const { up, log } = upstream();
    const failing = forwarder(() => 500);
    await tryTargets(up, new TestExchange(), failing);
    await tryTargets(up, new TestExchange(), failing);
    assert.equal(failing.sent, 2);
    assert.deepEqual(log, [
      'upstream app: circuit open, 2 of 2 calls failed in 10 s; open for 1 s',
    ]);
    const err = await failure(tryTargets(up, new TestExchange(), failing));
    assert.equal(err.code, 'GW_ERR_CIRCUIT_OPEN');
    assert.equal(err.httpStatus, 503);
    assert.equal(grpcStatusOf(err.code), 14);
    assert.match(
      err.message,
      /^upstream app: circuit open \(2 of 2 calls failed in 10 s; retry in 1 s\)$/,
    );
    assert.equal(failing.sent, 2, 'nothing was sent');
  });

  it('half-open: a probe in flight holds the place; its attempt decides', async () => {
    const { up, clock, log } = upstream();
    const failing = forwarder(() => 500);
    await tryTargets(up, new TestExchange(), failing);
    await tryTargets(up, new TestExchange(), failing);
    clock.advance(1000);
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const probe = forwarder(() => 200, gate);
    const running = tryTargets(up, new TestExchange(), probe);
    assert.equal(probe.sent, 1);
    const other = await failure(tryTargets(up, new TestExchange(), probe));
    assert.match(other.message, /half-open/);
    assert.equal(probe.sent, 1);
    release();
    await running;
    assert.equal(up.state.breaker?.breaker.state, 'closed');
    assert.deepEqual(log.slice(1), [
      'upstream app: circuit half-open: letting 1 probe through',
      'upstream app: circuit closed: 1 probe succeeded',
    ]);
    await tryTargets(up, new TestExchange(), probe);
    assert.equal(probe.sent, 2);
  });

  it('a probe that finds no target fails, and the circuit opens again', async () => {
    const { up, clock } = upstream();
    const failing = forwarder(() => 500);
    await tryTargets(up, new TestExchange(), failing);
    await tryTargets(up, new TestExchange(), failing);
    clock.advance(1000);
    await up.state.setTargets([]);
    const err = await failure(tryTargets(up, new TestExchange(), failing));
    assert.equal(err.code, 'GW_ERR_NO_TARGET');
    assert.equal(up.state.breaker?.breaker.state, 'open');
    assert.equal(up.state.breaker.breaker.retryInMs(), 2000);
  });
});
