import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leastConn } from '../../../src/proxy/balancers/least-conn.js';
import { sequence, tally, targets } from './helpers.js';

/** A load function reading a mutable table (missing ids are idle). */
function loads(table: Record<string, number>): (id: string) => number {
  return (id) => table[id] ?? 0;
}

describe('least-conn balancer', () => {
  it('picks the target with the fewest requests in flight', () => {
    const balancer = leastConn(targets(['a', 'b', 'c']), { load: loads({ a: 5, b: 2, c: 7 }) });
    assert.deepEqual(sequence(balancer, 5), ['b', 'b', 'b', 'b', 'b']);
  });

  it('follows the load as it changes', () => {
    const table = { a: 0, b: 0, c: 0 };
    const balancer = leastConn(targets(['a', 'b', 'c']), { load: loads(table) });
    // Each pick adds a request in flight to the target chosen; none finish.
    for (let i = 0; i < 30; i++) {
      const id = balancer.pick({})?.id as keyof typeof table;
      table[id]++;
    }
    assert.deepEqual(table, { a: 10, b: 10, c: 10 });
  });

  it('compares load relative to weight', () => {
    // a: 4 / 2 = 2 per unit of weight, b: 3 / 1 = 3.
    const set = targets(['a', 'b'], [2, 1]);
    assert.equal(leastConn(set, { load: loads({ a: 4, b: 3 }) }).pick({})?.id, 'a');
    assert.equal(leastConn(set, { load: loads({ a: 7, b: 3 }) }).pick({})?.id, 'b');
  });

  it('rotates among equally loaded targets instead of always taking the first', () => {
    const balancer = leastConn(targets(['a', 'b', 'c']), { load: loads({ a: 3, b: 3, c: 3 }) });
    assert.deepEqual(sequence(balancer, 6), ['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('rotates only among the tied least loaded', () => {
    const balancer = leastConn(targets(['a', 'b', 'c']), { load: loads({ a: 1, b: 0, c: 0 }) });
    assert.deepEqual(sequence(balancer, 4), ['b', 'c', 'b', 'c']);
  });

  it('rotates without a load function, all targets counting as idle', () => {
    assert.deepEqual(sequence(leastConn(targets(['a', 'b'])), 4), ['a', 'b', 'a', 'b']);
  });

  it('shares ties in proportion to weight, smoothly', () => {
    const balancer = leastConn(targets(['a', 'b', 'c'], [5, 1, 1]));
    assert.deepEqual(sequence(balancer, 7), ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  it('counts a negative or NaN load as 0', () => {
    const balancer = leastConn(targets(['a', 'b', 'c']), { load: loads({ a: 2, b: NaN, c: -4 }) });
    assert.deepEqual(sequence(balancer, 4), ['b', 'c', 'b', 'c']);
  });

  it('skips excluded targets, even the least loaded', () => {
    const balancer = leastConn(targets(['a', 'b', 'c']), { load: loads({ a: 5, b: 0, c: 2 }) });
    assert.equal(balancer.pick({}, new Set(['b']))?.id, 'c');
    assert.deepEqual([...tally(balancer, 10, {}, new Set(['b', 'c'])).keys()], ['a']);
    assert.equal(balancer.pick({}, new Set(['a', 'b', 'c'])), undefined);
  });

  it('keeps rotating fairly among ties while one of them is excluded', () => {
    const balancer = leastConn(targets(['a', 'b', 'c']));
    assert.deepEqual(sequence(balancer, 4, {}, new Set(['a'])), ['b', 'c', 'b', 'c']);
    const counts = tally(balancer, 3000);
    for (const id of ['a', 'b', 'c']) assert.ok(Math.abs((counts.get(id) ?? 0) - 1000) <= 2);
  });

  it('returns undefined for an empty set and after an update to empty', () => {
    assert.equal(leastConn(targets([])).pick({}), undefined);
    const balancer = leastConn(targets(['a']));
    balancer.update([]);
    assert.equal(balancer.pick({}), undefined);
  });

  it('keeps its tie-break state for persisting ids across update()', () => {
    const balancer = leastConn(targets(['a', 'b', 'c']));
    assert.deepEqual(sequence(balancer, 1), ['a']);
    balancer.update(targets(['a', 'b', 'c']));
    assert.deepEqual(sequence(balancer, 3), ['b', 'c', 'a']);
  });
});
