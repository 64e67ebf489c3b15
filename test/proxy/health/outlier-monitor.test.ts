import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { configureOutliers, outlierMonitorOf } from '../../../src/proxy/health/outlier-monitor.js';
import {
  OUTLIER_DEFAULTS,
  type OutlierSettings,
} from '../../../src/proxy/health/outlier-schema.js';
import { L7Exchange } from '../../../src/proxy/pipeline/types.js';
import { TargetRegistry } from '../../../src/proxy/upstream/target-registry.js';
import { tryTargets, type Forwarder } from '../../../src/proxy/upstream/try-targets.js';
import type {
  TargetRuntime,
  UpstreamRuntime,
} from '../../../src/proxy/upstream/upstream-runtime.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { toGwError, upstreamConnect, upstreamReset } from '../../../src/shared/errors.js';
import { Sweeper } from '../../../src/shared/sweeper.js';

// The monitor between attempts and the balancer: real UpstreamState and tryTargets, fake sends,
// a ManualClock and a sweeper ticked by hand (no timers, no sleeps).

const A = '127.0.0.1:9001';
const B = '127.0.0.1:9002';
const C = '127.0.0.1:9003';

function rawConfig(targets: string[], extra: Record<string, unknown> = {}) {
  return {
    listeners: [
      { name: 'web', protocol: 'http', listen: '127.0.0.1:8080', routes: [{ upstream: 'app' }] },
    ],
    upstreams: [{ name: 'app', balance: 'round-robin', targets, ...extra }],
  };
}

function setup(targets: string[], extra: Partial<OutlierSettings> = {}) {
  const log: string[] = [];
  const registry = new TargetRegistry((line) => log.push(line));
  const config = parseConfig(rawConfig(targets), 'test.yaml');
  const up = registry.reconcile(config.upstreams).upstreams.get('app');
  assert.ok(up);
  // On the monotonic scale, so the targets' times compare with the state's own.
  const clock = new ManualClock(performance.now());
  const sweeper = new Sweeper(clock);
  const settings: OutlierSettings = {
    ...OUTLIER_DEFAULTS,
    consecutiveFailures: 3,
    baseEjectionMs: 1000,
    maxEjectionMs: 10_000,
    ...extra,
  };
  const monitor = configureOutliers(up.state, settings, clock, sweeper);
  assert.ok(monitor);
  const target = (id: string): TargetRuntime => {
    const t = up.targets.find((x) => x.id === id);
    assert.ok(t);
    return t;
  };
  return { up, log, clock, sweeper, monitor, target, registry };
}

