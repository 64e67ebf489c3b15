import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationText, ejectionMs, OutlierDetector } from '../../../src/proxy/health/outlier.js';
import {
  maxEjected,
  OUTLIER_DEFAULTS,
  type OutlierSettings,
} from '../../../src/proxy/health/outlier-schema.js';
import { ManualClock } from '../../../src/shared/clock.js';

// The arithmetic of passive checks with an injected clock: no sockets, no timers, no sleeps.

function settings(extra: Partial<OutlierSettings> = {}): OutlierSettings {
  return {
    ...OUTLIER_DEFAULTS,
    consecutiveFailures: 3,
    baseEjectionMs: 1000,
    maxEjectionMs: 3500,
    ...extra,
  };
}

/** `n` failures of `kind` on `target`; returns the last verdict. */
function fail(
  d: OutlierDetector<string>,
  target: string,
  n: number,
  now: number,
  kind: 'connect-failed' | 'timeout' | 'reset' | 'status-5xx' = 'connect-failed',
  ejectedNow = 0,
  total = 4,
) {
  let verdict;
  for (let i = 0; i < n; i++) verdict = d.observe(target, kind, now, ejectedNow, total);
  return verdict;
}

describe('OutlierDetector: consecutive failures', () => {
  it('ejects at the threshold, not before, and says why', () => {
    const d = new OutlierDetector<string>(settings());
    assert.equal(fail(d, 'a', 2, 0), undefined);
    assert.equal(d.failures('a'), 2);
    const verdict = fail(d, 'a', 1, 0);
    assert.deepEqual(verdict, {
      kind: 'eject',
      untilMs: 1000,
      durationMs: 1000,
      ejection: 1,
      reason: '3 consecutive connect failures',
    });
    assert.equal(d.ejectedUntil('a'), 1000);
    assert.deepEqual(d.ejected(), ['a']);
  });

  it('an ok resets the count; aborted counts nothing either way', () => {
    const d = new OutlierDetector<string>(settings());
    fail(d, 'a', 2, 0);
    d.observe('a', 'aborted', 0, 0, 4);
    assert.equal(d.failures('a'), 2);
    d.observe('a', 'ok', 0, 0, 4);
    assert.equal(d.failures('a'), 0);
    assert.equal(fail(d, 'a', 2, 0), undefined);
    assert.equal(fail(d, 'a', 1, 0)?.kind, 'eject');
  });

  it('counts only the outcomes listed in `on`', () => {
    const d = new OutlierDetector<string>(settings({ on: ['status-5xx'] }));
    assert.equal(fail(d, 'a', 10, 0, 'connect-failed'), undefined);
    assert.equal(fail(d, 'a', 10, 0, 'reset'), undefined);
    assert.equal(d.failures('a'), 0);
    assert.equal(fail(d, 'a', 3, 0, 'status-5xx')?.kind, 'eject');
  });

  it('names mixed failures by kind', () => {
    const d = new OutlierDetector<string>(settings());
    fail(d, 'a', 1, 0, 'reset');
    fail(d, 'a', 1, 0, 'timeout');
    const verdict = fail(d, 'a', 1, 0, 'reset');
    assert.equal(verdict?.kind, 'eject');
    assert.equal(verdict.reason, '3 consecutive failures (2 resets, 1 timeout)');
  });

  it('ignores outcomes while the target is ejected (exchanges that were in flight)', () => {
    const d = new OutlierDetector<string>(settings());
    fail(d, 'a', 3, 0);
    assert.equal(fail(d, 'a', 10, 500), undefined);
    assert.equal(d.failures('a'), 0);
    assert.equal(d.ejectedUntil('a'), 1000);
  });

  it('keeps targets apart', () => {
    const d = new OutlierDetector<string>(settings());
    fail(d, 'a', 2, 0);
    fail(d, 'b', 2, 0);
    d.observe('b', 'ok', 0, 0, 4);
    assert.equal(d.failures('a'), 2);
    assert.equal(d.failures('b'), 0);
  });
});

