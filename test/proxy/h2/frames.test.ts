import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FLAG,
  FRAME,
  FrameBatch,
  FrameReader,
  H2_ERROR,
  H2ConnectionError,
  unpad,
} from '../../../src/proxy/h2/frames.js';

interface Seen {
  type: number;
  flags: number;
  streamId: number;
  payload: string;
}

function reader(): { reader: FrameReader; seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    reader: new FrameReader((type, flags, streamId, payload) =>
      seen.push({ type, flags, streamId, payload: payload.toString('latin1') }),
    ),
  };
}

describe('h2 frames', () => {
  it('reads frames split at every byte boundary and joined in one chunk', () => {
    const batch = new FrameBatch();
    batch.frame(FRAME.DATA, FLAG.END_STREAM, 3, Buffer.from('hello'));
    batch.frame(FRAME.PING, 0, 0, Buffer.from('12345678'));
    batch.frame32(FRAME.WINDOW_UPDATE, 5, 1000);
    const bytes = batch.take() ?? Buffer.alloc(0);
    const expected = [
      { type: FRAME.DATA, flags: FLAG.END_STREAM, streamId: 3, payload: 'hello' },
      { type: FRAME.PING, flags: 0, streamId: 0, payload: '12345678' },
      { type: FRAME.WINDOW_UPDATE, flags: 0, streamId: 5, payload: '\x00\x00\x03\xe8' },
    ];
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { reader: r, seen } = reader();
      r.push(bytes.subarray(0, cut));
      r.push(bytes.subarray(cut));
      assert.deepEqual(seen, expected, `cut at ${cut}`);
    }
    const { reader: r, seen } = reader();
    for (const byte of bytes) r.push(Buffer.from([byte]));
    assert.deepEqual(seen, expected);
  });

  it('refuses a frame longer than the maximum frame size with FRAME_SIZE_ERROR', () => {
    const { reader: r } = reader();
    const header = Buffer.from([0x00, 0x40, 0x01, FRAME.DATA, 0, 0, 0, 0, 1]); // 16385 bytes
    assert.throws(
      () => r.push(header),
      (err: unknown) => err instanceof H2ConnectionError && err.code === H2_ERROR.FRAME_SIZE_ERROR,
    );
  });

  it('splits a large header block into HEADERS and CONTINUATION frames', () => {
    const batch = new FrameBatch();
    const block = Buffer.alloc(40_000, 7);
    batch.headers(1, block, true, 16_384);
    const { reader: r, seen } = reader();
    r.push(batch.take() ?? Buffer.alloc(0));
    assert.deepEqual(
      seen.map((f) => [f.type, f.flags, f.payload.length]),
      [
        [FRAME.HEADERS, FLAG.END_STREAM, 16_384],
        [FRAME.CONTINUATION, 0, 16_384],
        [FRAME.CONTINUATION, FLAG.END_HEADERS, 40_000 - 2 * 16_384],
      ],
    );
  });

  it('strips padding and priority fields, and refuses padding longer than the frame', () => {
    const padded = Buffer.from([3, 0x61, 0x62, 0, 0, 0]);
    assert.equal(unpad(FRAME.DATA, FLAG.PADDED, padded).toString(), 'ab');
    const withPriority = Buffer.from([0, 0, 0, 1, 16, 0x78]);
    assert.equal(unpad(FRAME.HEADERS, FLAG.PRIORITY, withPriority).toString(), 'x');
    assert.throws(
      () => unpad(FRAME.DATA, FLAG.PADDED, Buffer.from([9, 1, 2])),
      (err: unknown) => err instanceof H2ConnectionError && err.code === H2_ERROR.PROTOCOL_ERROR,
    );
  });
});
