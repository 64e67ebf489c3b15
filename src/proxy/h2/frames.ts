/**
 * HTTP/2 framing (RFC 9113 §4, §6): the frame header, the types, flags,
 * error codes and settings the gateway's relay uses, an incremental frame
 * reader, and builders that write whole frames into one output batch.
 */

export const FRAME = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const FLAG = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes (RFC 9113 §7). */
export const H2_ERROR = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  ENHANCE_YOUR_CALM: 0xb,
} as const;

export const SETTING = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER_BYTES = 9;
/** The smallest SETTINGS_MAX_FRAME_SIZE, and the default. */
export const DEFAULT_MAX_FRAME = 16_384;
export const MAX_WINDOW = 0x7fff_ffff;

/** A connection error (RFC 9113 §5.4.1): the connection ends with GOAWAY and `code`. */
export class H2ConnectionError extends Error {
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** Receives each frame; `payload` is only valid during the call (it may view a reused buffer). */
export type FrameHandler = (type: number, flags: number, streamId: number, payload: Buffer) => void;

/**
 * Splits a byte stream into frames. Payloads that lie within one chunk are
 * passed as views of it (no copy); only frames that straddle chunks are
 * joined. A frame longer than `maxFrame` is a FRAME_SIZE_ERROR.
 */
export class FrameReader {
  private held: Buffer | undefined;
  private readonly onFrame: FrameHandler;
  maxFrame = DEFAULT_MAX_FRAME;

  constructor(onFrame: FrameHandler) {
    this.onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.held !== undefined) {
      buf = Buffer.concat([this.held, chunk]);
      this.held = undefined;
    }
    let at = 0;
    const end = buf.length;
    while (end - at >= FRAME_HEADER_BYTES) {
      const length = buf.readUIntBE(at, 3);
      if (length > this.maxFrame) {
        throw new H2ConnectionError(
          H2_ERROR.FRAME_SIZE_ERROR,
          `frame of ${length} bytes exceeds SETTINGS_MAX_FRAME_SIZE ${this.maxFrame}`,
        );
      }
      if (end - at < FRAME_HEADER_BYTES + length) break;
      const type = buf.readUInt8(at + 3);
      const flags = buf.readUInt8(at + 4);
      const streamId = buf.readUInt32BE(at + 5) & 0x7fff_ffff;
      const start = at + FRAME_HEADER_BYTES;
      at = start + length;
      this.onFrame(type, flags, streamId, buf.subarray(start, at));
    }
    if (at < end) this.held = buf.subarray(at);
  }
}

/**
 * Frames waiting to be written to one socket. Builders append here; the
 * owner writes the batch once per turn of the event loop, so the frames of
 * many calls go out in one write.
 */
export class FrameBatch {
  parts: Buffer[] = [];
  bytes = 0;

  /** A frame whose payload is `payload` (kept by reference, not copied). */
  frame(type: number, flags: number, streamId: number, payload?: Uint8Array): void {
    const length = payload === undefined ? 0 : payload.length;
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    header[0] = (length >>> 16) & 0xff;
    header[1] = (length >>> 8) & 0xff;
    header[2] = length & 0xff;
    header[3] = type;
    header[4] = flags;
    header.writeUInt32BE(streamId, 5);
    this.parts.push(header);
    this.bytes += FRAME_HEADER_BYTES + length;
    if (length > 0) this.parts.push(payload as Buffer);
  }

  /** A frame with a 4-byte payload (RST_STREAM, WINDOW_UPDATE). */
  frame32(type: number, streamId: number, value: number): void {
    const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = 4;
    buf[3] = type;
    buf[4] = 0;
    buf.writeUInt32BE(streamId, 5);
    buf.writeUInt32BE(value >>> 0, 9);
    this.parts.push(buf);
    this.bytes += buf.length;
  }

  /** A header block as HEADERS plus CONTINUATION frames of at most `maxFrame` bytes each. */
  headers(streamId: number, block: Buffer, endStream: boolean, maxFrame: number): void {
    const end = endStream ? FLAG.END_STREAM : 0;
    if (block.length <= maxFrame) {
      this.frame(FRAME.HEADERS, FLAG.END_HEADERS | end, streamId, block);
      return;
    }
    this.frame(FRAME.HEADERS, end, streamId, block.subarray(0, maxFrame));
    for (let at = maxFrame; at < block.length; at += maxFrame) {
      const last = at + maxFrame >= block.length;
      const piece = block.subarray(at, Math.min(block.length, at + maxFrame));
      this.frame(FRAME.CONTINUATION, last ? FLAG.END_HEADERS : 0, streamId, piece);
    }
  }

  settings(values: readonly (readonly [number, number])[]): void {
    const payload = Buffer.allocUnsafe(values.length * 6);
    values.forEach(([id, value], i) => {
      payload.writeUInt16BE(id, i * 6);
      payload.writeUInt32BE(value >>> 0, i * 6 + 2);
    });
    this.frame(FRAME.SETTINGS, 0, 0, payload);
  }

  goaway(lastStreamId: number, code: number, debug = ''): void {
    const text = Buffer.from(debug, 'utf8');
    const payload = Buffer.allocUnsafe(8 + text.length);
    payload.writeUInt32BE(lastStreamId, 0);
    payload.writeUInt32BE(code, 4);
    text.copy(payload, 8);
    this.frame(FRAME.GOAWAY, 0, 0, payload);
  }

  /** Takes everything batched so far as one buffer (or undefined when empty). */
  take(): Buffer | undefined {
    if (this.parts.length === 0) return undefined;
    const out = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    return out;
  }
}

/**
 * The payload of a HEADERS, DATA or PUSH_PROMISE frame without its padding
 * (and, for HEADERS, without the priority fields). A pad length that does
 * not fit is a PROTOCOL_ERROR (RFC 9113 §6.1).
 */
export function unpad(type: number, flags: number, payload: Buffer): Buffer {
  let start = 0;
  let end = payload.length;
  if ((flags & FLAG.PADDED) !== 0) {
    if (end < 1) throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'padded frame too short');
    const pad = payload.readUInt8(0);
    start = 1;
    end -= pad;
  }
  if (type === FRAME.HEADERS && (flags & FLAG.PRIORITY) !== 0) start += 5;
  if (end < start) {
    throw new H2ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'padding exceeds the frame payload');
  }
  return start === 0 && end === payload.length ? payload : payload.subarray(start, end);
}
