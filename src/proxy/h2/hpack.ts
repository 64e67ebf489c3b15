/**
 * HPACK (RFC 7541): the header compression of HTTP/2.
 *
 * Strings are byte strings. Field names and values are opaque octets on the
 * wire; here each octet is one char of a JS string (latin1, Node's 'latin1' /
 * 'binary' encoding), both ways: the decoder turns byte b into char code b, and
 * the encoder writes the low 8 bits of each char code. So a string's length is
 * its length in octets, which is what the dynamic table's size accounting
 * (name + value + 32 per entry, §4.1) and the header list size (RFC 9113
 * §6.5.2) count. Text that is not latin1 (a UTF-8 user-agent, say) must be
 * passed in as its UTF-8 bytes, `Buffer.from(text, 'utf8').toString('latin1')`;
 * chars above 0xff are not checked for and would be truncated.
 *
 * A codec is one direction of one connection: an HpackDecoder for the blocks
 * the peer sends, an HpackEncoder for the blocks we send. Both keep a dynamic
 * table that must stay in step with the peer's, so every block must be passed
 * through, in order; after an HpackError the decoder is out of step and the
 * connection must close (COMPRESSION_ERROR).
 */
import { Buffer } from 'node:buffer';
import {
  huffmanDecode,
  huffmanDecodedMax,
  huffmanEncode,
  huffmanEncodedLength,
} from './hpack-huffman.js';
import { STATIC_BY_NAME, STATIC_LENGTH, STATIC_NAMES, STATIC_VALUES } from './hpack-static.js';

/** Thrown for a malformed header block; the connection must then fail with COMPRESSION_ERROR (RFC 9113 §4.3). */
export class HpackError extends Error {
  override readonly name = 'HpackError';
}

/** SETTINGS_HEADER_TABLE_SIZE's initial value (RFC 9113 §6.5.2). */
const DEFAULT_TABLE_SIZE = 4096;
/** Added to name + value octets for an entry's size (§4.1), and to each field for a list's size. */
const ENTRY_OVERHEAD = 32;
/** The largest integer the decoder accepts: anything above is an overflow. */
const MAX_INTEGER = 0x7fffffff;
/** The weight of the fifth continuation octet: the last an integer up to MAX_INTEGER can need. */
const MAX_CONTINUATION_MULTIPLIER = 2 ** 28;

// First-octet patterns (§6).
const INDEXED = 0x80; // 1xxxxxxx, 7-bit index
const INCREMENTAL = 0x40; // 01xxxxxx, 6-bit name index
const SIZE_UPDATE = 0x20; // 001xxxxx, 5-bit size
const NEVER_INDEXED = 0x10; // 0001xxxx, 4-bit name index
const WITHOUT_INDEXING = 0x00; // 0000xxxx, 4-bit name index
const HUFFMAN = 0x80; // on a string's length octet

/** Encoder policy: values longer than this are sent without indexing, as are `-bin` values over BIN_INDEX_MAX. */
const VALUE_INDEX_MAX = 512;
const BIN_INDEX_MAX = 64;
/** Cookies shorter than this are never indexed (guessable by probing the table, §7.1.3). */
const COOKIE_NEVER_INDEX_BELOW = 20;

/** Strings up to this long are converted in JS (8 chars to decode, 32 to encode); longer by Buffer. */
const SHORT_STRING = 8;

/**
 * Where the last readInteger or readString stopped: a second return value
 * without allocating a tuple per call. Read it straight after the call.
 */
let cursor = 0;

/**
 * Reads an integer with a `mask`-bit prefix (mask = 2^N - 1) starting at
 * `buf[pos]` (which must exist), and leaves the position after it in `cursor`.
 */
function readInteger(buf: Uint8Array, pos: number, end: number, mask: number): number {
  let value = (buf[pos++] ?? 0) & mask;
  if (value === mask) {
    let multiplier = 1;
    for (;;) {
      if (pos >= end) throw new HpackError('truncated integer');
      const octet = buf[pos++] ?? 0;
      value += (octet & 0x7f) * multiplier;
      if (value > MAX_INTEGER) throw new HpackError('integer overflow');
      if ((octet & 0x80) === 0) break;
      if (multiplier === MAX_CONTINUATION_MULTIPLIER) throw new HpackError('integer overflow');
      multiplier *= 128;
    }
  }
  cursor = pos;
  return value;
}

