import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HealthMonitor, syncMonitor } from '../../../src/proxy/health/monitor.js';
import type { ProbeResult } from '../../../src/proxy/health/active-state.js';
import type { ProbeAddress } from '../../../src/proxy/health/probe.js';
import { resolveHealthCheck } from '../../../src/proxy/health/schema.js';
import { TargetRuntime } from '../../../src/proxy/upstream/target-runtime.js';

const SETTINGS = { tls: false, timeouts: { connectMs: 100, headerMs: 100, idleMs: 100 } };
const CHECK = resolveHealthCheck({
  type: 'tcp',
  intervalMs: 10,
  unhealthyIntervalMs: 10,
  jitterMs: 0,
  timeoutMs: 50,
  unhealthyThreshold: 2,
  healthyThreshold: 2,
});

function target(port: number): TargetRuntime {
  return new TargetRuntime(`127.0.0.1:${port}`, { host: '127.0.0.1', port }, 1, SETTINGS);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fake upstream and a probe whose answer per port the test sets. */
function harness() {
  const log: string[] = [];
  let refreshes = 0;
  const probed: number[] = [];
  const answers = new Map<number, ProbeResult>();
  const upstream = {
    name: 'api',
    log: (line: string) => log.push(line),
    refreshAvailability: () => {
      refreshes++;
      return true;
    },
  };
  const probe = (_check: unknown, address: ProbeAddress): Promise<ProbeResult> => {
    probed.push(address.port);
    return Promise.resolve(answers.get(address.port) ?? { ok: true });
  };
  return { log, probed, answers, upstream, probe, refreshes: () => refreshes };
}

async function until(test: () => boolean, ms = 2000): Promise<void> {
  const end = performance.now() + ms;
  while (!test()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('HealthMonitor', () => {
  it('sets the verdict on the target, refreshes the upstream once per transition, logs it', async () => {
    const h = harness();
    const monitor = new HealthMonitor(h.upstream, CHECK, false, {
      probe: h.probe,
      random: () => 0,
    });
    const a = target(1);
    const b = target(2);
    monitor.follow([a, b]);
    await until(() => h.probed.filter((p) => p === 1).length >= 2);
    h.answers.set(1, { ok: false, kind: 'connect', reason: 'connect ECONNREFUSED' });
    await until(() => !a.healthy);
    assert.equal(b.healthy, true);
    assert.equal(h.refreshes(), 1);
    assert.deepEqual(h.log, [
      'upstream api: 127.0.0.1:1 unhealthy: 2 consecutive failed checks on tcp connect, last: connect ECONNREFUSED',
    ]);
    h.answers.delete(1);
    await until(() => a.healthy);
    assert.equal(h.refreshes(), 2);
    assert.equal(
      h.log[1],
      'upstream api: 127.0.0.1:1 healthy again: 2 consecutive passed checks on tcp connect',
    );
    monitor.close();
  });

  it('stops probing a target that left, and everything on close', async () => {
    const h = harness();
    const monitor = new HealthMonitor(h.upstream, CHECK, false, {
      probe: h.probe,
      random: () => 0,
    });
    const a = target(1);
    const b = target(2);
    monitor.follow([a, b]);
    await until(() => h.probed.includes(2));
    monitor.follow([a]);
    await sleep(20);
    const count = h.probed.filter((p) => p === 2).length;
    await sleep(60);
    assert.equal(h.probed.filter((p) => p === 2).length, count);
    assert.ok(monitor.stateOf(a) !== undefined && monitor.stateOf(b) === undefined);
    monitor.close();
    await sleep(20);
    const total = h.probed.length;
    await sleep(60);
    assert.equal(h.probed.length, total);
  });

  it('syncMonitor keeps the monitor (and verdicts) across settings; dropping the check releases targets', async () => {
    const h = harness();
    h.answers.set(1, { ok: false, kind: 'timeout', reason: 'timeout after 50 ms' });
    const options = { probe: h.probe, random: () => 0 };
    const first = syncMonitor(undefined, h.upstream, CHECK, false, options);
    assert.ok(first);
    const a = target(1);
    first.follow([a]);
    await until(() => !a.healthy);
    assert.match(
      h.log[0] ?? '',
      /unhealthy: first check failed on tcp connect: timeout after 50 ms$/,
    );
    const same = syncMonitor(first, h.upstream, { ...CHECK, timeoutMs: 60 }, false, options);
    assert.equal(same, first);
    same.follow([a]);
    assert.equal(a.healthy, false, 'a target that remains keeps its verdict');
    assert.equal(syncMonitor(same, h.upstream, undefined, false, options), undefined);
    assert.equal(a.healthy, true);
    assert.match(h.log.at(-1) ?? '', /health checks off/);
  });
});
