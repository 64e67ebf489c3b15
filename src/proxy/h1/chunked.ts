import { H1Error, parseFields, trailerFieldKept } from './head.js';

/**
 * An incremental, strict decoder of the chunked transfer coding (RFC 9112
 * §7.1): hex sizes without sign or overflow, chunk extensions of visible
 * characters, CRLF everywhere, and a trailer section parsed as header
 * fields. It reports data as ranges of the buffers it is given (no copies),
 * and says where the message ended so pipelined bytes after it are kept.
 *
 * A relay that passes the coding on as it is takes the bytes up to
 * {@link ChunkedDecoder.rawEnd} raw and the trailer section from
 * {@link ChunkedDecoder.trailerSection}: rewritten without the fields a
 * trailer must not carry (framing, routing, hop-by-hop; RFC 9110 §6.5.1),
 * so a `Content-Length` trailer cannot reach a target that merges trailers
 * into the header section.
 */

/** Decoder states. */
const Size = 0;
const SizeSpace = 1;
const Extension = 2;
const SizeLf = 3;
const Data = 4;
const DataCr = 5;
const DataLf = 6;
const TrailerLineStart = 7;
const TrailerLine = 8;
const TrailerLineLf = 9;
const TrailerEndLf = 10;
const Done = 11;

const CR = 13;
const LF = 10;
/** The trailer section of a message without trailer fields. */
const EMPTY_TRAILER = Buffer.from('\r\n', 'latin1');

/** Receives a data range `buf[start, end)`. */
export type DataSink = (buf: Buffer, start: number, end: number) => void;

/** Visible characters, obs-text, SP and HTAB: what an extension may hold. */
const EXTENSION = new Uint8Array(256);
for (let c = 0x20; c <= 0x7e; c++) EXTENSION[c] = 1;
for (let c = 0x80; c <= 0xff; c++) EXTENSION[c] = 1;
EXTENSION[9] = 1;

export class ChunkedDecoder {
  /** Data bytes decoded so far. */
  total = 0;
  private state: number = Size;
  private size = 0;
  /** Bytes of the current size line (digits and extension), bounded. */
  private lineBytes = 0;
  private remaining = 0;
  private trailer: number[] | undefined;
  private trailerBytes = 0;
  private readonly maxLineBytes: number;
  private readonly maxTrailerBytes: number;
  /** The status to throw with: 400 for a request body, 502 for a response body. */
  private readonly errorStatus: number;
  /** Field names with `_` stay in the rewritten trailer section. */
  private readonly keepUnderscores: boolean;
  /** Where the trailer section starts in the buffer of the last push, or -1 (not in it). */
  private trailerFrom = -1;
  /** The trailer section as it is passed on, once the message is done. */
  private rewritten: Buffer = EMPTY_TRAILER;

  constructor(
    errorStatus: number,
    maxTrailerBytes = 16 * 1024,
    maxLineBytes = 4096,
    keepUnderscores = false,
  ) {
    this.errorStatus = errorStatus;
    this.maxTrailerBytes = maxTrailerBytes;
    this.maxLineBytes = maxLineBytes;
    this.keepUnderscores = keepUnderscores;
  }

  /**
   * Where the bytes to pass on as they are end in the range the last push
   * decoded (up to `end`, what it returned): before the trailer section,
   * which {@link trailerSection} gives rewritten once the message is done.
   * An empty trailer section read whole in this push stays raw.
   */
  rawEnd(end: number): number {
    const from = this.trailerFrom;
    if (from < 0) return end;
    if (this.state === Done && this.rewritten === EMPTY_TRAILER && end - from === 2) return end;
    return from;
  }

  /** The trailer section to pass on (after the message is done): kept fields and the final CRLF. */
  trailerSection(): Buffer {
    return this.rewritten;
  }

