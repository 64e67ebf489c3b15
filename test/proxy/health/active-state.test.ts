import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/shared/clock.js';
import {
  ActiveHealthState,
  firstDelayMs,
  type ProbeResult,
  type StateSettings,
} from '../../../src/proxy/health/active-state.js';

const SETTINGS: StateSettings = {
  intervalMs: 1000,
  unhealthyIntervalMs: 250,
  jitterMs: 100,
  timeoutMs: 300,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
};
const OK: ProbeResult = { ok: true };
const TIMEOUT: ProbeResult = { ok: false, kind: 'timeout', reason: 'timeout after 300 ms' };
const STATUS_500: ProbeResult = { ok: false, kind: 'answer', reason: 'status 500' };
const PROBE = 'GET /healthz';

describe('ActiveHealthState', () => {
  it('starts unchecked and serving; a first pass makes it healthy without a transition', () => {
    const s = new ActiveHealthState();
    assert.equal(s.status, 'unchecked');
    assert.equal(s.healthy, true);
    assert.equal(s.record(OK, SETTINGS, PROBE), undefined);
    assert.equal(s.status, 'healthy');
  });

  it('takes a target that fails its first check out at once', () => {
    const s = new ActiveHealthState();
    const t = s.record(
      { ok: false, kind: 'connect', reason: 'connect ECONNREFUSED' },
      SETTINGS,
      PROBE,
    );
    assert.deepEqual(t, {
      to: 'unhealthy',
      reason: 'first check failed on GET /healthz: connect ECONNREFUSED',
    });
    assert.equal(s.healthy, false);
  });

  it('goes unhealthy after exactly unhealthyThreshold consecutive failures, naming timeouts', () => {
    const s = new ActiveHealthState();
    s.record(OK, SETTINGS, PROBE);
    assert.equal(s.record(TIMEOUT, SETTINGS, PROBE), undefined);
    assert.equal(s.record(TIMEOUT, SETTINGS, PROBE), undefined);
    assert.equal(s.healthy, true);
    assert.deepEqual(s.record(TIMEOUT, SETTINGS, PROBE), {
      to: 'unhealthy',
      reason: '3 consecutive timeouts on GET /healthz (300 ms)',
    });
    // Further failures say nothing more.
    assert.equal(s.record(TIMEOUT, SETTINGS, PROBE), undefined);
  });

  it('a pass between failures resets the count', () => {
    const s = new ActiveHealthState();
    s.record(OK, SETTINGS, PROBE);
    s.record(STATUS_500, SETTINGS, PROBE);
    s.record(STATUS_500, SETTINGS, PROBE);
    s.record(OK, SETTINGS, PROBE);
    s.record(STATUS_500, SETTINGS, PROBE);
    s.record(STATUS_500, SETTINGS, PROBE);
    assert.equal(s.healthy, true);
    const t = s.record(TIMEOUT, SETTINGS, PROBE);
    assert.deepEqual(t, {
      to: 'unhealthy',
      reason: '3 consecutive failed checks on GET /healthz, last: timeout after 300 ms',
    });
  });

  it('comes back after healthyThreshold consecutive passes, not before', () => {
    const s = new ActiveHealthState();
    s.record(STATUS_500, SETTINGS, PROBE);
    assert.equal(s.record(OK, SETTINGS, PROBE), undefined);
    s.record(STATUS_500, SETTINGS, PROBE);
    assert.equal(s.record(OK, SETTINGS, PROBE), undefined);
    assert.equal(s.healthy, false);
    assert.deepEqual(s.record(OK, SETTINGS, PROBE), {
      to: 'healthy',
      reason: '2 consecutive passed checks on GET /healthz',
    });
    assert.equal(s.healthy, true);
  });

  it('probes at the interval while healthy, the unhealthy interval while out, plus jitter', () => {
    const s = new ActiveHealthState();
    assert.equal(
      s.nextDelayMs(SETTINGS, () => 0),
      1000,
    );
    assert.equal(
      s.nextDelayMs(SETTINGS, () => 0.999),
      1099,
    );
    s.record(TIMEOUT, SETTINGS, PROBE);
    assert.equal(
      s.nextDelayMs(SETTINGS, () => 0.5),
      300,
    );
    assert.equal(
      s.nextDelayMs({ ...SETTINGS, jitterMs: 0 }, () => 0.5),
      250,
    );
  });

  it('spreads first probes over the jitter (at most one interval)', () => {
    assert.equal(
      firstDelayMs(SETTINGS, () => 0),
      0,
    );
    assert.equal(
      firstDelayMs(SETTINGS, () => 0.5),
      50,
    );
    assert.equal(
      firstDelayMs({ ...SETTINGS, jitterMs: 5000 }, () => 0.5),
      500,
    );
    assert.equal(
      firstDelayMs({ ...SETTINGS, jitterMs: 0 }, () => 0.5),
      0,
    );
  });

  it('driven on a manual clock: a dead target leaves within unhealthyThreshold intervals plus timeouts, returns after healthyThreshold unhealthy intervals', () => {
    const clock = new ManualClock();
    const s = new ActiveHealthState();
    const random = () => 0;
    let alive = true;
    let leftAt: number | undefined;
    let backAt: number | undefined;
    let diedAt = 0;
    let revivedAt = 0;
    let at = firstDelayMs(SETTINGS, random);
    for (let step = 0; step < 100 && backAt === undefined; step++) {
      clock.advance(at - clock.nowMs());
      if (step === 3) {
        alive = false;
        diedAt = clock.nowMs();
      }
      if (leftAt !== undefined && revivedAt === 0 && clock.nowMs() - leftAt > 1000) {
        alive = true;
        revivedAt = clock.nowMs();
      }
      const result = alive ? OK : TIMEOUT;
      if (!alive) clock.advance(SETTINGS.timeoutMs);
      const t = s.record(result, SETTINGS, PROBE);
      if (t?.to === 'unhealthy') leftAt = clock.nowMs();
      if (t?.to === 'healthy') backAt = clock.nowMs();
      at = clock.nowMs() + s.nextDelayMs(SETTINGS, random);
    }
    assert.ok(leftAt !== undefined && backAt !== undefined);
    // Three failed probes: the one at the death plus two intervals, each with its timeout.
    assert.equal(leftAt - diedAt, 2 * SETTINGS.intervalMs + 3 * SETTINGS.timeoutMs);
    // Two passes at the unhealthy interval after revival (the first at most one interval late).
    assert.ok(backAt - revivedAt <= SETTINGS.unhealthyIntervalMs, `${backAt - revivedAt}`);
  });
});
