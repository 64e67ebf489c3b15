import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/shared/clock.js';
import { breakerSchema, breakerText } from '../../../src/proxy/breaker/schema.js';
import {
  CircuitBreaker,
  transitionText,
  type BreakerTransition,
} from '../../../src/proxy/breaker/state.js';

// The breaker's state machine on a hand-moved clock: no sockets, no sleeps.

function setup(file: Record<string, unknown>) {
  const settings = breakerSchema.parse(file);
  const clock = new ManualClock(1_000);
  const transitions: BreakerTransition[] = [];
  const lines: string[] = [];
  const breaker = new CircuitBreaker<object>(settings, clock, (t) => {
    transitions.push(t);
    lines.push(transitionText(t, settings));
  });
  return { settings, clock, breaker, transitions, lines };
}

/** One call through the breaker: allowed or not; when allowed, it ends with `outcome`. */
function call(
  breaker: CircuitBreaker<object>,
  outcome: 'ok' | 'status-5xx' | 'timeout' | 'aborted' = 'ok',
  durationMs = 1,
): boolean {
  const key = {};
  if (!breaker.allow(key)) return false;
  breaker.record(key, outcome, durationMs);
  return true;
}

describe('circuitBreaker schema', () => {
  it('fills in the defaults: a 10 s window, 50%, 20 calls, 5 s open, 3 probes', () => {
    const s = breakerSchema.parse({});
    assert.deepEqual(s, {
      failureRate: 0.5,
      minCalls: 20,
      windowMs: 10_000,
      on: ['connect-failed', 'timeout', 'reset', 'status-5xx'],
      openMs: 5_000,
      maxOpenMs: 60_000,
      halfOpenCalls: 3,
      halfOpenTimeoutMs: 10_000,
      perTarget: false,
    });
    assert.match(breakerText(s), /^breaker: open at ≥ 0.5 .* in 10 s \(min 20 calls\)/);
  });

  it('refuses both windows, a lone slowCallMs, maxOpenMs under openMs, a share above 1, a non-boolean perTarget', () => {
    for (const bad of [
      { windowMs: 1000, windowCalls: 10 },
      { slowCallMs: 100 },
      { slowCallRate: 0.5 },
      { openMs: 5000, maxOpenMs: 1000 },
      { failureRate: 1.5 },
      { perTarget: 'yes' },
      { on: ['aborted'] },
    ]) {
      assert.equal(breakerSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
    assert.equal(breakerSchema.parse({ windowCalls: 10 }).windowMs, undefined);
  });
});

describe('CircuitBreaker: closed → open', () => {
  it('opens once the window holds minCalls and the failed share reaches failureRate', () => {
    const { breaker, transitions, lines } = setup({ failureRate: 0.5, minCalls: 10 });
    for (let i = 0; i < 4; i++) call(breaker, 'ok');
    // 5 failures of 9: over 50% but under minCalls.
    for (let i = 0; i < 5; i++) call(breaker, 'status-5xx');
    assert.equal(breaker.state, 'closed');
    call(breaker, 'timeout');
    assert.equal(breaker.state, 'open');
    assert.deepEqual(transitions, [
      { to: 'open', cause: 'failures', calls: 10, failed: 6, slow: 0, openMs: 5_000, trip: 1 },
    ]);
    assert.deepEqual(lines, ['circuit open, 6 of 10 calls failed in 10 s; open for 5 s']);
    assert.equal(call(breaker), false, 'an open circuit refuses at once');
    assert.match(breaker.refusal(), /^6 of 10 calls failed in 10 s; retry in 5 s$/);
  });

  it('stays closed under failureRate, and ignores aborted calls and outcomes not in `on`', () => {
    const { breaker } = setup({ failureRate: 0.5, minCalls: 4, on: ['status-5xx'] });
    for (let i = 0; i < 4; i++) call(breaker, 'ok');
    // 1 failure in 3 calls: under 50% all along.
    for (let i = 0; i < 30; i++) call(breaker, i % 3 === 0 ? 'status-5xx' : 'ok');
    for (let i = 0; i < 20; i++) call(breaker, 'timeout');
    for (let i = 0; i < 20; i++) call(breaker, 'aborted');
    assert.equal(breaker.state, 'closed');
  });

  it('forgets calls older than windowMs (a ring of time buckets)', () => {
    const { breaker, clock } = setup({ failureRate: 0.5, minCalls: 10, windowMs: 1000 });
    for (let i = 0; i < 9; i++) call(breaker, 'status-5xx');
    clock.advance(1001);
    // The 9 failures left the window: one more is 1 of 1, under minCalls.
    call(breaker, 'status-5xx');
    assert.equal(breaker.state, 'closed');
    clock.advance(500);
    for (let i = 0; i < 8; i++) call(breaker, 'status-5xx');
    assert.equal(breaker.state, 'closed');
    call(breaker, 'status-5xx');
    assert.equal(breaker.state, 'open', '10 failures within 1 s open it');
  });

  it('with windowCalls, counts the last N calls only', () => {
    const { breaker, lines } = setup({ failureRate: 0.5, minCalls: 4, windowCalls: 4 });
    // f f ok ok ok ok: the two failures roll out of the last 4.
    call(breaker, 'status-5xx');
    call(breaker, 'ok');
    for (let i = 0; i < 4; i++) call(breaker, 'ok');
    assert.equal(breaker.state, 'closed');
    call(breaker, 'status-5xx');
    assert.equal(breaker.state, 'closed', '1 of the last 4');
    call(breaker, 'status-5xx');
    assert.equal(breaker.state, 'open', '2 of the last 4 is 50%');
    assert.deepEqual(lines, ['circuit open, 2 of the last 4 calls failed; open for 5 s']);
  });

  it('opens on slow calls at slowCallRate', () => {
    const { breaker, transitions } = setup({
      failureRate: 1,
      minCalls: 5,
      slowCallMs: 100,
      slowCallRate: 0.6,
    });
    for (let i = 0; i < 2; i++) call(breaker, 'ok', 5);
    for (let i = 0; i < 2; i++) call(breaker, 'ok', 150);
    assert.equal(breaker.state, 'closed');
    call(breaker, 'ok', 100);
    assert.equal(breaker.state, 'open');
    assert.equal(transitions[0]?.to === 'open' && transitions[0].cause, 'slow');
  });
});

describe('CircuitBreaker: open → half-open → closed or open again', () => {
  function opened(extra: Record<string, unknown> = {}) {
    const t = setup({
      failureRate: 0.5,
      minCalls: 2,
      openMs: 1000,
      maxOpenMs: 3000,
      halfOpenCalls: 2,
      ...extra,
    });
    call(t.breaker, 'status-5xx');
    call(t.breaker, 'status-5xx');
    assert.equal(t.breaker.state, 'open');
    return t;
  }

  it('turns half-open after openMs, lets halfOpenCalls probes through, and closes when all succeed', () => {
    const { breaker, clock, lines } = opened();
    clock.advance(999);
    assert.equal(breaker.allow({}), false);
    clock.advance(1);
    const a = {};
    const b = {};
    assert.equal(breaker.allow(a), true);
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.allow(b), true);
    assert.equal(breaker.allow({}), false, 'a third call waits for the probes');
    assert.match(breaker.refusal(), /half-open/);
    // A call admitted before the trip that ends now is not a probe.
    breaker.record({}, 'ok', 1);
    breaker.record(a, 'ok', 1);
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.allow({}), false, 'probes already succeeded still count');
    breaker.record(b, 'ok', 1);
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(lines.slice(1), [
      'circuit half-open: letting 2 probes through',
      'circuit closed: 2 probes succeeded',
    ]);
    // Closed again with a clean window and the first open time.
    call(breaker, 'status-5xx');
    assert.equal(breaker.state, 'closed', 'the window was cleared');
    call(breaker, 'status-5xx');
    assert.equal(breaker.retryInMs(), 1000);
  });

  it('reopens on one failed probe, for twice as long each trip in a row, capped at maxOpenMs', () => {
    const { breaker, clock, transitions } = opened();
    const openTimes: number[] = [];
    for (let trip = 0; trip < 3; trip++) {
      openTimes.push(breaker.retryInMs());
      clock.advance(breaker.retryInMs());
      assert.equal(call(breaker, 'connect-failed' as 'timeout'), true);
      assert.equal(breaker.state, 'open');
    }
    openTimes.push(breaker.retryInMs());
    assert.deepEqual(openTimes, [1000, 2000, 3000, 3000]);
    assert.deepEqual(
      transitions.flatMap((t) => (t.to === 'open' ? [t.cause] : [])),
      ['failures', 'probe-failed', 'probe-failed', 'probe-failed'],
    );
  });

  it('counts a probe that outlasts halfOpenTimeoutMs as failed, so half-open cannot stick', () => {
    const { breaker, clock, lines } = opened({ halfOpenTimeoutMs: 500 });
    clock.advance(1000);
    const hung = {};
    assert.equal(breaker.allow(hung), true);
    assert.equal(breaker.allow({}), true);
    assert.equal(breaker.allow({}), false);
    clock.advance(499);
    assert.equal(breaker.allow({}), false);
    assert.equal(breaker.state, 'half-open');
    clock.advance(1);
    assert.equal(breaker.allow({}), false);
    assert.equal(breaker.state, 'open');
    assert.equal(
      lines.at(-1),
      'circuit open, a half-open probe took over 500 ms; open for 2 s (trip 2 in a row)',
    );
    // The hung probe ending later changes nothing.
    breaker.record(hung, 'ok', 600);
    assert.equal(breaker.state, 'open');
  });

  it('settles a probe whose session is established, however long the session then lasts', () => {
    const { breaker, clock, lines } = opened({ halfOpenTimeoutMs: 500 });
    clock.advance(1000);
    const a = {};
    const b = {};
    assert.equal(breaker.allow(a), true);
    assert.equal(breaker.allow(b), true);
    breaker.settleProbe(a);
    breaker.settleProbe(a);
    assert.equal(breaker.state, 'half-open', 'settling one twice counts once');
    breaker.settleProbe(b);
    assert.equal(breaker.state, 'closed');
    assert.equal(lines.at(-1), 'circuit closed: 2 probes succeeded');
    // The sessions go on past halfOpenTimeoutMs: nothing is hung, nothing trips.
    clock.advance(10_000);
    assert.equal(breaker.allow({}), true);
    // Their ends are recorded as any call's, in the closed circuit's window.
    breaker.record(a, 'ok', 10_000);
    breaker.record(b, 'ok', 10_000);
    assert.equal(breaker.state, 'closed');
    // A call that is not a probe is not settled by it.
    breaker.settleProbe({});
    assert.equal(breaker.state, 'closed');
  });

  it('frees the place of a probe whose client left, and fails one that found no target', () => {
    const { breaker, clock } = opened({ halfOpenCalls: 1 });
    clock.advance(1000);
    const left = {};
    assert.equal(breaker.allow(left), true);
    assert.equal(breaker.allow({}), false);
    breaker.record(left, 'aborted', 1);
    const none = {};
    assert.equal(breaker.allow(none), true, 'the aborted probe gave its place back');
    breaker.failProbe(none);
    assert.equal(breaker.state, 'open');
  });
});
