import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ChunkedDecoder } from '../../../src/proxy/h1/chunked.js';
import { cutAt } from '../../helpers/chunks.js';
import { bytes, h1 } from '../../helpers/h1.js';

const RUNS = 200;

interface Result {
  /** The data reported through onData, concatenated. */
  readonly data: Buffer;
  /** The index (in the whole input) where the message ended, or -1. */
  readonly end: number;
  readonly done: boolean;
  readonly total: number;
}

/**
 * Feeds `input` to a decoder in pieces cut at `cuts`, as a caller does: each
 * piece pushed whole, stopping once the decoder is done.
 */
function decode(
  input: Buffer,
  cuts: readonly number[] = [],
  decoder = new ChunkedDecoder(400),
): Result {
  const parts: Buffer[] = [];
  let offset = 0;
  let end = -1;
  for (const piece of cutAt(input, cuts)) {
    const at = decoder.push(piece, 0, piece.length, (buf, start, stop) => {
      assert.ok(buf === piece && start >= 0 && start < stop && stop <= piece.length);
      parts.push(Buffer.from(buf.subarray(start, stop)));
    });
    if (decoder.done) {
      end = offset + at;
      break;
    }
    assert.equal(at, piece.length, 'an unfinished decoder consumes the whole piece');
    offset += piece.length;
  }
  return { data: Buffer.concat(parts), end, done: decoder.done, total: decoder.total };
}

/** Decodes `text` in one push, as a string. */
function decodeText(text: string, decoder = new ChunkedDecoder(400)): Result {
  return decode(bytes(text), [], decoder);
}

/** Asserts that decoding `text` (whole, then byte by byte) fails with `status`. */
function refused(text: string, status = 400, make = () => new ChunkedDecoder(status)): void {
  const input = bytes(text);
  assert.throws(() => decode(input, [], make()), h1(status), JSON.stringify(text));
  const everyByte = Array.from({ length: input.length }, (_, i) => i);
  assert.throws(() => decode(input, everyByte, make()), h1(status), JSON.stringify(text));
}

describe('ChunkedDecoder: valid bodies', () => {
  it('decodes a simple body and says where it ended', () => {
    const text = '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
    const result = decodeText(text);
    assert.equal(result.data.toString(), 'hello world');
    assert.equal(result.done, true);
    assert.equal(result.end, text.length);
    assert.equal(result.total, 11);
  });

  it('decodes an empty body', () => {
    const result = decodeText('0\r\n\r\n');
    assert.deepEqual([result.data.length, result.done, result.end, result.total], [0, true, 5, 0]);
  });

  it('accepts upper- and lower-case hex and leading zeros', () => {
    const data = 'x'.repeat(0xab);
    for (const size of ['ab', 'AB', 'aB', '00ab', '000000000000000000AB']) {
      const result = decodeText(`${size}\r\n${data}\r\n000\r\n\r\n`);
      assert.equal(result.data.toString(), data, size);
      assert.equal(result.done, true);
    }
  });

  it('accepts a size just below 2^53 on the size line', () => {
    const decoder = new ChunkedDecoder(400);
    const line = bytes('1FFFFFFFFFFFFF\r\n');
    assert.equal(decoder.push(line, 0, line.length), line.length);
    assert.equal(decoder.done, false);
  });

  it('skips chunk extensions, with or without whitespace before the semicolon', () => {
    const text =
      '5;name=value\r\nhello\r\n' +
      '1 ; a ; b="q \\" ;"\r\n!\r\n' +
      '2;\xe9\t x\r\n??\r\n' +
      '0;last=1\r\n\r\n';
    const result = decodeText(text);
    assert.equal(result.data.toString(), 'hello!??');
    assert.equal(result.end, text.length);
  });

  it('reads a trailer section', () => {
    const text = '3\r\nabc\r\n0\r\nX-Checksum: 123\r\nX-Other:\tv \r\n\r\n';
    const result = decodeText(text);
    assert.equal(result.data.toString(), 'abc');
    assert.equal(result.done, true);
    assert.equal(result.end, text.length);
  });

  it('leaves the bytes after the message alone (pipelining)', () => {
    const body = '4\r\nWiki\r\n0\r\nT: 1\r\n\r\n';
    const next = 'GET /next HTTP/1.1\r\nHost: h\r\n\r\n';
    const buf = bytes(body + next);
    const decoder = new ChunkedDecoder(400);
    assert.equal(decoder.push(buf, 0, buf.length), body.length);
    assert.equal(decoder.done, true);
    // A done decoder consumes nothing more.
    assert.equal(decoder.push(buf, body.length, buf.length), body.length);
    assert.equal(decoder.total, 4);
  });

  it('returns the end of the message within a range that starts past 0', () => {
    const prefix = 'HEAD';
    const body = '2\r\nhi\r\n0\r\n\r\n';
    const buf = bytes(`${prefix}${body}0\r\n\r\n`);
    const decoder = new ChunkedDecoder(400);
    const ranges: [number, number][] = [];
    const end = decoder.push(buf, prefix.length, buf.length, (b, s, e) => {
      assert.equal(b, buf);
      ranges.push([s, e]);
    });
    assert.equal(end, prefix.length + body.length);
    assert.deepEqual(ranges, [[prefix.length + 3, prefix.length + 5]]);
  });

  it('reports data as ranges of the given buffer, without copies', () => {
    const buf = bytes('a\r\n0123456789\r\n0\r\n\r\n');
    const decoder = new ChunkedDecoder(400);
    let seen: Buffer | undefined;
    decoder.push(buf, 0, buf.length, (b, s, e) => {
      seen = b.subarray(s, e);
    });
    assert.ok(seen !== undefined);
    assert.equal(seen.buffer, buf.buffer);
    assert.equal(seen.toString(), '0123456789');
  });

  it('works without an onData sink', () => {
    const decoder = new ChunkedDecoder(400);
    const buf = bytes('3\r\nabc\r\n0\r\n\r\n');
    assert.equal(decoder.push(buf, 0, buf.length), buf.length);
    assert.equal(decoder.total, 3);
  });

  it('decodes a message fed one byte at a time, then stops at its end', () => {
    const body = '5;e=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nA: b\r\n\r\n';
    const input = bytes(`${body}NEXT`);
    const decoder = new ChunkedDecoder(400);
    const parts: Buffer[] = [];
    let end = -1;
    for (let i = 0; i < input.length; i++) {
      const at = decoder.push(input, i, i + 1, (b, s, e) => parts.push(b.subarray(s, e)));
      assert.equal(decoder.done, i + 1 >= body.length, `done after byte ${i}`);
      if (decoder.done && end < 0) end = at;
      else if (!decoder.done) assert.equal(at, i + 1);
    }
    assert.equal(end, body.length);
    assert.equal(Buffer.concat(parts).toString(), 'hello0123456789abcdef');
  });
});

