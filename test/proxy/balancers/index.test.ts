import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BALANCERS, createBalancer } from '../../../src/proxy/balancers/index.js';
import type { BalanceName } from '../../../src/proxy/config/types.js';
import { isGwError } from '../../../src/shared/errors.js';
import { mulberry32, tally, targets } from './helpers.js';

const NAMES = Object.keys(BALANCERS) as BalanceName[];

describe('createBalancer and the contract every balancer keeps', () => {
  it('knows the six configured strategies', () => {
    assert.deepEqual(NAMES.sort(), [
      'hash',
      'least-conn',
      'p2c',
      'random',
      'round-robin',
      'weighted',
    ]);
  });

  it('refuses an unknown name with GW_ERR_INVALID_ARGUMENT', () => {
    assert.throws(
      () => createBalancer('fastest' as BalanceName, []),
      (err: unknown) => isGwError(err, 'GW_ERR_INVALID_ARGUMENT'),
    );
    assert.throws(
      () => createBalancer('toString' as BalanceName, []),
      (err: unknown) => isGwError(err, 'GW_ERR_INVALID_ARGUMENT'),
    );
  });

  for (const name of ['random', 'round-robin', 'weighted', 'hash', 'least-conn', 'p2c'] as const) {
    describe(name, () => {
      const make = (ids: string[], weights: number[] = []) =>
        createBalancer(name, targets(ids, weights), { random: mulberry32(1), load: () => 0 });

      it('serves every target over many picks, with and without a key', () => {
        const balancer = make(['a', 'b', 'c']);
        assert.deepEqual([...tally(balancer, 300).keys()].sort(), ['a', 'b', 'c']);
        const keyed = new Set<string | undefined>();
        for (let i = 0; i < 300; i++) keyed.add(balancer.pick({ key: `client-${i}` })?.id);
        assert.deepEqual([...keyed].sort(), ['a', 'b', 'c']);
      });

      it('never returns an excluded target, and undefined when all are excluded', () => {
        const balancer = make(['a', 'b', 'c'], [3, 1, 2]);
        for (let i = 0; i < 300; i++) {
          assert.notEqual(balancer.pick({ key: `k${i}` }, new Set(['b']))?.id, 'b');
          assert.notEqual(balancer.pick({}, new Set(['a', 'c']))?.id, 'a');
        }
        assert.equal(balancer.pick({ key: 'k' }, new Set(['a', 'b', 'c'])), undefined);
        assert.equal(balancer.pick({}, new Set(['a', 'b', 'c'])), undefined);
      });

      it('returns undefined for an empty set, and serves again after update()', () => {
        const balancer = make([]);
        assert.equal(balancer.pick({}), undefined);
        assert.equal(balancer.pick({ key: 'k' }), undefined);
        balancer.update(targets(['x']));
        assert.equal(balancer.pick({})?.id, 'x');
        balancer.update([]);
        assert.equal(balancer.pick({}), undefined);
        assert.equal(balancer.pick({ key: 'k' }), undefined);
      });

      it('refuses a bad weight or a repeated id, and keeps its previous set', () => {
        const invalid = (err: unknown): boolean => isGwError(err, 'GW_ERR_INVALID_ARGUMENT');
        for (const weight of [0, -1, 1.5, NaN, Infinity, 1_000_001]) {
          assert.throws(() => make(['a'], [weight]), invalid, `weight ${weight}`);
        }
        assert.throws(() => make(['a', 'a']), invalid);
        const balancer = make(['a']);
        assert.throws(() => balancer.update(targets(['b', 'c'], [1, 0])), invalid);
        assert.equal(balancer.pick({})?.id, 'a');
        assert.equal(balancer.pick({ key: 'k' })?.id, 'a');
      });

      it('returns the caller’s own target objects', () => {
        const list = [{ id: 'a', weight: 1, address: '127.0.0.1:1' }];
        const balancer = createBalancer(name, list);
        assert.equal(balancer.pick({}), list[0]);
        assert.equal(balancer.pick({ key: 'k' }), list[0]);
      });
    });
  }
});
