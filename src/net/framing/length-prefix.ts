import { badMessage, frameTooLarge } from '../../shared/errors.js';
import type { Decoder } from './types.js';

/** Width of the big-endian length header. */
export type LengthBytes = 1 | 2 | 4;

/** The largest payload a header of `lengthBytes` bytes can announce. */
export function maxPayloadFor(lengthBytes: LengthBytes): number {
  return lengthBytes === 4 ? 0xffffffff : 2 ** (8 * lengthBytes) - 1;
}

/**
 * Length-header framing: each message is preceded by its length as a
 * big-endian unsigned integer of `lengthBytes` bytes. The reader takes the
 * header, then exactly that many bytes: no scanning, and binary payloads are
 * fine. The cost is the header on every message and that a corrupt header
 * desynchronises the stream for good.
 */
export function encodeLengthPrefix(
  message: Uint8Array,
  lengthBytes: LengthBytes,
  maxFrameBytes: number,
): Buffer {
  const limit = Math.min(maxPayloadFor(lengthBytes), maxFrameBytes);
  if (message.length > limit) {
    throw badMessage(
      `message of ${message.length} bytes does not fit a ${lengthBytes}-byte length header (limit ${limit})`,
      'use a wider --length-bytes or a shorter message',
    );
  }
  const out = Buffer.allocUnsafe(lengthBytes + message.length);
  out.writeUIntBE(message.length, 0, lengthBytes);
  out.set(message, lengthBytes);
  return out;
}

/** Reads a big-endian header of `width` bytes at `offset`. */
function readHeader(buf: Buffer, offset: number, width: LengthBytes): number {
  if (width === 4) return buf.readUInt32BE(offset);
  if (width === 2) return buf.readUInt16BE(offset);
  return buf[offset] ?? 0;
}

/**
 * A decoder for length-header framing. Messages that lie inside one chunk
 * are returned as views of it (no copy); a message that spans chunks is
 * copied exactly once, when its last byte arrives. The limit is checked as
 * soon as the header is complete, before any of the body is buffered.
 */
export function lengthPrefixDecoder(lengthBytes: LengthBytes, maxFrameBytes: number): Decoder {
  return new LengthPrefixDecoder(lengthBytes, maxFrameBytes);
}

class LengthPrefixDecoder implements Decoder {
  /** Held-over pieces of the current header or body, in order. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** The body length once the header is read; -1 while reading the header. */
  private bodyBytes = -1;

  private readonly width: LengthBytes;
  private readonly maxFrameBytes: number;

  constructor(width: LengthBytes, maxFrameBytes: number) {
    this.width = width;
    this.maxFrameBytes = maxFrameBytes;
  }

  get buffered(): number {
    return this.bodyBytes < 0 ? this.partsBytes : this.partsBytes + this.width;
  }

  completedBeforeError: Buffer[] = [];

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    try {
      this.decode(chunk, out);
    } catch (err) {
      this.completedBeforeError = out;
      throw err;
    }
    return out;
  }

  private decode(chunk: Buffer, out: Buffer[]): void {
    let offset = 0;
    if (this.partsBytes > 0 || this.bodyBytes >= 0) {
      offset = this.finishHeldOver(chunk, out);
      if (offset < 0) return;
    }
    const width = this.width;
    const end = chunk.length;
    // Fast path: whole frames inside this chunk become views of it.
    while (end - offset >= width) {
      const size = readHeader(chunk, offset, width);
      this.check(size, chunk.subarray(offset, offset + width));
      const bodyStart = offset + width;
      if (end - bodyStart < size) {
        this.bodyBytes = size;
        offset = bodyStart;
        break;
      }
      out.push(chunk.subarray(bodyStart, bodyStart + size));
      offset = bodyStart + size;
    }
    this.hold(chunk, offset);
  }

  /** Completes a header or body begun in earlier chunks; -1 when `chunk` was all used up. */
  private finishHeldOver(chunk: Buffer, out: Buffer[]): number {
    let offset = 0;
    if (this.bodyBytes < 0) {
      const need = this.width - this.partsBytes;
      if (chunk.length < need) {
        this.hold(chunk, 0);
        return -1;
      }
      const header = Buffer.concat([...this.parts, chunk.subarray(0, need)], this.width);
      this.reset();
      offset = need;
      const size = readHeader(header, 0, this.width);
      this.check(size, header);
      this.bodyBytes = size;
    }
    const need = this.bodyBytes - this.partsBytes;
    if (chunk.length - offset < need) {
      this.hold(chunk, offset);
      return -1;
    }
    const tail = chunk.subarray(offset, offset + need);
    out.push(this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail], this.bodyBytes));
    this.reset();
    this.bodyBytes = -1;
    return offset + need;
  }

  private hold(chunk: Buffer, offset: number): void {
    if (offset < chunk.length) {
      this.parts.push(offset === 0 ? chunk : chunk.subarray(offset));
      this.partsBytes += chunk.length - offset;
    }
  }

  private reset(): void {
    this.parts = [];
    this.partsBytes = 0;
  }

  private check(size: number, header: Buffer): void {
    if (size > this.maxFrameBytes) {
      throw frameTooLarge(
        size,
        this.maxFrameBytes,
        'length header announces a frame',
        headerCause(header),
      );
    }
  }
}

/**
 * The likely cause of an absurd length header, for the error's hint: a peer
 * that is not speaking this framing. Header bytes that are printable ASCII
 * are named as the text they are (`nc` sending "hello" gives the header
 * "hell"); others are shown in hex.
 */
export function headerCause(header: Uint8Array): string {
  const printable = header.every((b) => b >= 0x20 && b < 0x7f);
  const bytes = printable
    ? `those bytes are the text '${Buffer.from(header).toString('latin1')}'`
    : `the header bytes are ${Array.from(header, (b) => b.toString(16).padStart(2, '0')).join(' ')}`;
  return `is the client using the same framing (--framing and --length-bytes)? (${bytes})`;
}
