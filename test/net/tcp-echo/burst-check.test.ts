import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { burstMessage, ReadClassifier } from '../../../src/net/tcp-echo/burst-check.js';

const frames = ['aaaa', 'bbbb', 'cccc'].map((s) => Buffer.from(s));

function classify(reads: readonly string[]): ReadClassifier {
  const c = new ReadClassifier(frames);
  for (const read of reads) c.observe(Buffer.from(read));
  return c;
}

describe('burst read classifier', () => {
  it('counts a read holding several messages as sticky', () => {
    const c = classify(['aaaabbbbcccc']);
    assert.deepEqual([c.stickyReads, c.splitReads, c.naiveWrong, c.done], [1, 0, 1, true]);
  });

  it('counts reads that begin or end inside a message as split', () => {
    const c = classify(['aa', 'aabb', 'bbcccc']);
    assert.deepEqual([c.stickyReads, c.splitReads, c.corruptReads], [2, 3, 0]);
    assert.equal(c.framesComplete, 3);
  });

  it('counts nothing special when every read is exactly one message', () => {
    const c = classify(['aaaa', 'bbbb', 'cccc']);
    assert.deepEqual([c.stickyReads, c.splitReads, c.naiveWrong], [0, 0, 0]);
  });

  it('notices bytes that differ from what was sent, and bytes past the end', () => {
    assert.equal(classify(['aaaa', 'bxbb']).corruptReads, 1);
    assert.equal(classify(['aaaabbbbcccc', 'z']).corruptReads, 1);
  });

  it('makes messages of the exact size that differ from their neighbours', () => {
    assert.equal(burstMessage(0, 16).length, 16);
    assert.notDeepEqual(burstMessage(1, 16), burstMessage(2, 16));
    assert.equal(burstMessage(35, 3).toString(), 'z:l');
    assert.equal(burstMessage(7, 1).toString(), '7');
  });
});