/** Writes `value` with a `mask`-bit prefix whose other bits are `flags`; returns the position after it. */
function writeInteger(
  buf: Uint8Array,
  pos: number,
  value: number,
  mask: number,
  flags: number,
): number {
  if (value < mask) {
    buf[pos++] = flags | value;
    return pos;
  }
  buf[pos++] = flags | mask;
  value -= mask;
  while (value >= 0x80) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buf[pos++] = value;
  return pos;
}

/** Output of Huffman decoding, grown on demand and shared (decoding is synchronous). */
let huffmanScratch: Buffer = Buffer.allocUnsafe(1024);

/** Reads a string literal (§5.2) starting at `buf[pos]`; leaves the position after it in `cursor`. */
function readString(buf: Buffer, pos: number, end: number): string {
  if (pos >= end) throw new HpackError('truncated header block: string literal missing');
  const first = buf[pos] ?? 0;
  let length = first & 0x7f;
  if (length === 0x7f) {
    length = readInteger(buf, pos, end, 0x7f);
    pos = cursor;
  } else {
    pos++;
  }
  if (length > end - pos) {
    throw new HpackError('string literal runs past the end of the header block');
  }
  const stop = pos + length;
  cursor = stop;
  if ((first & HUFFMAN) === 0) return latin1(buf, pos, stop);
  const room = huffmanDecodedMax(length);
  if (room > huffmanScratch.length) {
    huffmanScratch = Buffer.allocUnsafe(Math.max(room, huffmanScratch.length * 2));
  }
  const decoded = huffmanDecode(buf, pos, stop, huffmanScratch);
  if (decoded < 0) throw new HpackError('invalid Huffman string: EOS or bad padding');
  return latin1(huffmanScratch, 0, decoded);
}

/** `buf[start..end)` as a latin1 string; short ones built in JS, cheaper than a call into C++. */
function latin1(buf: Buffer, start: number, end: number): string {
  if (end - start > SHORT_STRING) return buf.toString('latin1', start, end);
  let str = '';
  for (let i = start; i < end; i++) str += String.fromCharCode(buf[i] ?? 0);
  return str;
}

/** The encoder's view of one name in its dynamic table. */
interface DynamicName {
  /** Absolute insertion number of the newest entry with this name. */
  seq: number;
  /** Absolute insertion number of the newest entry with each value. */
  readonly values: Map<string, number>;
}

export class HpackDecoder {
  /** SETTINGS_HEADER_TABLE_SIZE as advertised: the ceiling for size updates. */
  private readonly limit: number;
  /** The dynamic table's current maximum size (the last size update, else `limit`). */
  private maxSize: number;
  private size = 0;
  // The dynamic table, a ring: entry k (1 = newest) is at (next - k) & mask.
  private names: string[] = new Array<string>(16).fill('');
  private values: string[] = new Array<string>(16).fill('');
  private mask = 15;
  private count = 0;
  private next = 0;

