import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { weighted } from '../../../src/proxy/balancers/weighted.js';
import { longestRun, numbered, sequence, tally, targets } from './helpers.js';

const CYCLE_5_1_1 = ['a', 'a', 'b', 'a', 'c', 'a', 'a'];

/** The largest absolute difference between observed shares and weight shares over `picks`. */
function shareError(weights: readonly number[], picks: number): number {
  const set = numbered(weights.length, weights);
  const counts = tally(weighted(set), picks);
  const total = weights.reduce((sum, w) => sum + w, 0);
  return Math.max(...set.map((t) => Math.abs((counts.get(t.id) ?? 0) / picks - t.weight / total)));
}

describe('weighted balancer (smooth weighted round-robin)', () => {
  it('gives nginx’s sequence a a b a c a a for weights 5, 1, 1, cycle after cycle', () => {
    const balancer = weighted(targets(['a', 'b', 'c'], [5, 1, 1]));
    for (let cycle = 0; cycle < 5; cycle++) assert.deepEqual(sequence(balancer, 7), CYCLE_5_1_1);
  });

  it('spreads a heavy target through the cycle: runs of 2 within a cycle, 4 across two', () => {
    const balancer = weighted(targets(['a', 'b', 'c'], [5, 1, 1]));
    const picks = sequence(balancer, 7000);
    for (let start = 0; start < picks.length; start += 7) {
      assert.equal(longestRun(picks.slice(start, start + 7)), 2);
    }
    // The cycle ends "a a" and the next begins "a a": nginx's own sequence
    // repeated. Naive weighted round-robin (a a a a a b c) gives runs of 5.
    assert.equal(longestRun(picks), 4);
  });

  it('rotates equal weights like round-robin', () => {
    const balancer = weighted(targets(['a', 'b', 'c'], [2, 2, 2]));
    assert.deepEqual(sequence(balancer, 6), ['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('matches the weights within 1% over 100,000 picks', () => {
    for (const weights of [
      [1, 1],
      [3, 1],
      [5, 1, 1],
      [10, 5, 2, 1],
      [100, 1],
      [7, 3, 11, 13],
    ]) {
      assert.ok(shareError(weights, 100_000) < 0.01, `weights ${weights.join(',')}`);
    }
  });

  it('matches arbitrary weights exactly over whole cycles and within 1% over 100,000 picks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 3 }),
        (weights, cycles) => {
          const total = weights.reduce((sum, w) => sum + w, 0);
          const set = numbered(weights.length, weights);
          const counts = tally(weighted(set), cycles * total);
          for (const t of set) assert.equal(counts.get(t.id) ?? 0, cycles * t.weight);
          assert.ok(shareError(weights, 100_000) < 0.01);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('skips an excluded target for that pick only', () => {
    const balancer = weighted(targets(['a', 'b', 'c'], [5, 1, 1]));
    assert.deepEqual(sequence(balancer, 20, {}, new Set(['a'])).includes('a'), false);
    assert.equal(balancer.pick({}, new Set(['a', 'b']))?.id, 'c');
  });

  it('returns undefined when every target is excluded, leaving the sequence untouched', () => {
    const balancer = weighted(targets(['a', 'b', 'c'], [5, 1, 1]));
    const seen = sequence(balancer, 3);
    assert.equal(balancer.pick({}, new Set(['a', 'b', 'c'])), undefined);
    assert.deepEqual([...seen, ...sequence(balancer, 4)], CYCLE_5_1_1);
  });

  it('gives an excluded target no credit: no burst when it comes back', () => {
    const balancer = weighted(targets(['a', 'b', 'c']));
    sequence(balancer, 1000, {}, new Set(['a']));
    const after = sequence(balancer, 3000);
    assert.ok(longestRun(after) <= 2);
    for (const id of ['a', 'b', 'c']) {
      const n = after.filter((x) => x === id).length;
      assert.ok(Math.abs(n - 1000) <= 2, `${id}: ${n}`);
    }
  });

  it('keeps the counters of persisting ids across update()', () => {
    const balancer = weighted(targets(['a', 'b', 'c'], [5, 1, 1]));
    const first = sequence(balancer, 3);
    balancer.update(targets(['c', 'a', 'b'], [1, 5, 1]));
    const rest = sequence(balancer, 4);
    assert.deepEqual(first, ['a', 'a', 'b']);
    // Same counters, new order: only the tie-break order could differ, and there is no tie here.
    assert.deepEqual(rest, ['a', 'c', 'a', 'a']);
  });

  it('starts a new target at 0 and serves it its share', () => {
    const balancer = weighted(targets(['a', 'b'], [1, 1]));
    sequence(balancer, 5);
    balancer.update(targets(['a', 'b', 'c'], [1, 1, 2]));
    const counts = tally(balancer, 4000);
    assert.ok(Math.abs((counts.get('c') ?? 0) - 2000) <= 2);
  });

  it('applies a changed weight from the next pick on', () => {
    const balancer = weighted(targets(['a', 'b'], [1, 1]));
    sequence(balancer, 2);
    balancer.update(targets(['a', 'b'], [3, 1]));
    const counts = tally(balancer, 4000);
    assert.ok(Math.abs((counts.get('a') ?? 0) - 3000) <= 2);
  });

  it('returns undefined once updated to an empty set, and recovers', () => {
    const balancer = weighted(targets(['a', 'b'], [2, 1]));
    balancer.update([]);
    assert.equal(balancer.pick({}), undefined);
    balancer.update(targets(['a', 'b', 'c'], [5, 1, 1]));
    assert.deepEqual(sequence(balancer, 7), CYCLE_5_1_1);
  });
});
