import { Transform, type TransformCallback } from 'node:stream';
import type { Codec } from './types.js';

/**
 * A Transform that turns a byte stream into whole messages: bytes in, one
 * Buffer per message out (object mode on the readable side). A decoding error
 * (an oversized frame) destroys the stream with that error.
 */
export function decodeStream(framing: Codec): Transform {
  const decoder = framing.decoder();
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      let messages: Buffer[];
      try {
        messages = decoder.push(chunk);
      } catch (err) {
        done(err as Error);
        return;
      }
      for (const message of messages) this.push(message);
      done();
    },
  });
}

/** A Transform that frames each written message (object mode in, bytes out). */
export function encodeStream(framing: Codec): Transform {
  return new Transform({
    writableObjectMode: true,
    transform(message: Uint8Array, _encoding: BufferEncoding, done: TransformCallback) {
      try {
        done(null, framing.encode(message));
      } catch (err) {
        done(err as Error);
      }
    },
  });
}