  /** `maxTableSize`: the SETTINGS_HEADER_TABLE_SIZE we advertised (default 4096); a size update above it is an HpackError. */
  constructor(maxTableSize = DEFAULT_TABLE_SIZE) {
    checkTableSize(maxTableSize);
    this.limit = maxTableSize;
    this.maxSize = maxTableSize;
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION payloads already joined, padding/priority removed)
   * and appends name, value, name, value ... to `out` (a flat array, names exactly as sent, which HTTP/2 requires
   * lowercase). Names and values are latin1 byte strings (see the module comment).
   * Throws HpackError on any malformed input (bad index, truncated integer/string, integer overflow beyond 2^31,
   * invalid Huffman padding or EOS in a string, table size update not at the start of the block or above the limit).
   * `maxListBytes` (optional): when the decoded list's size (RFC 9113 §6.5.2: sum of name.length + value.length + 32
   * per field) exceeds it, still decode the whole block (to keep the dynamic table in sync) but return false, with
   * `out` as it was before the call; otherwise return true.
   */
  decode(block: Uint8Array, out: string[], maxListBytes = Infinity): boolean {
    const buf = Buffer.isBuffer(block)
      ? block
      : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    const end = buf.length;
    const outStart = out.length;
    let listBytes = 0;
    let fieldSeen = false;
    let pos = 0;
    while (pos < end) {
      const first = buf[pos] ?? 0;
      let name: string;
      let value: string;
      if (first >= INDEXED) {
        let index = first & 0x7f;
        if (index === 0x7f) {
          index = readInteger(buf, pos, end, 0x7f);
          pos = cursor;
        } else {
          pos++;
        }
        if (index === 0) throw new HpackError('indexed field with index 0');
        if (index <= STATIC_LENGTH) {
          name = STATIC_NAMES[index] ?? '';
          value = STATIC_VALUES[index] ?? '';
        } else {
          const slot = this.slot(index);
          name = this.names[slot] ?? '';
          value = this.values[slot] ?? '';
        }
      } else if (first >= SIZE_UPDATE && first < INCREMENTAL) {
        if (fieldSeen) throw new HpackError('dynamic table size update after a field');
        const size = readInteger(buf, pos, end, 0x1f);
        pos = cursor;
        if (size > this.limit) {
          throw new HpackError(
            `dynamic table size update to ${size}, above the limit ${this.limit}`,
          );
        }
        this.maxSize = size;
        this.evict(size);
        continue;
      } else {
        // A literal: with incremental indexing (6-bit name index), or without
        // indexing / never indexed (4-bit); name index 0 means a literal name.
        const incremental = first >= INCREMENTAL;
        const mask = incremental ? 0x3f : 0x0f;
        let index = first & mask;
        if (index === mask) {
          index = readInteger(buf, pos, end, mask);
          pos = cursor;
        } else {
          pos++;
        }
        if (index === 0) {
          name = readString(buf, pos, end);
          pos = cursor;
        } else if (index <= STATIC_LENGTH) {
          name = STATIC_NAMES[index] ?? '';
        } else {
          name = this.names[this.slot(index)] ?? '';
        }
        value = readString(buf, pos, end);
        pos = cursor;
        if (incremental) this.insert(name, value);
      }
      fieldSeen = true;
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      if (listBytes <= maxListBytes) out.push(name, value);
    }
    if (listBytes > maxListBytes) {
      out.length = outStart;
      return false;
    }
    return true;
  }

  /** The ring slot of HPACK index `index` (> STATIC_LENGTH). */
  private slot(index: number): number {
    const k = index - STATIC_LENGTH;
    if (k > this.count) {
      throw new HpackError(
        `index ${index} beyond the table (${STATIC_LENGTH + this.count} entries)`,
      );
    }
    return (this.next - k) & this.mask;
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.maxSize) {
      // Larger than the whole table: empties it, and is not added (§4.4).
      this.evict(0);
      return;
    }
    this.evict(this.maxSize - size);
    if (this.count === this.names.length) this.grow();
    this.names[this.next] = name;
    this.values[this.next] = value;
    this.next = (this.next + 1) & this.mask;
    this.count++;
    this.size += size;
  }

  /** Drops the oldest entries until the table's size is at most `target`. */
  private evict(target: number): void {
    while (this.size > target) {
      const slot = (this.next - this.count) & this.mask;
      this.size -=
        (this.names[slot] ?? '').length + (this.values[slot] ?? '').length + ENTRY_OVERHEAD;
      this.names[slot] = '';
      this.values[slot] = '';
      this.count--;
    }
  }

  private grow(): void {
    const capacity = this.names.length * 2;
    const names = new Array<string>(capacity).fill('');
    const values = new Array<string>(capacity).fill('');
    for (let i = 0; i < this.count; i++) {
      const slot = (this.next - this.count + i) & this.mask;
      names[i] = this.names[slot] ?? '';
      values[i] = this.values[slot] ?? '';
    }
    this.names = names;
    this.values = values;
    this.mask = capacity - 1;
    this.next = this.count;
  }
}

