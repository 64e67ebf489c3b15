import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { p2c } from '../../../src/proxy/balancers/p2c.js';
import { mulberry32, numbered, sequence, tally, targets } from './helpers.js';

const PICKS = 100_000;

describe('p2c balancer (power of two choices)', () => {
  it('never picks the most loaded of three or more targets', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 3, maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 10, maxLength: 10 }),
        fc.integer(),
        (loads, weights, seed) => {
          const set = numbered(loads.length, weights);
          const ratio = (i: number): number => (loads[i] ?? 0) / (weights[i] ?? 1);
          const worst = Math.max(...loads.map((_, i) => ratio(i)));
          const worstIds = set.filter((_, i) => ratio(i) === worst).map((t) => t.id);
          fc.pre(worstIds.length === 1);
          const load = (id: string): number => loads[Number(id.slice(1))] ?? 0;
          const balancer = p2c(set, { random: mulberry32(seed), load });
          assert.equal(tally(balancer, 500).has(worstIds[0] ?? ''), false);
        },
      ),
    );
  });

  it('always picks the less loaded of two targets, so the pair drawn is distinct', () => {
    const balancer = p2c(targets(['a', 'b']), {
      random: mulberry32(5),
      load: (id) => (id === 'a' ? 3 : 0),
    });
    assert.deepEqual([...tally(balancer, 1000).keys()], ['b']);
    const heavy = p2c(targets(['a', 'b'], [100, 1]), {
      random: mulberry32(6),
      load: (id) => (id === 'a' ? 300 : 2),
    });
    assert.deepEqual([...tally(heavy, 1000).keys()], ['b']);
  });

  it('prefers the least loaded clearly over many picks', () => {
    const loads: Record<string, number> = { t0: 10, t1: 0, t2: 10, t3: 10 };
    const balancer = p2c(numbered(4), { random: mulberry32(8), load: (id) => loads[id] ?? 0 });
    const counts = tally(balancer, PICKS);
    // t1 wins every draw it is in: 1 - (3/4)(2/3) = 1/2 of the picks.
    assert.ok(Math.abs((counts.get('t1') ?? 0) / PICKS - 0.5) < 0.01);
  });

  it('spreads picks evenly over equally loaded targets', () => {
    for (const n of [2, 3, 4, 10]) {
      const counts = tally(p2c(numbered(n), { random: mulberry32(n), load: () => 4 }), PICKS);
      assert.equal(counts.size, n);
      for (const [id, count] of counts) assert.ok(Math.abs(count / PICKS - 1 / n) < 0.01, id);
    }
  });

  it('shares idle targets in proportion to their weights', () => {
    const set = targets(['a', 'b', 'c'], [3, 1, 4]);
    const counts = tally(p2c(set, { random: mulberry32(11) }), PICKS);
    for (const t of set) {
      assert.ok(Math.abs((counts.get(t.id) ?? 0) / PICKS - t.weight / 8) < 0.01, t.id);
    }
  });

  it('compares load relative to weight', () => {
    // a: 6 / 3 = 2 per unit of weight, b: 3 / 1 = 3.
    const balancer = p2c(targets(['a', 'b'], [3, 1]), {
      random: mulberry32(12),
      load: (id) => (id === 'a' ? 6 : 3),
    });
    assert.deepEqual([...tally(balancer, 1000).keys()], ['a']);
  });

  it('returns the only target of a set of one', () => {
    assert.deepEqual(sequence(p2c(targets(['a']), { load: () => 9 }), 3), ['a', 'a', 'a']);
  });

  it('draws among the targets not excluded, with weights', () => {
    const set = targets(['a', 'b', 'c', 'd'], [1, 2, 1, 5]);
    const counts = tally(p2c(set, { random: mulberry32(13) }), PICKS, {}, new Set(['d']));
    assert.equal(counts.has('d'), false);
    for (const [id, share] of [
      ['a', 0.25],
      ['b', 0.5],
      ['c', 0.25],
    ] as const) {
      assert.ok(Math.abs((counts.get(id) ?? 0) / PICKS - share) < 0.01, id);
    }
  });

  it('picks the less loaded of the eligible targets when some are excluded', () => {
    const loads: Record<string, number> = { a: 0, b: 5, c: 2 };
    const balancer = p2c(targets(['a', 'b', 'c']), {
      random: mulberry32(14),
      load: (id) => loads[id] ?? 0,
    });
    assert.deepEqual([...tally(balancer, 1000, {}, new Set(['a'])).keys()], ['c']);
    assert.deepEqual([...tally(balancer, 10, {}, new Set(['a', 'c'])).keys()], ['b']);
  });

  it('returns undefined when every target is excluded or there are none', () => {
    assert.equal(p2c(numbered(3)).pick({}, new Set(['t0', 't1', 't2'])), undefined);
    assert.equal(p2c(numbered(0)).pick({}), undefined);
  });

  it('draws from the new set after update(), and none after an update to empty', () => {
    const balancer = p2c(numbered(3), { random: mulberry32(15) });
    balancer.update(targets(['x', 'y'], [1, 3]));
    const counts = tally(balancer, PICKS);
    assert.deepEqual([...counts.keys()].sort(), ['x', 'y']);
    assert.ok(Math.abs((counts.get('y') ?? 0) / PICKS - 0.75) < 0.01);
    balancer.update([]);
    assert.equal(balancer.pick({}), undefined);
  });
});
