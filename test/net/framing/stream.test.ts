import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { codec } from '../../../src/net/framing/codec.js';
import { decodeStream, encodeStream } from '../../../src/net/framing/stream.js';
import { isGwError } from '../../../src/shared/errors.js';

describe('framing as Node streams', () => {
  it('encodes messages and decodes them back through a pipeline', async () => {
    const c = codec({ framing: 'length', lengthBytes: 2, maxFrameBytes: 1000 });
    const got: string[] = [];
    await pipeline(
      Readable.from(['one', 'two', 'three'].map((s) => Buffer.from(s))),
      encodeStream(c),
      decodeStream(c),
      async (source: AsyncIterable<Buffer>) => {
        for await (const message of source) got.push(message.toString());
      },
    );
    assert.deepEqual(got, ['one', 'two', 'three']);
  });

  it('fails the pipeline with GW_ERR_FRAME_TOO_LARGE on an oversized frame', async () => {
    const c = codec({ framing: 'line', delimiter: Buffer.from('\n'), maxFrameBytes: 4 });
    await assert.rejects(
      pipeline(
        Readable.from([Buffer.from('toolong')]),
        decodeStream(c),
        async (source: AsyncIterable<Buffer>) => {
          for await (const message of source) assert.ok(message);
        },
      ),
      (err) => isGwError(err, 'GW_ERR_FRAME_TOO_LARGE'),
    );
  });
});
