import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRandom } from '../../../src/proxy/balancers/default-random.js';

describe('default random source', () => {
  it('returns numbers in [0, 1), spread evenly over ten bins within 1%', () => {
    const next = defaultRandom();
    const bins = new Uint32Array(10);
    const draws = 200_000;
    for (let i = 0; i < draws; i++) {
      const x = next();
      assert.ok(x >= 0 && x < 1);
      bins[Math.floor(x * 10)] = (bins[Math.floor(x * 10)] ?? 0) + 1;
    }
    for (const count of bins) assert.ok(Math.abs(count / draws - 0.1) < 0.01);
  });

  it('gives each generator its own seed', () => {
    const a = defaultRandom();
    const b = defaultRandom();
    const first = Array.from({ length: 4 }, () => a());
    assert.notDeepEqual(
      first,
      Array.from({ length: 4 }, () => b()),
    );
  });
});