export class HpackEncoder {
  /** The dynamic table's maximum size: the peer's SETTINGS_HEADER_TABLE_SIZE. */
  private maxSize: number;
  /** The smallest size set since the last block, to signal first (§4.2); -1 when none is pending. */
  private pendingMin = -1;
  private size = 0;
  // The dynamic table, a ring indexed by absolute insertion number: entry
  // `seq` is at seq & mask and has HPACK index STATIC_LENGTH + inserted - seq,
  // so neither inserting nor evicting rewrites any index.
  private names: string[] = new Array<string>(16).fill('');
  private values: string[] = new Array<string>(16).fill('');
  private mask = 15;
  private count = 0;
  private inserted = 0;
  /** Dynamic entries by name, then value (no key strings built per field). */
  private readonly byName = new Map<string, DynamicName>();
  private buf: Buffer = Buffer.allocUnsafe(1024);

  /** `maxTableSize`: the peer's SETTINGS_HEADER_TABLE_SIZE (default 4096). */
  constructor(maxTableSize = DEFAULT_TABLE_SIZE) {
    checkTableSize(maxTableSize);
    this.maxSize = maxTableSize;
    // The peer's decoder may still assume the initial 4096: say what we use.
    if (maxTableSize !== DEFAULT_TABLE_SIZE) this.pendingMin = maxTableSize;
  }

  /** The peer changed SETTINGS_HEADER_TABLE_SIZE: the next block starts with a dynamic table size update (RFC 7541 §4.2, §6.3). */
  setMaxTableSize(size: number): void {
    checkTableSize(size);
    this.pendingMin = this.pendingMin < 0 ? size : Math.min(this.pendingMin, size);
    this.maxSize = size;
    this.evict(size);
  }

  /**
   * Encodes name, value, name, value ... (flat array, names already lowercase, latin1 byte strings) into one
   * header block.
   */
  encode(headers: readonly string[]): Buffer {
    if (headers.length % 2 !== 0) throw new RangeError('HPACK encode: odd-length name/value array');
    let buf = this.buf;
    let pos = 0;
    if (this.pendingMin >= 0) {
      // At most two updates: the smallest size since the last block, then the current one.
      if (this.pendingMin < this.maxSize) {
        pos = writeInteger(buf, pos, this.pendingMin, 0x1f, SIZE_UPDATE);
      }
      pos = writeInteger(buf, pos, this.maxSize, 0x1f, SIZE_UPDATE);
      this.pendingMin = -1;
    }
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] ?? '';
      const value = headers[i + 1] ?? '';
      // Worst case: three 6-octet integers, both strings raw.
      const need = pos + name.length + value.length + 18;
      if (need > buf.length) buf = this.grow(need, pos);