  /** The last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.state === Done;
  }

  /**
   * Decodes `buf[start, end)`, handing data ranges to `onData`. Returns the
   * index where decoding stopped: `end`, or just past the message when it
   * ended inside this range. Throws H1Error on malformed input.
   */
  push(buf: Buffer, start: number, end: number, onData?: DataSink): number {
    this.trailerFrom = this.state >= TrailerLineStart ? start : -1;
    let i = start;
    while (i < end) {
      switch (this.state) {
        case Data: {
          const n = Math.min(this.remaining, end - i);
          onData?.(buf, i, i + n);
          this.total += n;
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = DataCr;
          continue;
        }
        case Size: {
          const c = buf[i] ?? 0;
          const digit = hexValue(c);
          if (digit >= 0) {
            this.size = this.size * 16 + digit;
            if (this.size > Number.MAX_SAFE_INTEGER) this.fail('chunk size too large');
            this.countLine();
          } else if (this.lineBytes === 0) this.fail('malformed chunk size');
          else if (c === CR) this.state = SizeLf;
          else if (c === 59)
            this.state = Extension; // ;
          else if (c === 32 || c === 9) this.state = SizeSpace;
          else this.fail('malformed chunk size');
          break;
        }
        case SizeSpace: {
          const c = buf[i];
          // Whitespace after a size may only lead to an extension (BWS ";").
          if (c === 59) this.state = Extension;
          else if (c !== 32 && c !== 9) this.fail('malformed chunk size');
          this.countLine();
          break;
        }
        case Extension: {
          const c = buf[i] ?? 0;
          if (c === CR) this.state = SizeLf;
          else if (EXTENSION[c] !== 1) this.fail('invalid character in a chunk extension');
          this.countLine();
          break;
        }
        case SizeLf:
          if (buf[i] !== LF) this.fail('chunk size line without LF');
          if (this.size === 0) {
            this.state = TrailerLineStart;
            this.trailerFrom = i + 1;
          } else {
            this.remaining = this.size;
            this.state = Data;
          }
          this.size = 0;
          this.lineBytes = 0;
          break;
        case DataCr:
          if (buf[i] !== CR) this.fail('chunk data longer than its size');
          this.state = DataLf;
          break;
        case DataLf:
          if (buf[i] !== LF) this.fail('chunk data without CRLF');
          this.state = Size;
          break;
        case TrailerLineStart:
          if (buf[i] === LF) this.fail('a trailer line ends in a bare LF');
          if (buf[i] === CR) {
            this.state = TrailerEndLf;
            break;
          }
          this.state = TrailerLine;
          this.keepTrailer(buf, i);
          break;
        case TrailerLine:
          if (buf[i] === CR) this.state = TrailerLineLf;
          else if (buf[i] === LF) this.fail('a trailer line ends in a bare LF');
          this.keepTrailer(buf, i);
          break;
        case TrailerLineLf:
          if (buf[i] !== LF) this.fail('a trailer line ends in a bare CR');
          this.keepTrailer(buf, i);
          this.state = TrailerLineStart;
          break;
        case TrailerEndLf:
          if (buf[i] !== LF) this.fail('trailer section without its final CRLF');
          this.state = Done;
          this.checkTrailer();
          return i + 1;
        case Done:
          return i;
      }
      i++;
    }
    return i;
  }

  private countLine(): void {
    if (++this.lineBytes > this.maxLineBytes) this.fail('chunk size line too long');
  }

  /**
   * Keeps one trailer byte, copied (the caller may reuse its buffer; trailers
   * are rare and short, so byte-wise is fine).
   */
  private keepTrailer(buf: Buffer, i: number): void {
    if (++this.trailerBytes > this.maxTrailerBytes) this.fail('trailer section too large');
    (this.trailer ??= []).push(buf[i] ?? 0);
  }

  /** The trailer fields must parse as header fields do; the ones that may pass are kept. */
  private checkTrailer(): void {
    if (this.trailer === undefined) return;
    const bytes = Buffer.from(this.trailer);
    this.trailer = undefined;
    let raw: string[];
    try {
      raw = parseFields(bytes, 0, bytes.length).raw;
    } catch (err) {
      this.fail(`malformed trailer: ${(err as Error).message}`);
    }
    let kept = '';
    for (let k = 0; k + 1 < raw.length; k += 2) {
      const name = raw[k] ?? '';
      if (trailerFieldKept(name, this.keepUnderscores)) kept += `${name}: ${raw[k + 1] ?? ''}\r\n`;
    }
    this.rewritten = Buffer.from(`${kept}\r\n`, 'latin1');
  }

  private fail(message: string): never {
    throw new H1Error(this.errorStatus, message);
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
