import { badMessage, frameTooLarge } from '../../shared/errors.js';
import type { Decoder } from './types.js';
import { describeDelimiter } from './delimiter.js';

/**
 * Delimiter framing: messages are separated by a delimiter (commonly `\n`),
 * which belongs to the framing, not to the message. Text protocols (SMTP,
 * Redis's inline commands, HTTP/1.1 headers) use it. The reader must scan
 * every byte for the delimiter, and a message can never contain it.
 */
export function encodeLine(message: Uint8Array, delimiter: Buffer, maxFrameBytes: number): Buffer {
  if (message.length > maxFrameBytes) {
    throw badMessage(
      `message of ${message.length} bytes exceeds the frame limit of ${maxFrameBytes} bytes`,
      'raise --max-frame-bytes or send shorter messages',
    );
  }
  if (Buffer.from(message.buffer, message.byteOffset, message.length).includes(delimiter)) {
    throw badMessage(
      `message contains the delimiter "${describeDelimiter(delimiter)}"`,
      'use --framing length for messages that may contain any byte',
    );
  }
  const out = Buffer.allocUnsafe(message.length + delimiter.length);
  out.set(message, 0);
  out.set(delimiter, message.length);
  return out;
}

/**
 * A decoder for delimiter framing. Each byte is scanned once: the search in a
 * new chunk starts at its first byte, and a delimiter split across two chunks
 * is found by matching the held-over tail against the new chunk's head.
 * Fails as soon as more than `maxFrameBytes` bytes arrived without a delimiter.
 */
export function lineDecoder(delimiter: Buffer, maxFrameBytes: number): Decoder {
  if (delimiter.length === 0) throw new RangeError('delimiter must not be empty');
  return new LineDecoder(Buffer.from(delimiter), maxFrameBytes);
}

class LineDecoder implements Decoder {
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private readonly single: number;
  private readonly delimiter: Buffer;
  private readonly maxFrameBytes: number;

  constructor(delimiter: Buffer, maxFrameBytes: number) {
    this.delimiter = delimiter;
    this.maxFrameBytes = maxFrameBytes;
    this.single = delimiter.length === 1 ? (delimiter[0] ?? 0) : -1;
  }

  get buffered(): number {
    return this.partsBytes;
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
    let start = 0;
    if (this.partsBytes > 0 && this.delimiter.length > 1) {
      start = this.matchAcrossBoundary(chunk, out);
    }
    let at = this.find(chunk, start);
    while (at >= 0) {
      const piece = chunk.subarray(start, at);
      const size = this.partsBytes + piece.length;
      if (size > this.maxFrameBytes) {
        throw frameTooLarge(size, this.maxFrameBytes, 'line');
      }
      if (this.partsBytes === 0) {
        out.push(piece);
      } else {
        out.push(Buffer.concat([...this.parts, piece], size));
        this.parts = [];
        this.partsBytes = 0;
      }
      start = at + this.delimiter.length;
      at = this.find(chunk, start);
    }
    if (start < chunk.length) {
      this.parts.push(start === 0 ? chunk : chunk.subarray(start));
      this.partsBytes += chunk.length - start;
    }
    // Up to delimiter.length - 1 held bytes may still be the start of a delimiter.
    const undecided = this.partsBytes - (this.delimiter.length - 1);
    if (undecided > this.maxFrameBytes) {
      throw frameTooLarge(undecided, this.maxFrameBytes, 'line without a delimiter');
    }
  }

  private find(chunk: Buffer, from: number): number {
    return this.single >= 0
      ? chunk.indexOf(this.single, from)
      : chunk.indexOf(this.delimiter, from);
  }

  /**
   * A multi-byte delimiter may begin in the held-over bytes and end in this
   * chunk. Tries each split, longest held part first; on a match, emits the
   * message and returns where scanning of `chunk` continues.
   */
  private matchAcrossBoundary(chunk: Buffer, out: Buffer[]): number {
    const d = this.delimiter;
    const maxHeld = Math.min(d.length - 1, this.partsBytes);
    const tail = this.tailBytes(maxHeld);
    for (let held = maxHeld; held >= 1; held--) {
      const rest = d.length - held;
      if (chunk.length < rest) continue;
      if (tail.compare(d, 0, held, maxHeld - held, maxHeld) !== 0) continue;
      if (chunk.compare(d, held, d.length, 0, rest) !== 0) continue;
      const size = this.partsBytes - held;
      if (size > this.maxFrameBytes) throw frameTooLarge(size, this.maxFrameBytes, 'line');
      const all = Buffer.concat(this.parts, this.partsBytes);
      out.push(all.subarray(0, size));
      this.parts = [];
      this.partsBytes = 0;
      return rest;
    }
    return 0;
  }

  /** The last `n` held-over bytes, copied (n is below the delimiter's length). */
  private tailBytes(n: number): Buffer {
    const tail = Buffer.alloc(n);
    let remaining = n;
    for (let i = this.parts.length - 1; i >= 0 && remaining > 0; i--) {
      const part = this.parts[i];
      if (part === undefined) break;
      const take = Math.min(remaining, part.length);
      part.copy(tail, remaining - take, part.length - take);
      remaining -= take;
    }
    return tail;
  }
}
