import { encodeFixed, fixedLengthDecoder, stripPadding } from './fixed-length.js';
import { encodeLengthPrefix, lengthPrefixDecoder } from './length-prefix.js';
import { encodeLine, lineDecoder } from './line.js';
import { rawDecoder } from './raw.js';
import type { Codec, FramingSpec } from './types.js';

/** Builds the codec for a validated framing spec. */
export function codec(spec: FramingSpec): Codec {
  switch (spec.framing) {
    case 'line':
      return {
        spec,
        decoder: () => lineDecoder(spec.delimiter, spec.maxFrameBytes),
        encode: (m) => encodeLine(m, spec.delimiter, spec.maxFrameBytes),
        display: (m) => m,
        overheadBytes: () => spec.delimiter.length,
      };
    case 'length':
      return {
        spec,
        decoder: () => lengthPrefixDecoder(spec.lengthBytes, spec.maxFrameBytes),
        encode: (m) => encodeLengthPrefix(m, spec.lengthBytes, spec.maxFrameBytes),
        display: (m) => m,
        overheadBytes: () => spec.lengthBytes,
      };
    case 'fixed':
      return {
        spec,
        decoder: () => fixedLengthDecoder(spec.frameSize),
        encode: (m) => encodeFixed(m, spec.frameSize, spec.padByte),
        display: (m) => stripPadding(m, spec.padByte),
        overheadBytes: (size) => Math.max(0, spec.frameSize - size),
      };
    case 'raw':
      return {
        spec,
        decoder: rawDecoder,
        encode: (m) => Buffer.from(m),
        display: (m) => m,
        overheadBytes: () => 0,
      };
  }
}