// ---------------------------------------------------------------------------

const hex = (n: number, upper: boolean, zeros: number): string =>
  '0'.repeat(zeros) + (upper ? n.toString(16).toUpperCase() : n.toString(16));

const extension = fc.constantFrom('', ';a', ';a=b', ' ;x="y z"', '\t;q');
const trailers = fc.array(
  fc.tuple(
    fc.constantFrom('X-T', 'Checksum', 'expires'),
    fc.constantFrom('', 'v', ' 1 2 ', '\xe9'),
  ),
  { maxLength: 3 },
);

interface Message {
  readonly data: Buffer;
  readonly sizes: number[];
  readonly upper: boolean;
  readonly zeros: number;
  readonly ext: string;
  readonly trailer: [string, string][];
  readonly after: Buffer;
}

/** Data, its chunk sizes, and how each size line is written. */
const message: fc.Arbitrary<Message> = fc.record({
  data: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
  sizes: fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 20 }),
  upper: fc.boolean(),
  zeros: fc.nat({ max: 3 }),
  ext: extension,
  trailer: trailers,
  after: fc.uint8Array({ maxLength: 10 }).map((a) => Buffer.from(a)),
});

function encode(m: Message): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  let k = 0;
  while (at < m.data.length) {
    const size = Math.min(m.sizes[k++ % m.sizes.length] ?? 1, m.data.length - at);
    out.push(bytes(`${hex(size, m.upper, m.zeros)}${m.ext}\r\n`));
    out.push(m.data.subarray(at, at + size), bytes('\r\n'));
    at += size;
  }
  out.push(bytes(`${'0'.repeat(m.zeros + 1)}${m.ext}\r\n`));
  for (const [name, value] of m.trailer) out.push(bytes(`${name}:${value}\r\n`));
  out.push(bytes('\r\n'));
  return Buffer.concat(out);
}

