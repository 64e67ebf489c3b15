import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { random } from '../../../src/proxy/balancers/random.js';
import { mulberry32, numbered, tally, targets } from './helpers.js';

const PICKS = 100_000;

describe('random balancer', () => {
  it('gives each target 1/n of 100,000 picks within 1%', () => {
    for (const n of [2, 3, 5, 10]) {
      const counts = tally(random(numbered(n), { random: mulberry32(n) }), PICKS);
      assert.equal(counts.size, n);
      for (const [id, count] of counts) assert.ok(Math.abs(count / PICKS - 1 / n) < 0.01, id);
    }
  });

  it('ignores weights', () => {
    const counts = tally(
      random(targets(['a', 'b', 'c'], [5, 1, 1]), { random: mulberry32(7) }),
      PICKS,
    );
    for (const id of ['a', 'b', 'c'])
      assert.ok(Math.abs((counts.get(id) ?? 0) / PICKS - 1 / 3) < 0.01);
  });

  it('is reproducible with the same random source', () => {
    const run = (): string[] => {
      const balancer = random(numbered(5), { random: mulberry32(42) });
      return Array.from({ length: 50 }, () => balancer.pick({})?.id ?? '-');
    };
    assert.deepEqual(run(), run());
  });

  it('spreads evenly over the targets not excluded, never an excluded one', () => {
    const balancer = random(numbered(4), { random: mulberry32(3) });
    const counts = tally(balancer, PICKS, {}, new Set(['t1']));
    assert.equal(counts.has('t1'), false);
    for (const id of ['t0', 't2', 't3']) {
      assert.ok(Math.abs((counts.get(id) ?? 0) / PICKS - 1 / 3) < 0.01, id);
    }
  });

  it('returns undefined when every target is excluded or there are none', () => {
    assert.equal(random(numbered(2)).pick({}, new Set(['t0', 't1'])), undefined);
    assert.equal(random(numbered(0)).pick({}), undefined);
  });

  it('maps the ends of the random range to the first and last targets', () => {
    const set = numbered(3);
    assert.equal(random(set, { random: () => 0 }).pick({})?.id, 't0');
    assert.equal(random(set, { random: () => 0.999_999_999 }).pick({})?.id, 't2');
    // A faulty source that returns 1 is clamped, not turned into "no target".
    assert.equal(random(set, { random: () => 1 }).pick({})?.id, 't2');
    assert.equal(random(set, { random: () => 1 }).pick({}, new Set(['t2']))?.id, 't1');
  });

  it('picks from the new set after update(), and none after an update to empty', () => {
    const balancer = random(numbered(3), { random: mulberry32(1) });
    balancer.update(targets(['x', 'y']));
    assert.deepEqual([...tally(balancer, 1000).keys()].sort(), ['x', 'y']);
    balancer.update([]);
    assert.equal(balancer.pick({}), undefined);
  });
});
