import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { roundRobin } from '../../../src/proxy/balancers/round-robin.js';
import { sequence, targets } from './helpers.js';

describe('round-robin balancer', () => {
  it('rotates through the targets in order, one pick each', () => {
    const balancer = roundRobin(targets(['a', 'b', 'c']));
    assert.deepEqual(sequence(balancer, 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('ignores weights', () => {
    const balancer = roundRobin(targets(['a', 'b', 'c'], [5, 1, 1]));
    assert.deepEqual(sequence(balancer, 6), ['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('skips an excluded target and continues after the one chosen', () => {
    const balancer = roundRobin(targets(['a', 'b', 'c', 'd']));
    assert.equal(balancer.pick({})?.id, 'a');
    assert.equal(balancer.pick({}, new Set(['b', 'c']))?.id, 'd');
    assert.deepEqual(sequence(balancer, 3), ['a', 'b', 'c']);
  });

  it('never returns an excluded target over many picks', () => {
    const balancer = roundRobin(targets(['a', 'b', 'c']));
    assert.deepEqual(sequence(balancer, 6, {}, new Set(['b'])), ['a', 'c', 'a', 'c', 'a', 'c']);
  });

  it('returns undefined when every target is excluded, and keeps its place', () => {
    const balancer = roundRobin(targets(['a', 'b', 'c']));
    balancer.pick({});
    assert.equal(balancer.pick({}, new Set(['a', 'b', 'c'])), undefined);
    assert.equal(balancer.pick({})?.id, 'b');
  });

  it('treats an empty exclude set like none', () => {
    const balancer = roundRobin(targets(['a', 'b']));
    assert.deepEqual(sequence(balancer, 3, {}, new Set()), ['a', 'b', 'a']);
  });

  it('returns undefined for an empty target set', () => {
    const balancer = roundRobin(targets([]));
    assert.equal(balancer.pick({}), undefined);
    assert.equal(balancer.pick({}, new Set(['a'])), undefined);
  });

  it('keeps the target due next across update() when it persists', () => {
    const balancer = roundRobin(targets(['a', 'b', 'c']));
    assert.deepEqual(sequence(balancer, 2), ['a', 'b']);
    balancer.update(targets(['x', 'c', 'a']));
    assert.deepEqual(sequence(balancer, 4), ['c', 'a', 'x', 'c']);
  });

  it('continues at the same position when the target due next is removed', () => {
    const balancer = roundRobin(targets(['a', 'b', 'c', 'd']));
    assert.deepEqual(sequence(balancer, 2), ['a', 'b']);
    balancer.update(targets(['a', 'b', 'd']));
    assert.deepEqual(sequence(balancer, 3), ['d', 'a', 'b']);
  });

  it('wraps its position when the set shrinks below it', () => {
    const balancer = roundRobin(targets(['a', 'b', 'c', 'd']));
    sequence(balancer, 3);
    balancer.update(targets(['x', 'y']));
    assert.deepEqual(sequence(balancer, 3), ['y', 'x', 'y']);
  });

  it('goes from an empty set after update() back to rotation', () => {
    const balancer = roundRobin(targets(['a', 'b']));
    balancer.pick({});
    balancer.update([]);
    assert.equal(balancer.pick({}), undefined);
    balancer.update(targets(['c', 'd']));
    assert.deepEqual(sequence(balancer, 3), ['c', 'd', 'c']);
  });

  it('is not affected when the caller later mutates the array it passed', () => {
    const list = targets(['a', 'b']);
    const balancer = roundRobin(list);
    list.push({ id: 'z', weight: 1 });
    assert.deepEqual(sequence(balancer, 3), ['a', 'b', 'a']);
  });
});
