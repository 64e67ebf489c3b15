/**
 * The payload of a packet from the dump tcpdump prints under its line: -x/-X
 * (`\t0x0010:  7f00 0001 ...`, the IP packet in hex: exact bytes) and -A (the
 * IP packet as ASCII: bytes outside 0x21–0x7e but space, tab and LF printed
 * as `.`, a CR before an LF dropped). The payload goes where a pcap reader
 * puts it (`TcpPacket.payload`), so application data is recognised alike
 * whatever the input. Pure.
 */
import { FLAG, type TcpPacket } from '../types.js';
import { isBlank, isIndented } from './line-kinds.js';

/** Bytes kept of a dump: headers (at most 120) and the payload's head, which is all that is looked at. */
const MAX_DUMP_BYTES = 512;

/** The dump lines under one TCP packet line, as they come. */
export class PayloadDump {
  private mode: 'hex' | 'ascii' | undefined;
  private readonly bytes: number[] = [];
  private readonly lines: string[] = [];
  private chars = 0;
  private readonly packet: TcpPacket;

  constructor(packet: TcpPacket) {
    this.packet = packet;
  }

  /** Takes a `0x0000:` line of -x/-X; false when a dump of another kind is open. */
  hex(text: string): boolean {
    if (this.mode === 'ascii') return false;
    this.mode = 'hex';
    if (this.bytes.length < MAX_DUMP_BYTES) readHexLine(text, this.bytes);
    return true;
  }

  /**
   * Takes a line of -A output: the first one must be unindented and start
   * with the IP version the packet line showed (`E`..`O` for IPv4, `` ` ``..`o`
   * for IPv6); after it every line is the dump's (the caller stops at the next
   * packet line). False when the line is not one.
   */
  ascii(text: string): boolean {
    if (this.mode === 'hex') return false;
    if (this.mode === undefined) {
      if (!this.mayStartAscii(text)) return false;
      this.mode = 'ascii';
    }
    if (this.chars < MAX_DUMP_BYTES * 2) {
      this.lines.push(text);
      this.chars += text.length + 1;
    }
    return true;
  }

  /** Whether a line could open an -A dump: no dump yet, unindented, and the packet's IP version first. */
  mayStartAscii(text: string): boolean {
    if (this.mode !== undefined || isBlank(text) || isIndented(text)) return false;
    const first = text.charCodeAt(0);
    // The first byte of the IP header is its version and header length: 0x45-0x4f, 0x60-0x6f.
    return this.packet.ipVersion === 4
      ? first >= 0x45 && first <= 0x4f
      : first >= 0x60 && first <= 0x6f;
  }

  /** True once an ASCII dump has begun (blank lines then belong to it). */
  get isAscii(): boolean {
    return this.mode === 'ascii';
  }

  /** The payload's first bytes (at most those kept), or undefined when the dump did not show it. */
  payload(): Uint8Array | undefined {
    if (this.packet.len === 0) return undefined;
    if (this.mode === 'hex') return hexPayload(Uint8Array.from(this.bytes), this.packet);
    if (this.mode === 'ascii') return asciiPayload(this.lines.join('\n'), this.packet);
    return undefined;
  }
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/** Appends the bytes of `\t0x0010:  7f00 0001 90be  ....` (groups of 4 or 2 digits, then -X's ASCII after two spaces). */
function readHexLine(text: string, out: number[]): void {
  let i = text.indexOf(':') + 1;
  while (text.charCodeAt(i) === 32) i++;
  for (let group = 0; group < 8 && i < text.length; group++) {
    let digits = 0;
    while (digits < 4) {
      const high = hexValue(text.charCodeAt(i + digits));
      const low = hexValue(text.charCodeAt(i + digits + 1));
      if (high < 0 || low < 0) break;
      out.push(high * 16 + low);
      digits += 2;
    }
    if (digits === 0) return;
    i += digits;
    // One space between groups; two (or the end) before -X's ASCII column.
    if (text.charCodeAt(i) !== 32 || text.charCodeAt(i + 1) === 32) return;
    i++;
  }
}

/** The TCP payload inside an IP packet's bytes, when its headers are whole and match the packet line. */
function hexPayload(b: Uint8Array, p: TcpPacket): Uint8Array | undefined {
  const version = (b[0] ?? 0) >> 4;
  if (version !== p.ipVersion) return undefined;
  const ipHeader = version === 4 ? ((b[0] ?? 0) & 0x0f) * 4 : 40;
  const protocol = version === 4 ? b[9] : b[6];
  if (protocol !== 6 || b.length < ipHeader + 13) return undefined;
  const start = ipHeader + ((b[ipHeader + 12] ?? 0) >> 4) * 4;
  const payload = b.subarray(start, start + p.len);
  return payload.length === 0 ? undefined : payload;
}

/**
 * The payload in -A's text. The headers' length: IPv4's from its first
 * character (`E` is 0x45: 20 bytes), IPv6's 40; TCP's from its data-offset
 * byte when that printed (`P` is 0x50: 20 bytes), else from the options the
 * packet line lists, laid out as Linux lays them out.
 */
function asciiPayload(text: string, p: TcpPacket): Uint8Array | undefined {
  const ipHeader = p.ipVersion === 4 ? (text.charCodeAt(0) & 0x0f) * 4 : 40;
  const offsetChar = text.charCodeAt(ipHeader + 12);
  const tcpHeader =
    offsetChar >= 0x50 && offsetChar <= 0x7e ? (offsetChar >> 4) * 4 : optionBytes(p) + 20;
  const start = ipHeader + tcpHeader;
  if (start >= text.length) return undefined;
  return Buffer.from(text.slice(start), 'latin1');
}

/** Option bytes as Linux sends them: each option aligned with NOPs to 4 bytes (RFC 7323 Appendix A). */
function optionBytes(p: TcpPacket): number {
  const o = p.options;
  let bytes = 0;
  if (o.mss !== undefined) bytes += 4;
  if (o.tsVal !== undefined)
    bytes += 12; // NOP NOP TS, or SACK-permitted + TS on a SYN
  else if (o.sackPermitted === true) bytes += 4;
  if (o.wscale !== undefined) bytes += 4;
  if (o.sack !== undefined && (p.flags & FLAG.SYN) === 0) bytes += 4 + 8 * o.sack.length;
  return bytes;
}
