import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeFixed,
  fixedLengthDecoder,
  stripPadding,
} from '../../../src/net/framing/fixed-length.js';
import { isGwError } from '../../../src/shared/errors.js';
import { feed, texts } from '../../helpers/chunks.js';

describe('fixed-length framing', () => {
  it('pads a short message to the frame size', () => {
    assert.deepEqual([...encodeFixed(Buffer.from('ab'), 5, 0)], [97, 98, 0, 0, 0]);
  });

  it('refuses a message longer than the frame', () => {
    assert.throws(
      () => encodeFixed(Buffer.from('abcdef'), 5, 0),
      (err) => isGwError(err, 'GW_ERR_BAD_MESSAGE'),
    );
  });

  it('cuts a stream into frames whatever the chunk sizes', () => {
    const d = fixedLengthDecoder(4);
    const out = feed(
      (c) => d.push(c),
      [Buffer.from('abcdef'), Buffer.from('gh'), Buffer.from('ijklm')],
    );
    assert.deepEqual(texts(out), ['abcd', 'efgh', 'ijkl']);
    assert.equal(d.buffered, 1);
  });

  it('removes the padding for display only', () => {
    const frame = encodeFixed(Buffer.from('hi'), 8, 0x20);
    assert.equal(frame.length, 8);
    assert.equal(stripPadding(frame, 0x20).toString(), 'hi');
  });
});
