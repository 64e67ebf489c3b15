import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeDelimiter, parseDelimiter } from '../../../src/net/framing/delimiter.js';
import { describeFraming, framingSpec, positiveInt } from '../../../src/net/framing/spec.js';
import { isGwError } from '../../../src/shared/errors.js';

const invalid = (err: unknown): boolean => isGwError(err, 'GW_ERR_INVALID_ARGUMENT');

describe('delimiter escapes', () => {
  it('turns escapes into bytes', () => {
    assert.deepEqual([...parseDelimiter('\\r\\n')], [13, 10]);
    assert.deepEqual([...parseDelimiter('\\0')], [0]);
    assert.deepEqual([...parseDelimiter('\\x1e|')], [0x1e, 0x7c]);
    assert.deepEqual([...parseDelimiter('\\\\')], [0x5c]);
  });

  it('refuses an empty delimiter, an unknown escape and a trailing backslash', () => {
    assert.throws(() => parseDelimiter(''), invalid);
    assert.throws(() => parseDelimiter('\\q'), invalid);
    assert.throws(() => parseDelimiter('ab\\'), invalid);
  });

  it('shows a delimiter back the way it is typed', () => {
    assert.equal(describeDelimiter(Buffer.from('\r\n')), '\\r\\n');
    assert.equal(describeDelimiter(Buffer.from([0x1e])), '\\x1e');
    // The framing's description (reports, the lab) shows it the same way.
    assert.equal(
      describeFraming(framingSpec({ framing: 'line', delimiter: '\\x1e' })),
      'line (delimiter \\x1e)',
    );
  });
});

describe('framing flags', () => {
  it('defaults to newline-delimited lines with a 1 MiB limit', () => {
    assert.deepEqual(framingSpec({}), {
      framing: 'line',
      delimiter: Buffer.from('\n'),
      maxFrameBytes: 1024 * 1024,
    });
  });

  it('names the flag and the allowed values for bad input', () => {
    assert.throws(() => framingSpec({ framing: 'json' }), invalid);
    assert.throws(() => framingSpec({ framing: 'length', lengthBytes: '3' }), invalid);
    assert.throws(() => framingSpec({ framing: 'fixed', frameSize: '0' }), invalid);
    assert.throws(
      () => framingSpec({ framing: 'fixed', frameSize: '2k', maxFrameBytes: '1k' }),
      invalid,
    );
    assert.throws(() => framingSpec({ framing: 'fixed', padByte: 'ab' }), invalid);
  });

  it('accepts k and m suffixes on sizes', () => {
    assert.equal(positiveInt('--x', '64k', 1), 65536);
    assert.equal(positiveInt('--x', '2m', 1), 2 * 1024 * 1024);
    assert.throws(() => positiveInt('--x', '-1', 1), invalid);
    assert.throws(() => positiveInt('--x', '1.5', 1), invalid);
  });
});
