import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock, monotonicClock } from '../../src/shared/clock.js';

describe('clock', () => {
  it('ManualClock starts where it is told (0 by default) and moves only when advanced', () => {
    const clock = new ManualClock();
    assert.equal(clock.nowMs(), 0);
    assert.equal(clock.nowMs(), 0, 'reading does not move it');
    clock.advance(250);
    assert.equal(clock.nowMs(), 250);
    clock.advance(0.5);
    assert.equal(clock.nowMs(), 250.5);
    const late = new ManualClock(1_000);
    assert.equal(late.nowMs(), 1_000);
    late.advance(10);
    assert.equal(late.nowMs(), 1_010);
    assert.equal(clock.nowMs(), 250.5, 'each clock keeps its own time');
  });

  it('monotonicClock reads performance.now(), never the wall clock, and never goes back', () => {
    const before = performance.now();
    const reads = Array.from({ length: 1000 }, () => monotonicClock.nowMs());
    const after = performance.now();
    for (let i = 1; i < reads.length; i++) assert.ok((reads[i] ?? 0) >= (reads[i - 1] ?? 0));
    assert.ok((reads[0] ?? -1) >= before && (reads.at(-1) ?? Infinity) <= after);
    // The wall clock is ~1.7e12 ms; performance.now() counts from process start.
    assert.ok((reads[0] ?? Infinity) < Date.now() / 2);
  });
});
