import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeLengthPrefix,
  lengthPrefixDecoder,
  maxPayloadFor,
} from '../../../src/net/framing/length-prefix.js';
import { isGwError } from '../../../src/shared/errors.js';
import { feed, texts } from '../../helpers/chunks.js';

describe('length-header framing', () => {
  it('writes a big-endian header of the chosen width', () => {
    assert.deepEqual([...encodeLengthPrefix(Buffer.from('abc'), 4, 100)], [0, 0, 0, 3, 97, 98, 99]);
    assert.deepEqual([...encodeLengthPrefix(Buffer.alloc(258, 1), 2, 1000).subarray(0, 2)], [1, 2]);
    assert.deepEqual([...encodeLengthPrefix(Buffer.from('z'), 1, 100)], [1, 122]);
  });

  it('decodes several frames from one chunk', () => {
    const d = lengthPrefixDecoder(2, 100);
    const wire = Buffer.concat(
      ['one', 'two', ''].map((s) => encodeLengthPrefix(Buffer.from(s), 2, 100)),
    );
    assert.deepEqual(texts(d.push(wire)), ['one', 'two', '']);
    assert.equal(d.buffered, 0);
  });

  it('reassembles a header split byte by byte', () => {
    const d = lengthPrefixDecoder(4, 100);
    const wire = encodeLengthPrefix(Buffer.from('hello'), 4, 100);
    const out = feed(
      (c) => d.push(c),
      [...wire].map((b) => Buffer.from([b])),
    );
    assert.deepEqual(texts(out), ['hello']);
  });

  it('counts header bytes as carried once the header is complete', () => {
    const d = lengthPrefixDecoder(4, 100);
    d.push(Buffer.from([0, 0, 0, 5, 104, 105]));
    assert.equal(d.buffered, 6);
  });

  it('refuses an oversized frame as soon as its header arrives, before any body byte', () => {
    const d = lengthPrefixDecoder(4, 1024);
    assert.deepEqual(d.push(Buffer.from([0, 0])), []);
    assert.throws(
      () => d.push(Buffer.from([0x10, 0x00])),
      (err) => isGwError(err, 'GW_ERR_FRAME_TOO_LARGE'),
    );
  });

  it('keeps the messages completed before an oversized header in the same chunk', () => {
    const d = lengthPrefixDecoder(1, 4);
    assert.throws(() => d.push(Buffer.from([1, 65, 2, 66, 67, 9])));
    assert.deepEqual(texts(d.completedBeforeError), ['A', 'BC']);
  });

  it('accepts a frame of exactly the limit', () => {
    const d = lengthPrefixDecoder(2, 3);
    assert.deepEqual(texts(d.push(Buffer.from([0, 3, 97, 98, 99]))), ['abc']);
  });

  it('refuses to encode a message the header cannot describe', () => {
    assert.equal(maxPayloadFor(1), 255);
    assert.throws(
      () => encodeLengthPrefix(Buffer.alloc(256), 1, 10_000),
      (err) => isGwError(err, 'GW_ERR_BAD_MESSAGE'),
    );
  });

  it('returns views of the chunk for frames inside it and copies a frame that spans chunks', () => {
    const d = lengthPrefixDecoder(1, 100);
    const chunk = Buffer.from([2, 65, 66, 3, 67]);
    const [first] = d.push(chunk);
    assert.equal(first?.buffer, chunk.buffer);
    const [second] = d.push(Buffer.from([68, 69]));
    assert.equal(second?.toString(), 'CDE');
  });

  it('says a text header probably means a peer that is not using the framing, naming the text', () => {
    // What `nc` sends into a length-framed server: "hello\n", read as a 4-byte header "hell".
    for (const chunks of [[Buffer.from('hello\n')], [Buffer.from('he'), Buffer.from('llo\n')]]) {
      const d = lengthPrefixDecoder(4, 1024 * 1024);
      const err = (() => {
        try {
          for (const c of chunks) d.push(c);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(isGwError(err, 'GW_ERR_FRAME_TOO_LARGE'));
      assert.match(err.hint ?? '', /same framing/);
      assert.match(err.hint ?? '', /'hell'/);
    }
  });

  it('shows a binary header in hex in the hint', () => {
    const d = lengthPrefixDecoder(2, 10);
    assert.throws(
      () => d.push(Buffer.from([0x01, 0x02])),
      (e: unknown) => isGwError(e) && (e.hint ?? '').includes('01 02'),
    );
  });
});
