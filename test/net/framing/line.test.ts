import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeLine, lineDecoder } from '../../../src/net/framing/line.js';
import { isGwError } from '../../../src/shared/errors.js';
import { cutAt, feed, texts } from '../../helpers/chunks.js';

const NL = Buffer.from('\n');
const CRLF = Buffer.from('\r\n');

describe('line framing', () => {
  it('returns every line of a chunk that holds several (sticky reads)', () => {
    const d = lineDecoder(NL, 1024);
    assert.deepEqual(texts(d.push(Buffer.from('a\nbb\nccc\n'))), ['a', 'bb', 'ccc']);
    assert.equal(d.buffered, 0);
  });

  it('reassembles a line split across chunks and reports the carried bytes', () => {
    const d = lineDecoder(NL, 1024);
    assert.deepEqual(texts(d.push(Buffer.from('hel'))), []);
    assert.equal(d.buffered, 3);
    assert.deepEqual(texts(d.push(Buffer.from('lo\nwor'))), ['hello']);
    assert.equal(d.buffered, 3);
    assert.deepEqual(texts(d.push(Buffer.from('ld\n'))), ['world']);
  });

  it('finds a two-byte delimiter split between chunks', () => {
    const d = lineDecoder(CRLF, 1024);
    assert.deepEqual(texts(d.push(Buffer.from('GET / HTTP/1.1\r'))), []);
    assert.deepEqual(texts(d.push(Buffer.from('\nHost: x\r\n'))), ['GET / HTTP/1.1', 'Host: x']);
  });

  it('finds a four-byte delimiter spread over three chunks', () => {
    const d = lineDecoder(Buffer.from('\r\n\r\n'), 1024);
    const out = feed(
      (c) => d.push(c),
      [Buffer.from('head\r'), Buffer.from('\n\r'), Buffer.from('\nbody')],
    );
    assert.deepEqual(texts(out), ['head']);
    assert.equal(d.buffered, 4);
  });

  it('keeps a lone carriage return that is not followed by a line feed', () => {
    const d = lineDecoder(CRLF, 1024);
    const out = feed((c) => d.push(c), [Buffer.from('a\r'), Buffer.from('b\r\n')]);
    assert.deepEqual(texts(out), ['a\rb']);
  });

  it('yields empty messages for consecutive delimiters', () => {
    const d = lineDecoder(NL, 1024);
    assert.deepEqual(texts(d.push(Buffer.from('\n\nx\n'))), ['', '', 'x']);
  });

  it('refuses a line longer than the limit as soon as the limit is passed without a delimiter', () => {
    const d = lineDecoder(NL, 8);
    assert.deepEqual(texts(d.push(Buffer.from('12345678'))), []);
    assert.throws(
      () => d.push(Buffer.from('9')),
      (err) => isGwError(err, 'GW_ERR_FRAME_TOO_LARGE'),
    );
  });

  it('refuses a complete line over the limit even when it arrives in one chunk', () => {
    const d = lineDecoder(NL, 4);
    assert.throws(
      () => d.push(Buffer.from('123456\n')),
      (err) => isGwError(err, 'GW_ERR_FRAME_TOO_LARGE'),
    );
  });

  it('accepts a line of exactly the limit whose two-byte delimiter arrives later', () => {
    const d = lineDecoder(CRLF, 4);
    assert.deepEqual(texts(d.push(Buffer.from('1234\r'))), []);
    assert.deepEqual(texts(d.push(Buffer.from('\n'))), ['1234']);
  });

  it('encodes a message followed by its delimiter', () => {
    assert.equal(encodeLine(Buffer.from('hi'), CRLF, 10).toString(), 'hi\r\n');
  });

  it('refuses to encode a message that contains the delimiter', () => {
    assert.throws(
      () => encodeLine(Buffer.from('a\nb'), NL, 10),
      (err) => isGwError(err, 'GW_ERR_BAD_MESSAGE'),
    );
  });

  it('decodes any split of a stream of lines the same way', () => {
    const stream = Buffer.from('alpha\r\nbeta\r\n\r\ngamma\r\n');
    for (let cut = 1; cut < stream.length; cut++) {
      for (let cut2 = cut; cut2 < stream.length; cut2++) {
        const d = lineDecoder(CRLF, 100);
        const out = feed((c) => d.push(c), cutAt(stream, [cut, cut2]));
        assert.deepEqual(texts(out), ['alpha', 'beta', '', 'gamma'], `cuts ${cut},${cut2}`);
      }
    }
  });
});
