import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkQueue } from '../../../src/proxy/h1/chunk-queue.js';
import { bytes } from '../../helpers/h1.js';

describe('ChunkQueue', () => {
  it('keeps chunks in order without copying them, and counts their bytes', () => {
    const queue = new ChunkQueue();
    const a = bytes('aa');
    const b = bytes('bbb');
    queue.push(a);
    queue.push(b);
    assert.equal(queue.bytes, 5);
    assert.equal(queue.shift(), a);
    // The unparsed rest of what was just taken goes back in front.
    queue.unshift(a.subarray(1));
    assert.equal(queue.first?.toString(), 'a');
    assert.equal(queue.bytes, 4);
    assert.equal(queue.shift().toString(), 'a');
    assert.equal(queue.shift(), b);
    assert.ok(queue.empty);
    assert.equal(queue.bytes, 0);
  });

  it('takeAll joins everything with an edge before or after, and empties', () => {
    const queue = new ChunkQueue();
    queue.push(bytes('12'));
    queue.push(bytes('34'));
    assert.equal(queue.takeAll(bytes('5')).toString(), '12345');
    assert.ok(queue.empty);
    queue.push(bytes('xy'));
    assert.equal(queue.takeAll(bytes('0'), true).toString(), '0xy');
    assert.equal(queue.takeAll(bytes('e')).toString(), 'e');
  });

  it('joinHead takes the chunks up to the first with a line end, or past the limit', () => {
    const queue = new ChunkQueue();
    for (const piece of ['G', 'E', 'T /\r', '\nHost', ': x\r\n']) queue.push(bytes(piece));
    // The chunk with the line end is taken whole (the head may end in it).
    assert.equal(queue.joinHead(bytes('>'), 100).toString(), '>GET /\r\nHost');
    assert.equal(queue.bytes, 5);
    assert.equal(queue.joinHead(bytes(''), 3).toString(), ': x\r\n');
    queue.clear();
    for (let i = 0; i < 10; i++) queue.push(bytes('xx'));
    assert.equal(queue.joinHead(bytes('t'), 4).length, 5);
    assert.equal(queue.bytes, 16);
  });
});
