import type { Decoder } from './types.js';

/**
 * No framing at all: whatever one read returned is taken as one message.
 * This is the naive reader of the teaching server, and exactly the bug the
 * three framings fix: TCP keeps no message boundaries, so one read can hold
 * several writes (sticky, 粘包) or part of one (split, 拆包).
 */
export function rawDecoder(): Decoder {
  return {
    buffered: 0,
    completedBeforeError: [],
    push(chunk: Buffer): Buffer[] {
      return chunk.length === 0 ? [] : [chunk];
    },
  };
}