describe('ChunkedDecoder: property', () => {
  it('random data, chunked at random and fed in random slices, decodes to itself', () => {
    fc.assert(
      fc.property(
        message,
        fc.array(fc.nat({ max: 2000 }), { maxLength: 30 }),
        fc.boolean(),
        (m, cuts, copy) => {
          const encoded = encode(m);
          const input = Buffer.concat([encoded, m.after]);
          const decoder = new ChunkedDecoder(502);
          const parts: Buffer[] = [];
          let offset = 0;
          let end = -1;
          for (const slice of cutAt(input, cuts)) {
            // Either a fresh buffer per slice, or ranges of the one input buffer.
            const [buf, from] = copy
              ? [Buffer.from(slice), 0]
              : [input, slice.byteOffset - input.byteOffset];
            const to = from + slice.length;
            const at = decoder.push(buf, from, to, (b, s, e) => {
              assert.ok(b === buf && from <= s && s < e && e <= to);
              parts.push(Buffer.from(b.subarray(s, e)));
            });
            const sliceEnd = offset + slice.length;
            assert.equal(decoder.done, sliceEnd >= encoded.length);
            if (decoder.done) {
              end = offset + at - from;
              break;
            }
            assert.equal(at, to);
            offset = sliceEnd;
          }
          assert.equal(end, encoded.length);
          assert.deepEqual(Buffer.concat(parts), m.data);
          assert.equal(decoder.total, m.data.length);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------

describe('ChunkedDecoder: errors', () => {
  it('throws with the status the decoder was made with', () => {
    refused('x\r\n', 400);
    refused('x\r\n', 502);
  });

  it('refuses a size that is not hex, or is signed', () => {
    refused('g\r\nabc\r\n0\r\n\r\n');
    refused('3g\r\nabc\r\n0\r\n\r\n');
    refused('0x3\r\nabc\r\n0\r\n\r\n');
    refused('+3\r\nabc\r\n0\r\n\r\n');
    refused('-3\r\nabc\r\n0\r\n\r\n');
    refused(' 3\r\nabc\r\n0\r\n\r\n');
    refused('3 3\r\nabc\r\n0\r\n\r\n');
  });

  it('refuses an empty size', () => {
    refused('\r\n');
    refused(';ext\r\n0\r\n\r\n');
    refused('3\r\nabc\r\n\r\n0\r\n\r\n');
  });

  it('refuses a size of 2^53 or more', () => {
    refused('20000000000000\r\n', 502);
    refused('FFFFFFFFFFFFFFFF\r\n');
    refused(`1${'0'.repeat(40)}\r\n`);
  });

  it('refuses data without its CRLF, or longer than its size', () => {
    refused('3\r\nabc0\r\n\r\n');
    refused('3\r\nabcd\r\n0\r\n\r\n');
    refused('3\r\nabc\n0\r\n\r\n');
    refused('3\r\nabc\rx0\r\n\r\n');
    refused('3\r\nabc\r\r\n0\r\n\r\n');
  });

  it('refuses a bare LF or bare CR in the size line', () => {
    refused('3\nabc\r\n0\r\n\r\n');
    refused('3;ext\nabc\r\n0\r\n\r\n');
    refused('3 \nabc\r\n0\r\n\r\n');
    refused('3\rabc\r\n0\r\n\r\n');
    refused('0\n\r\n');
  });

  it('refuses control characters in an extension', () => {
    refused('3;a\x00\r\nabc\r\n0\r\n\r\n');
    refused('3;a\x7f\r\nabc\r\n0\r\n\r\n');
    refused('3;a\rb\r\nabc\r\n0\r\n\r\n');
  });

  it('refuses a bare LF ending a trailer line, and a bad end of the trailer section', () => {
    refused('0\r\nX: y\n\r\n');
    refused('0\r\nX: y\r\r\n\r\n');
    refused('0\r\n\rx');
    refused('0\r\nX: y\r\n\rx');
  });

  it('refuses a bare LF where a trailer line (or the final CRLF) starts, at once', () => {
    for (const text of ['0\r\n\n', '0\r\nX: y\r\n\n', '0\r\n\nGET / HTTP/1.1\r\nHost: h\r\n'])
      refused(text);
  });

  it('refuses a malformed trailer line, with the decoder status', () => {
    refused('0\r\nbad header\r\n\r\n');
    refused('0\r\nbadheader\r\n\r\n', 502);
    refused('0\r\nX : y\r\n\r\n');
    refused('0\r\nX: y\r\n folded\r\n\r\n');
    refused('0\r\nX: a\x00b\r\n\r\n');
    refused('0\r\nX(: y\r\n\r\n');
  });

  it('refuses a trailer section larger than maxTrailerBytes', () => {
    // "A: b\r\n" is 6 bytes.
    const limit = (max: number) => () => new ChunkedDecoder(400, max);
    assert.equal(decodeText('0\r\nA: b\r\n\r\n', limit(6)()).done, true);
    refused('0\r\nA: b\r\n\r\n', 400, limit(5));
    refused(`0\r\nX: ${'v'.repeat(100)}\r\n\r\n`, 400, limit(64));
    // The default allows 16 KiB.
    assert.equal(decodeText(`0\r\nX: ${'v'.repeat(8000)}\r\n\r\n`).done, true);
    refused(`0\r\nX: ${'v'.repeat(17000)}\r\n\r\n`);
    // A trailer that never ends is refused at the limit, not buffered forever.
    assert.throws(() => decode(bytes(`0\r\nX: ${'v'.repeat(100)}`), [], limit(64)()), h1(400));
  });

  it('refuses a size line longer than maxLineBytes', () => {
    const limit = (max: number) => () => new ChunkedDecoder(400, 16 * 1024, max);
    assert.equal(decodeText('3;ab\r\nabc\r\n0\r\n\r\n', limit(16)()).done, true);
    refused(`3;${'e'.repeat(100)}\r\nabc\r\n0\r\n\r\n`, 400, limit(16));
    refused(`${'0'.repeat(100)}3\r\nabc\r\n0\r\n\r\n`, 400, limit(16));
    refused(`3${' '.repeat(100)}\r\nabc\r\n0\r\n\r\n`, 400, limit(16));
    // The default allows 4 KiB; an extension that never ends is refused there.
    assert.equal(decodeText(`3;${'e'.repeat(2000)}\r\nabc\r\n0\r\n\r\n`).done, true);
    assert.throws(() => decode(bytes(`3;${'e'.repeat(5000)}`)), h1(400));
  });

  it('an error thrown mid-stream leaves the earlier data reported', () => {
    const decoder = new ChunkedDecoder(400);
    const parts: string[] = [];
    const buf = bytes('3\r\nabc\r\nzz\r\n');
    assert.throws(
      () => decoder.push(buf, 0, buf.length, (b, s, e) => parts.push(b.toString('latin1', s, e))),
      h1(400),
    );
    assert.deepEqual(parts, ['abc']);
    assert.equal(decoder.total, 3);
  });
});

describe('ChunkedDecoder: trailer sections passed on rewritten (RFC 9110 §6.5.1)', () => {
  /** Relays `input` in `slices` as the server connection does: raw ranges, then the trailer. */
  function relay(input: Buffer, slices: readonly Buffer[]): Buffer {
    const decoder = new ChunkedDecoder(400);
    const out: Buffer[] = [];
    for (const slice of slices) {
      const end = decoder.push(slice, 0, slice.length);
      const rawEnd = decoder.rawEnd(end);
      out.push(Buffer.from(slice.subarray(0, rawEnd)));
      if (decoder.done) {
        if (rawEnd < end) out.push(decoder.trailerSection());
        break;
      }
    }
    assert.ok(decoder.done, input.toString('latin1'));
    return Buffer.concat(out);
  }

  it('drops Content-Length, Host, Transfer-Encoding and _ names, keeps the others', () => {
    const body = bytes(
      '3\r\nabc\r\n0\r\nContent-Length: 5\r\nChecksum: x\r\nHost: evil\r\nTransfer-Encoding: chunked\r\nX_Sig: 1\r\n\r\n',
    );
    for (let cut = 1; cut < body.length; cut++) {
      const out = relay(body, [body.subarray(0, cut), body.subarray(cut)]);
      assert.equal(out.toString('latin1'), '3\r\nabc\r\n0\r\nChecksum: x\r\n\r\n', `cut ${cut}`);
    }
  });

  it('property: without trailer fields the bytes pass as they are, in any slicing', () => {
    fc.assert(
      fc.property(message, fc.array(fc.nat({ max: 2000 }), { maxLength: 30 }), (m, cuts) => {
        const encoded = encode({ ...m, trailer: [] });
        assert.deepEqual(relay(encoded, cutAt(encoded, cuts)), encoded);
      }),
      { numRuns: RUNS },
    );
  });

  it('property: with trailer fields, the data part is raw and the trailer is its fields again', () => {
    fc.assert(
      fc.property(message, fc.array(fc.nat({ max: 2000 }), { maxLength: 30 }), (m, cuts) => {
        const encoded = encode(m);
        const out = relay(encoded, cutAt(encoded, cuts));
        const lastChunk = encoded.lastIndexOf(bytes(`0${m.ext}\r\n`)) + m.ext.length + 3;
        const trailer = m.trailer.map(([n, v]) => `${n}: ${v.replace(/^[ \t]+|[ \t]+$/g, '')}\r\n`);
        const expected =
          m.trailer.length === 0
            ? encoded
            : Buffer.concat([encoded.subarray(0, lastChunk), bytes(`${trailer.join('')}\r\n`)]);
        assert.deepEqual(out.toString('latin1'), expected.toString('latin1'));
      }),
      { numRuns: RUNS },
    );
  });
});