describe('OutlierDetector: ejection length and return', () => {
  it('lasts baseEjectionMs × n, capped at maxEjectionMs', () => {
    const s = settings();
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => ejectionMs(s, n)),
      [1000, 2000, 3000, 3500, 3500],
    );
    const clock = new ManualClock(0);
    const d = new OutlierDetector<string>(s);
    const lengths: number[] = [];
    for (let i = 0; i < 5; i++) {
      const verdict = fail(d, 'a', 3, clock.nowMs());
      assert.equal(verdict?.kind, 'eject');
      assert.equal(verdict.ejection, Math.min(i + 1, 4));
      lengths.push(verdict.durationMs);
      clock.advance(verdict.durationMs);
      assert.equal(d.release('a', clock.nowMs()), true);
    }
    assert.deepEqual(lengths, [1000, 2000, 3000, 3500, 3500]);
  });

  it('returns the target only once its time is up, and once', () => {
    const clock = new ManualClock(100);
    const d = new OutlierDetector<string>(settings());
    fail(d, 'a', 3, clock.nowMs());
    clock.advance(999);
    assert.equal(d.release('a', clock.nowMs()), false);
    clock.advance(1);
    assert.equal(d.release('a', clock.nowMs()), true);
    assert.equal(d.release('a', clock.nowMs()), false);
    assert.equal(d.ejectedUntil('a'), 0);
    assert.deepEqual(d.ejected(), []);
    // Back with a clean count: one failure does not eject it again.
    assert.equal(fail(d, 'a', 1, clock.nowMs()), undefined);
  });

  it('forgives one ejection per maxEjectionMs in service', () => {
    const clock = new ManualClock(0);
    const d = new OutlierDetector<string>(settings());
    for (let i = 0; i < 3; i++) {
      const verdict = fail(d, 'a', 3, clock.nowMs());
      assert.equal(verdict?.kind, 'eject');
      clock.advance(verdict.durationMs);
      d.release('a', clock.nowMs());
    }
    assert.equal(d.ejections('a', clock.nowMs()), 3);
    clock.advance(3499);
    assert.equal(d.ejections('a', clock.nowMs()), 3);
    clock.advance(1);
    assert.equal(d.ejections('a', clock.nowMs()), 2);
    clock.advance(3500 * 5);
    assert.equal(d.ejections('a', clock.nowMs()), 0);
    // Long in service: the next ejection is a first one again.
    const verdict = fail(d, 'a', 3, clock.nowMs());
    assert.equal(verdict?.kind, 'eject');
    assert.equal(verdict.ejection, 1);
    assert.equal(verdict.durationMs, 1000);
  });

  it('a target failing again soon after it returns is ejected for longer', () => {
    const clock = new ManualClock(0);
    const d = new OutlierDetector<string>(settings());
    fail(d, 'a', 3, 0);
    clock.advance(1000);
    d.release('a', clock.nowMs());
    clock.advance(3000);
    const verdict = fail(d, 'a', 3, clock.nowMs());
    assert.equal(verdict?.kind, 'eject');
    assert.equal(verdict.ejection, 2);
    assert.equal(verdict.durationMs, 2000);
  });

  it('forgets targets that left the upstream', () => {
    const d = new OutlierDetector<string>(settings());
    fail(d, 'a', 3, 0);
    fail(d, 'b', 2, 0);
    d.retain(new Set(['b']));
    assert.equal(d.ejectedUntil('a'), 0);
    assert.deepEqual(d.ejected(), []);
    assert.equal(d.failures('b'), 2);
  });
});

describe('OutlierDetector: the cap on ejected targets', () => {
  it('maxEjected: the share rounded down, at least 1 from two targets, never a lone target', () => {
    assert.equal(maxEjected(0.5, 1), 0);
    assert.equal(maxEjected(1, 1), 0);
    assert.equal(maxEjected(0.5, 2), 1);
    assert.equal(maxEjected(0.1, 2), 1);
    assert.equal(maxEjected(1, 2), 2);
    assert.equal(maxEjected(0.34, 3), 1);
    assert.equal(maxEjected(0.67, 3), 2);
    assert.equal(maxEjected(0.5, 10), 5);
    assert.equal(maxEjected(0.3, 10), 3);
    assert.equal(maxEjected(0, 10), 0);
  });

  it('refuses an ejection beyond the cap, tells it once, and ejects once there is room', () => {
    const d = new OutlierDetector<string>(settings({ maxEjectedShare: 0.34 }));
    assert.equal(fail(d, 'a', 3, 0, 'status-5xx', 0, 3)?.kind, 'eject');
    const capped = fail(d, 'b', 3, 0, 'status-5xx', 1, 3);
    assert.deepEqual(capped, {
      kind: 'capped',
      ejected: 1,
      limit: 1,
      reason: '3 consecutive 5xx answers',
    });
    // Told once per run of failures.
    assert.equal(fail(d, 'b', 1, 0, 'status-5xx', 1, 3), undefined);
    assert.equal(d.ejectedUntil('b'), 0);
    // `a` returns: `b`'s next failure ejects it.
    d.release('a', 1000);
    const verdict = fail(d, 'b', 1, 1000, 'status-5xx', 0, 3);
    assert.equal(verdict?.kind, 'eject');
    assert.equal(verdict.reason, '5 consecutive 5xx answers');
  });

  it('never ejects the only target', () => {
    const d = new OutlierDetector<string>(settings());
    assert.equal(fail(d, 'a', 3, 0, 'reset', 0, 1)?.kind, 'capped');
    assert.equal(d.ejectedUntil('a'), 0);
  });
});

describe('durationText', () => {
  it('reads like the log line', () => {
    assert.equal(durationText(300), '300 ms');
    assert.equal(durationText(30_000), '30 s');
    assert.equal(durationText(1500), '1.5 s');
    assert.equal(durationText(300_000), '5 min');
  });
});
