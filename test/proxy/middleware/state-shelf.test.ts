import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateShelf } from '../../../src/proxy/middleware/state-shelf.js';

// The shelf a config load keeps feature state on: taken over by the next load that asks for the
// same id, closed once no load holds it.

function counter(closed: string[], name: string) {
  return () => ({ value: { name, n: 0 }, close: () => closed.push(name) });
}

describe('state shelf', () => {
  it('gives one load the same state however often it asks', () => {
    const closed: string[] = [];
    const load = new StateShelf().holder();
    const a = load.keep('a', counter(closed, 'a'));
    a.n++;
    assert.equal(load.keep('a', counter(closed, 'a2')), a);
    load.release();
    assert.deepEqual(closed, ['a'], 'closed once, though asked for twice');
  });

  it('hands a state the next load asks for over to it, and closes only what it dropped', () => {
    const closed: string[] = [];
    const shelf = new StateShelf();
    const first = shelf.holder();
    const kept = first.keep('kept', counter(closed, 'kept'));
    kept.n = 7;
    first.keep('dropped', counter(closed, 'dropped'));
    first.keep('changed 10', counter(closed, 'changed 10'));

    const second = shelf.holder();
    const taken = second.keep('kept', counter(closed, 'kept again'));
    assert.equal(taken, kept, 'the same state, not a new one');
    assert.equal(taken.n, 7);
    assert.equal(
      second.keep('changed 20', counter(closed, 'changed 20')).n,
      0,
      'another id: fresh',
    );
    assert.equal(shelf.size, 4, 'both loads in force during the swap');

    first.release();
    assert.deepEqual(closed.sort(), ['changed 10', 'dropped']);
    assert.equal(shelf.size, 2);
    first.release();
    assert.equal(closed.length, 2, 'a second release does nothing');

    second.release();
    assert.deepEqual(closed.sort(), ['changed 10', 'changed 20', 'dropped', 'kept']);
    assert.equal(shelf.size, 0);
  });

  it('leaves the load in force its state when a new load is let go before it took over', () => {
    // A reload whose config fails to build: the new load is released, the old one stays.
    const closed: string[] = [];
    const shelf = new StateShelf();
    const inForce = shelf.holder();
    const state = inForce.keep('s', counter(closed, 's'));
    const failed = shelf.holder();
    assert.equal(failed.keep('s', counter(closed, 'other')), state);
    failed.keep('new', counter(closed, 'new'));
    failed.release();
    assert.deepEqual(closed, ['new']);
    assert.equal(inForce.keep('s', counter(closed, 'x')), state);
  });

  it('makes nothing for a retired load', () => {
    const load = new StateShelf().holder();
    load.release();
    assert.throws(() => load.keep('late', counter([], 'late')), /retired/);
  });
});