class TestExchange extends L7Exchange {
  constructor() {
    super({
      kind: 'http',
      listener: 'web',
      clientIp: '10.0.0.1',
      method: 'POST',
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

/** A forwarder where each target id answers a status or throws; records who was tried. */
function forwarder(outcome: (id: string) => Error | number): Forwarder<TestExchange> & {
  tried: string[];
} {
  const tried: string[] = [];
  return {
    tried,
    maxAttempts: 2,
    send: (ex, target) => {
      tried.push(target.id);
      const result = outcome(target.id);
      if (result instanceof Error) return Promise.reject(result);
      ex.status = result;
      return Promise.resolve();
    },
    mapError: (_ex, err) => toGwError(err),
    mayRetry: (_ex, error) => error.code === 'GW_ERR_UPSTREAM_CONNECT',
    clientGone: () => false,
    answeredFailure: (ex) => ex.status >= 500,
  };
}

async function send(up: UpstreamRuntime, f: Forwarder<TestExchange>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await tryTargets(up, new TestExchange(), f).catch(() => undefined);
}

describe('OutlierMonitor', () => {
  it('ejects a failing target from the balancer, logs it once, and brings it back when due', async () => {
    const { up, log, clock, sweeper, target } = setup([A, B, C]);
    const f = forwarder((id) => (id === B ? 500 : 200));
    // Round robin: B gets every third request; three 500s eject it.
    await send(up, f, 9);
    assert.equal(f.tried.filter((id) => id === B).length, 3);
    assert.deepEqual(log, [
      `upstream app: ${B} ejected for 1 s: 3 consecutive 5xx answers (ejection 1)`,
    ]);
    assert.ok(target(B).ejectedUntilMs > clock.nowMs());
    assert.deepEqual(
      up.state.serving.map((t) => t.id),
      [A, C],
    );
    assert.equal(sweeper.size, 1, 'one sweep task while a target is ejected');

    f.tried.length = 0;
    await send(up, f, 20);
    assert.ok(!f.tried.includes(B), 'no traffic while ejected');

    clock.advance(999);
    sweeper.tick();
    assert.equal(up.state.serving.length, 2, 'not before its time');
    // The next sweep after its time (one sweep period, 50 ms here, at most late).
    clock.advance(50);
    sweeper.tick();
    assert.equal(log.at(-1), `upstream app: ${B} back in service`);
    assert.equal(log.length, 2);
    assert.equal(target(B).ejectedUntilMs, 0);
    assert.equal(up.state.serving.length, 3);
    assert.equal(sweeper.size, 0, 'the sweep stops once nothing is ejected');
    f.tried.length = 0;
    await send(up, f, 3);
    assert.ok(f.tried.includes(B), 'traffic again');
  });

  it('a retry never lands on an ejected target (the balancer holds only available ones)', async () => {
    const { up, target } = setup([A, B, C], { consecutiveFailures: 1 });
    // A fails to connect once: ejected. Every later request that fails on C retries on B only.
    const first = forwarder((id) => (id === A ? upstreamConnect(id, 'refused') : 200));
    await send(up, first, 3);
    assert.ok(target(A).ejectedUntilMs > 0);
    const f = forwarder((id) => (id === C ? upstreamConnect(id, 'refused') : 200));
    // C gets ejected at its first failure too (cap 0.5 of 3 = 1: refused while A is out).
    await send(up, f, 30);
    assert.ok(!f.tried.includes(A), `ejected A was tried: ${f.tried.join(' ')}`);
    const retries = f.tried.filter((id, i) => id === B && f.tried[i - 1] === C);
    assert.ok(retries.length > 0, 'a failure on C was retried on B');
  });

  it('the cap keeps a second failing target in service and says so once', async () => {
    const { up, log, target } = setup([A, B, C], { maxEjectedShare: 0.34 });
    const f = forwarder((id) => (id === C ? 200 : upstreamReset(id, 'boom')));
    await send(up, f, 30);
    const ejected = [A, B].filter((id) => target(id).ejectedUntilMs > 0);
    assert.equal(ejected.length, 1);
    assert.equal(log.filter((l) => l.includes(' ejected for ')).length, 1);
    const capped = log.filter((l) => l.includes('not ejected'));
    assert.equal(capped.length, 1, log.join('\n'));
    assert.match(capped[0] ?? '', /3 consecutive resets, but 1 of 3 targets are ejected already/);
    assert.equal(up.state.serving.length, 2);
  });

  it('keeps its state across a config reload, and returns every target when the config drops it', () => {
    const log: string[] = [];
    const registry = new TargetRegistry((line) => log.push(line));
    const withOutliers = parseConfig(
      rawConfig([A, B], { outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 60_000 } }),
      'test.yaml',
    );
    const up = registry.reconcile(withOutliers.upstreams).upstreams.get('app');
    assert.ok(up);
    const monitor = outlierMonitorOf(up.state);
    assert.ok(monitor);
    assert.equal(up.state.observers.length, 1);
    const b = up.targets[1];
    assert.ok(b);
    for (const observe of up.state.observers) {
      observe({
        upstream: 'app',
        target: b,
        exchange: new TestExchange(),
        outcome: 'timeout',
        durationMs: 5,
        error: undefined,
      });
    }
    assert.ok(b.ejectedUntilMs > performance.now());
    assert.deepEqual(
      up.state.serving.map((t) => t.id),
      [A],
    );

    // The same config again (a reload): same monitor, one observer, B still out.
    const again = registry.reconcile(withOutliers.upstreams).upstreams.get('app');
    assert.equal(again?.state, up.state);
    assert.equal(outlierMonitorOf(up.state), monitor);
    assert.equal(up.state.observers.length, 1);
    assert.ok(b.ejectedUntilMs > performance.now());
    assert.deepEqual(
      up.state.serving.map((t) => t.id),
      [A],
    );

    // A config without outlierDetection: no observer, B back at once.
    registry.reconcile(parseConfig(rawConfig([A, B]), 'test.yaml').upstreams);
    assert.equal(outlierMonitorOf(up.state), undefined);
    assert.equal(up.state.observers.length, 0);
    assert.equal(b.ejectedUntilMs, 0);
    assert.equal(up.state.serving.length, 2);
    assert.equal(log.at(-1), `upstream app: ${B} back in service (outlier detection is off)`);
  });

  it('forgets a target the upstream dropped', async () => {
    const { up, monitor, sweeper, clock } = setup([A, B, C], { consecutiveFailures: 1 });
    const f = forwarder((id) => (id === A ? upstreamConnect(id, 'refused') : 200));
    await send(up, f, 1);
    assert.deepEqual(
      monitor.detector.ejected().map((t) => t.id),
      [A],
    );
    await up.state.setTargets(
      up.targets
        .filter((t) => t.id !== A)
        .map((t) => ({ id: t.id, address: t.address, weight: 1 })),
    );
    clock.advance(50);
    sweeper.tick();
    assert.deepEqual(monitor.detector.ejected(), []);
    assert.equal(sweeper.size, 0);
  });
});
