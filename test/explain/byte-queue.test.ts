import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ByteQueue } from '../../src/explain/capture/byte-queue.js';

describe('ByteQueue', () => {
  it('takes, peeks and skips across any chunking exactly as one buffer would', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }),
        fc.array(
          fc.tuple(fc.constantFrom('take', 'skip', 'peek'), fc.integer({ min: 0, max: 50 })),
          {
            maxLength: 40,
          },
        ),
        (bytes, cuts, ops) => {
          const whole = Buffer.from(bytes);
          const queue = new ByteQueue();
          for (let at = 0, i = 0; at < whole.length; i++) {
            const n = cuts[i % cuts.length] ?? 1;
            queue.push(whole.subarray(at, at + n));
            at += n;
          }
          let at = 0;
          for (const [op, n] of ops) {
            const waiting = whole.length - at;
            if (op === 'peek') {
              const got = queue.peek(n);
              assert.deepEqual(got, n > waiting ? undefined : whole.subarray(at, at + n));
            } else if (op === 'take') {
              const got = queue.take(n);
              assert.deepEqual(got, n > waiting ? undefined : whole.subarray(at, at + n));
              if (n <= waiting) at += n;
            } else if (n <= waiting) {
              queue.skip(n);
              at += n;
            }
            assert.equal(queue.offset, at);
            assert.equal(queue.length, whole.length - at);
          }
          assert.deepEqual(queue.take(whole.length - at), whole.subarray(at));
        },
      ),
      { numRuns: 500 },
    );
  });
});