      const staticName = STATIC_BY_NAME.get(name);
      if (staticName !== undefined) {
        const index = staticName.values.get(value);
        if (index !== undefined) {
          pos = writeInteger(buf, pos, index, 0x7f, INDEXED);
          continue;
        }
      }
      const dynamicName = this.byName.get(name);
      if (dynamicName !== undefined) {
        const seq = dynamicName.values.get(value);
        if (seq !== undefined) {
          pos = writeInteger(buf, pos, STATIC_LENGTH + this.inserted - seq, 0x7f, INDEXED);
          continue;
        }
      }
      const nameIndex =
        staticName !== undefined
          ? staticName.index
          : dynamicName !== undefined
            ? STATIC_LENGTH + this.inserted - dynamicName.seq
            : 0;
      const entrySize = name.length + value.length + ENTRY_OVERHEAD;
      let incremental = false;
      if (neverIndexed(name, value)) {
        pos = writeInteger(buf, pos, nameIndex, 0x0f, NEVER_INDEXED);
      } else if (
        value.length > VALUE_INDEX_MAX ||
        (value.length > BIN_INDEX_MAX && name.endsWith('-bin')) ||
        entrySize > this.maxSize // would only empty the table
      ) {
        pos = writeInteger(buf, pos, nameIndex, 0x0f, WITHOUT_INDEXING);
      } else {
        pos = writeInteger(buf, pos, nameIndex, 0x3f, INCREMENTAL);
        incremental = true;
      }
      if (nameIndex === 0) pos = writeString(buf, pos, name);
      pos = writeString(buf, pos, value);
      if (incremental) this.insert(name, value, entrySize);
    }
    const block = Buffer.allocUnsafe(pos);
    buf.copy(block, 0, 0, pos);
    return block;
  }

  private grow(need: number, used: number): Buffer {
    const buf = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(buf, 0, 0, used);
    return (this.buf = buf);
  }

  private insert(name: string, value: string, size: number): void {
    this.evict(this.maxSize - size);
    if (this.count === this.names.length) this.growTable();
    const seq = this.inserted++;
    const slot = seq & this.mask;
    this.names[slot] = name;
    this.values[slot] = value;
    this.count++;
    this.size += size;
    const known = this.byName.get(name);
    if (known === undefined) {
      this.byName.set(name, { seq, values: new Map([[value, seq]]) });
    } else {
      known.seq = seq;
      known.values.set(value, seq);
    }
  }

  /** Drops the oldest entries until the table's size is at most `target`, as the peer's decoder will. */
  private evict(target: number): void {
    while (this.size > target) {
      const seq = this.inserted - this.count;
      const slot = seq & this.mask;
      const name = this.names[slot] ?? '';
      const value = this.values[slot] ?? '';
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
      this.names[slot] = '';
      this.values[slot] = '';
      this.count--;
      const known = this.byName.get(name);
      if (known === undefined || known.seq === seq) {
        // The newest entry with this name was the oldest in the table: it was the last one.
        this.byName.delete(name);
      } else if (known.values.get(value) === seq) {
        known.values.delete(value);
      }
    }
  }

  private growTable(): void {
    const capacity = this.names.length * 2;
    const mask = capacity - 1;
    const names = new Array<string>(capacity).fill('');
    const values = new Array<string>(capacity).fill('');
    for (let seq = this.inserted - this.count; seq < this.inserted; seq++) {
      names[seq & mask] = this.names[seq & this.mask] ?? '';
      values[seq & mask] = this.values[seq & this.mask] ?? '';
    }
    this.names = names;
    this.values = values;
    this.mask = mask;
  }
}

/** Fields that must not enter any compression table on the way (§7.1.3). */
function neverIndexed(name: string, value: string): boolean {
  switch (name) {
    case 'authorization':
    case 'proxy-authorization':
    case 'set-cookie':
      return true;
    case 'cookie':
      return value.length < COOKIE_NEVER_INDEX_BELOW;
    default:
      return false;
  }
}

/**
 * Writes a string literal: Huffman-coded when that saves at least a quarter
 * of its length, raw otherwise. `buf` must have room for the raw form.
 */
function writeString(buf: Buffer, pos: number, str: string): number {
  const length = str.length;
  if (length >= 4) {
    const huffmanLength = huffmanEncodedLength(str);
    if (huffmanLength * 4 <= length * 3) {
      pos = writeInteger(buf, pos, huffmanLength, 0x7f, HUFFMAN);
      return huffmanEncode(str, buf, pos);
    }
  }
  pos = writeInteger(buf, pos, length, 0x7f, 0);
  if (length > SHORT_STRING * 4) return pos + buf.write(str, pos, 'latin1');
  for (let i = 0; i < length; i++) buf[pos++] = str.charCodeAt(i);
  return pos;
}

function checkTableSize(size: number): void {
  if (!Number.isInteger(size) || size < 0 || size > 0xffffffff) {
    throw new RangeError(`HPACK table size must be an integer from 0 to 2^32-1, got ${size}`);
  }
}

/** Integer primitives (§5.1), exported for the tests' RFC 7541 C.1 examples. */
export const hpackInteger = {
  /** Encodes `value` with an N-bit prefix (other prefix-octet bits zero). */
  encode(value: number, prefixBits: number): Buffer {
    const buf = Buffer.alloc(8);
    return buf.subarray(0, writeInteger(buf, 0, value, (1 << prefixBits) - 1, 0));
  },
  /** Decodes an N-bit-prefix integer at the start of `bytes`: its value and the octets it took. */
  decode(bytes: Uint8Array, prefixBits: number): { value: number; length: number } {
    if (bytes.length === 0) throw new HpackError('truncated integer');
    const value = readInteger(bytes, 0, bytes.length, (1 << prefixBits) - 1);
    return { value, length: cursor };
  },
};
