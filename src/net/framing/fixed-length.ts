import { badMessage } from '../../shared/errors.js';
import type { Decoder } from './types.js';

/**
 * Fixed-length framing: every message is exactly `frameSize` bytes on the
 * wire; shorter ones are padded with `padByte`. The reader simply takes
 * `frameSize` bytes at a time. Simplest of the three fixes, but it wastes the
 * padding on every short message, caps message size, and a message that
 * really ends in the pad byte cannot be told from its padding.
 */
export function encodeFixed(message: Uint8Array, frameSize: number, padByte: number): Buffer {
  if (message.length > frameSize) {
    throw badMessage(
      `message of ${message.length} bytes does not fit a fixed frame of ${frameSize} bytes`,
      'raise --frame-size or send shorter messages',
    );
  }
  const out = Buffer.allocUnsafe(frameSize);
  out.set(message, 0);
  out.fill(padByte, message.length);
  return out;
}

/** The message without the trailing pad bytes, for display. */
export function stripPadding(frame: Buffer, padByte: number): Buffer {
  let end = frame.length;
  while (end > 0 && frame[end - 1] === padByte) end--;
  return frame.subarray(0, end);
}

/**
 * A decoder for fixed-length framing. Frames inside one chunk are returned as
 * views of it; a frame spanning chunks is copied once when it completes.
 */
export function fixedLengthDecoder(frameSize: number): Decoder {
  if (!Number.isInteger(frameSize) || frameSize < 1) {
    throw new RangeError(`frameSize must be a positive integer, got ${frameSize}`);
  }
  let parts: Buffer[] = [];
  let partsBytes = 0;
  return {
    completedBeforeError: [],
    get buffered() {
      return partsBytes;
    },
    push(chunk: Buffer): Buffer[] {
      const out: Buffer[] = [];
      let offset = 0;
      if (partsBytes > 0) {
        const need = frameSize - partsBytes;
        if (chunk.length < need) {
          parts.push(chunk);
          partsBytes += chunk.length;
          return out;
        }
        out.push(Buffer.concat([...parts, chunk.subarray(0, need)], frameSize));
        parts = [];
        partsBytes = 0;
        offset = need;
      }
      while (chunk.length - offset >= frameSize) {
        out.push(chunk.subarray(offset, offset + frameSize));
        offset += frameSize;
      }
      if (offset < chunk.length) {
        parts.push(chunk.subarray(offset));
        partsBytes += chunk.length - offset;
      }
      return out;
    },
  };
}
