import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Slab } from '../../../src/proxy/upstream/pipe-tcp.js';

/** Feeds `total` bytes through a slab in reads of at most `readBytes`; returns the slab sizes seen. */
function feed(slab: Slab, readBytes: number, total: number): Set<number> {
  const sizes = new Set<number>();
  for (let moved = 0; moved < total;) {
    const slice = slab.next();
    sizes.add(slice.buffer.byteLength);
    const n = Math.min(readBytes, slice.length);
    slab.take(n, slice);
    moved += n;
  }
  return sizes;
}

describe('the TCP proxy read slab', () => {
  it('stays small for a connection that moves many bytes in small reads', () => {
    const sizes = feed(new Slab(), 512, 8 * 1024 * 1024);
    assert.deepEqual([...sizes], [16 * 1024]);
  });

  it('grows to 4 MiB for a bulk transfer whose reads fill what they are offered', () => {
    const sizes = feed(new Slab(), Number.MAX_SAFE_INTEGER, 64 * 1024 * 1024);
    assert.equal(Math.max(...sizes), 4 * 1024 * 1024);
  });
});
