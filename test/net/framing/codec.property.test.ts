import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { codec } from '../../../src/net/framing/codec.js';
import type { FramingSpec } from '../../../src/net/framing/types.js';
import { isGwError } from '../../../src/shared/errors.js';
import { cutAt, feed } from '../../helpers/chunks.js';

const RUNS = 300;

/** Byte strings that avoid the delimiter's bytes, so line framing can carry them. */
function payloads(forbidden: readonly number[], maxLength: number): fc.Arbitrary<Buffer[]> {
  const byte = fc.integer({ min: 0, max: 255 }).filter((b) => !forbidden.includes(b));
  return fc.array(
    fc.array(byte, { maxLength }).map((bytes) => Buffer.from(bytes)),
    { maxLength: 30 },
  );
}

const cuts = fc.array(fc.nat({ max: 4000 }), { maxLength: 40 });

const SPECS: readonly FramingSpec[] = [
  { framing: 'line', delimiter: Buffer.from('\n'), maxFrameBytes: 1 << 20 },
  { framing: 'line', delimiter: Buffer.from('\r\n'), maxFrameBytes: 1 << 20 },
  { framing: 'line', delimiter: Buffer.from('END'), maxFrameBytes: 1 << 20 },
  { framing: 'length', lengthBytes: 1, maxFrameBytes: 1 << 20 },
  { framing: 'length', lengthBytes: 2, maxFrameBytes: 1 << 20 },
  { framing: 'length', lengthBytes: 4, maxFrameBytes: 1 << 20 },
];

function label(spec: FramingSpec): string {
  return spec.framing === 'line'
    ? `line ${JSON.stringify(spec.delimiter.toString())}`
    : spec.framing === 'length'
      ? `length/${spec.lengthBytes}`
      : spec.framing;
}

describe('framing codecs (property)', () => {
  for (const spec of SPECS) {
    it(`${label(spec)}: any cut of the stream decodes to exactly the messages sent`, () => {
      const c = codec(spec);
      const forbidden = spec.framing === 'line' ? [...spec.delimiter] : [];
      fc.assert(
        fc.property(payloads(forbidden, 200), cuts, (messages, offsets) => {
          const wire = Buffer.concat(messages.map((m) => c.encode(m)));
          const d = c.decoder();
          const out = feed((chunk) => d.push(chunk), cutAt(wire, offsets));
          assert.deepEqual(out, messages);
          assert.equal(d.buffered, 0);
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('line "END": messages full of partial delimiters (E, EN, ENE) still decode exactly', () => {
    const c = codec({ framing: 'line', delimiter: Buffer.from('END'), maxFrameBytes: 1 << 20 });
    const letters = fc.constantFrom('E', 'N', 'D', 'x');
    const message = fc
      .array(letters, { maxLength: 40 })
      .map((l) => l.join(''))
      .filter((m) => !m.includes('END'));
    fc.assert(
      fc.property(fc.array(message, { maxLength: 20 }), cuts, (strings, offsets) => {
        const messages = strings.map((m) => Buffer.from(m));
        const wire = Buffer.concat(messages.map((m) => c.encode(m)));
        const d = c.decoder();
        assert.deepEqual(
          feed(
            (chunk) => d.push(chunk),
            cutAt(
              wire,
              offsets.map((o) => o % 200),
            ),
          ),
          messages,
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('fixed: any cut of the stream decodes to the padded frames, and display restores the messages', () => {
    const c = codec({ framing: 'fixed', frameSize: 24, padByte: 0 });
    fc.assert(
      fc.property(payloads([0], 24), cuts, (messages, offsets) => {
        const wire = Buffer.concat(messages.map((m) => c.encode(m)));
        const d = c.decoder();
        const out = feed((chunk) => d.push(chunk), cutAt(wire, offsets));
        assert.equal(out.length, messages.length);
        assert.deepEqual(
          out.map((m) => c.display(m)),
          messages,
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('length: a frame over the limit fails as soon as its header is complete, whatever came before', () => {
    fc.assert(
      fc.property(
        payloads([], 50),
        fc.integer({ min: 101, max: 0xffff }),
        cuts,
        (before, oversized, offsets) => {
          const c = codec({ framing: 'length', lengthBytes: 2, maxFrameBytes: 100 });
          const header = Buffer.from([oversized >> 8, oversized & 0xff]);
          const wire = Buffer.concat([...before.map((m) => c.encode(m)), header]);
          const d = c.decoder();
          const chunks = cutAt(wire, offsets);
          const last = chunks.pop() ?? Buffer.alloc(0);
          const out = feed((chunk) => d.push(chunk), chunks);
          assert.deepEqual(out, before.slice(0, out.length));
          assert.throws(
            () => d.push(last),
            (err) => isGwError(err, 'GW_ERR_FRAME_TOO_LARGE'),
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('line: fails once more than max bytes arrived without a delimiter, never before', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), cuts, (max, offsets) => {
        const d = codec({
          framing: 'line',
          delimiter: Buffer.from('\n'),
          maxFrameBytes: max,
        }).decoder();
        const wire = Buffer.alloc(max + 1, 0x61);
        const chunks = cutAt(wire, offsets);
        let seen = 0;
        for (const chunk of chunks) {
          seen += chunk.length;
          if (seen <= max) assert.deepEqual(d.push(chunk), []);
          else
            assert.throws(
              () => d.push(chunk),
              (err) => isGwError(err, 'GW_ERR_FRAME_TOO_LARGE'),
            );
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('raw: one read is one message, so the boundaries are whatever the reads were', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 500 }), cuts, (bytes, offsets) => {
        const chunks = cutAt(Buffer.from(bytes), offsets);
        const d = codec({ framing: 'raw' }).decoder();
        assert.deepEqual(
          feed((chunk) => d.push(chunk), chunks),
          chunks,
        );
      }),
      { numRuns: RUNS },
    );
  });
});
