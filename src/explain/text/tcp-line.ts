/**
 * The TCP part of one tcpdump line, read as printed (tcpdump's print-tcp.c):
 *
 *     SRC.PORT > DST.PORT: Flags [FLAGS], [cksum C (correct|incorrect -> C),]
 *       [seq S[:E],] [ack A,] win W, [urg U,] [options [...],] length L[: NOTE]
 *
 * Sequence numbers stay as printed here (relative or absolute);
 * sequence-numbers.ts turns them into absolute ones. The scanner walks the
 * line with indexOf and character codes, no regular expressions, so a long
 * or hostile line costs time linear in its length.
 */
import { FLAG, type TcpOptions } from '../types.js';
import { servicePort } from './services.js';

/** What a TCP line says, before sequence numbers are made absolute. */
export interface PrintedTcp {
  readonly srcHost: string;
  readonly srcPort: number;
  readonly dstHost: string;
  readonly dstPort: number;
  /** Where the source endpoint starts: everything before it is link and IP header text. */
  readonly srcAt: number;
  readonly flags: number;
  /** As printed; tcpdump leaves it out of pure ACKs (unless -vv). */
  readonly seq: number | undefined;
  /** As printed; only when the ACK flag is set. */
  readonly ack: number | undefined;
  readonly win: number;
  readonly len: number;
  /** SACK edges as printed (relative like `ack` when the sequence numbers are). */
  readonly options: TcpOptions;
  readonly note: string | undefined;
}

/** The marker every TCP line has between its endpoints and its flags. */
export const FLAGS_MARKER = ': Flags [';

const UINT32_MAX = 0xffffffff;

/** Where the last {@link uintAt} stopped (a module-level out-parameter: no tuple per number). */
let numberEnd = 0;

/**
 * Reads an unsigned decimal (at most 32 bits) at `at`, leaving the index
 * after it in `numberEnd`; -1 when there is none or it overflows.
 */
function uintAt(text: string, at: number): number {
  let value = 0;
  let i = at;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) break;
    value = value * 10 + (code - 48);
    i++;
  }
  numberEnd = i;
  return i === at || i - at > 10 || value > UINT32_MAX ? -1 : value;
}

/** Flag letters in tcpdump's order (print-tcp.c tcp_flag_values). */
function flagBit(code: number): number {
  switch (code) {
    case 70: // F
      return FLAG.FIN;
    case 83: // S
      return FLAG.SYN;
    case 82: // R
      return FLAG.RST;
    case 80: // P
      return FLAG.PSH;
    case 46: // .
      return FLAG.ACK;
    case 85: // U
      return FLAG.URG;
    case 69: // E
      return FLAG.ECE;
    case 87: // W
      return FLAG.CWR;
    case 101: // e: AE (accurate ECN, RFC 9768), outside the 8-bit flag field
      return 0;
    default:
      return -1;
  }
}

function parseFlags(text: string, at: number, end: number): number {
  if (text.startsWith('none', at) && end === at + 4) return 0;
  if (end === at) return -1;
  let flags = 0;
  for (let i = at; i < end; i++) {
    const bit = flagBit(text.charCodeAt(i));
    if (bit < 0) return -1;
    flags |= bit;
  }
  return flags;
}

/** `host.port` → [host, port]; the port may be a service name (tcpdump without -n). */
export function splitEndpoint(token: string): [string, number] | string {
  const dot = token.lastIndexOf('.');
  if (dot <= 0 || dot === token.length - 1) return 'endpoint without a port';
  const host = token.slice(0, dot);
  const port = uintAt(token, dot + 1);
  if (numberEnd === token.length) {
    return port >= 0 && port <= 0xffff ? [host, port] : 'port out of range';
  }
  const name = token.slice(dot + 1);
  const named = servicePort(name);
  if (named === undefined)
    return `unknown service name "${name}" (print ports as numbers: tcpdump -nn)`;
  return [host, named];
}

/** The index of the `]` closing the `[` just before `at`, counting nested brackets. */
function closingBracket(text: string, at: number): number {
  let depth = 1;
  for (let i = at; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 91) depth++;
    else if (code === 93 && --depth === 0) return i;
  }
  return -1;
}

/**
 * Reads the TCP part of a line whose `: Flags [` marker is at `markerAt`.
 * Returns the reason as a string when the line cannot be read.
 */
export function parseTcpPart(text: string, markerAt: number): PrintedTcp | string {
  const arrow = text.lastIndexOf(' > ', markerAt);
  if (arrow < 0) return 'TCP line without endpoints';
  const srcAt = text.lastIndexOf(' ', arrow - 1) + 1;
  const src = splitEndpoint(text.slice(srcAt, arrow));
  if (typeof src === 'string') return src;
  const dst = splitEndpoint(text.slice(arrow + 3, markerAt));
  if (typeof dst === 'string') return dst;
  const flagsAt = markerAt + FLAGS_MARKER.length;
  const flagsEnd = text.indexOf(']', flagsAt);
  if (flagsEnd < 0) return 'TCP line without flags';
  const flags = parseFlags(text, flagsAt, flagsEnd);
  if (flags < 0) return 'unknown TCP flags';
  const fields = parseFields(text, flagsEnd + 1);
  if (typeof fields === 'string') return fields;
  return {
    srcHost: src[0],
    srcPort: src[1],
    dstHost: dst[0],
    dstPort: dst[1],
    srcAt,
    flags,
    ...fields,
  };
}

interface Fields {
  seq: number | undefined;
  ack: number | undefined;
  win: number;
  len: number;
  options: TcpOptions;
  note: string | undefined;
}

function parseFields(text: string, from: number): Fields | string {
  let seq: number | undefined;
  let ack: number | undefined;
  let win = -1;
  let options: TcpOptions = {};
  let i = from;
  while (text.startsWith(', ', i)) {
    i += 2;
    const key = text.charCodeAt(i);
    if (key === 115 /* s */ && text.startsWith('seq ', i)) {
      seq = uintAt(text, i + 4);
      if (seq < 0) return 'bad sequence number';
      if (text.charCodeAt(numberEnd) === 58 /* : */) uintAt(text, numberEnd + 1);
      i = numberEnd;
    } else if (key === 97 /* a */ && text.startsWith('ack ', i)) {
      ack = uintAt(text, i + 4);
      i = numberEnd;
      if (ack < 0) return 'bad acknowledgment number';
    } else if (key === 119 /* w */ && text.startsWith('win ', i)) {
      win = uintAt(text, i + 4);
      i = numberEnd;
      if (win < 0 || win > 0xffff) return 'bad window';
    } else if (key === 111 /* o */ && text.startsWith('options [', i)) {
      const close = closingBracket(text, i + 9);
      if (close < 0) return truncated(text, from, 'TCP options without their closing bracket');
      options = parseOptions(text, i + 9, close);
      i = close + 1;
    } else if (key === 108 /* l */ && text.startsWith('length ', i)) {
      const len = uintAt(text, i + 7);
      if (len < 0) return 'bad length';
      if (win < 0) return 'TCP line without a window';
      return { seq, ack, win, len, options, note: noteAt(text, numberEnd) };
    } else {
      // cksum, urg and anything newer: none holds ", " inside.
      const next = text.indexOf(', ', i);
      if (next < 0) break;
      i = next;
    }
  }
  return truncated(text, from, 'TCP line without a length');
}

/** tcpdump marks what the snapshot length cut off with `[|tcp]`. */
function truncated(text: string, from: number, otherwise: string): string {
  return text.includes('[|tcp]', from) ? 'TCP header cut short by the snapshot length' : otherwise;
}

/** What follows `length N`: `: HTTP: GET / HTTP/1.1` gives `HTTP: GET / HTTP/1.1`. */
function noteAt(text: string, at: number): string | undefined {
  if (at >= text.length) return undefined;
  const rest = text.startsWith(': ', at) ? text.slice(at + 2) : text.slice(at);
  const note = rest.trim();
  return note === '' ? undefined : note;
}

/**
 * The options tcpdump prints between `from` and `to`, e.g.
 * `mss 65495,sackOK,TS val 1 ecr 0,nop,wscale 7` or `nop,nop,sack 1 {1001:2001}`.
 * tcpdump appends `[len N]` to an option whose length byte is wrong (and
 * `[bad opt]` where it gave up); like the pcap readers, such options are not
 * taken.
 */
export function parseOptions(text: string, from: number, to: number): TcpOptions {
  const options: TcpOptions = {};
  for (let i = from; i < to;) {
    let end = text.indexOf(',', i);
    if (end < 0 || end > to) end = to;
    if (text.charCodeAt(end - 1) === 93 /* ] */) {
      if (text.startsWith('[bad opt]', end - 9)) break;
    } else if (text.startsWith('mss ', i)) {
      const mss = uintAt(text, i + 4);
      if (mss >= 0 && mss <= 0xffff) options.mss = mss;
    } else if (text.startsWith('wscale ', i)) {
      const shift = uintAt(text, i + 7);
      if (shift >= 0 && shift <= 0xff) options.wscale = Math.min(14, shift);
    } else if (text.startsWith('sackOK', i) && end === i + 6) {
      options.sackPermitted = true;
    } else if (text.startsWith('sack ', i)) {
      const blocks = sackBlocks(text, i + 5, end);
      if (blocks !== undefined) options.sack = blocks;
    } else if (text.startsWith('TS val ', i)) {
      const tsVal = uintAt(text, i + 7);
      const tsEcr = text.startsWith(' ecr ', numberEnd) ? uintAt(text, numberEnd + 5) : -1;
      if (tsVal >= 0 && tsEcr >= 0) {
        options.tsVal = tsVal;
        options.tsEcr = tsEcr;
      }
    } else if (text.startsWith('eol', i) && end === i + 3) {
      break;
    }
    i = end + 1;
  }
  return options;
}

/** `2 {1001:2001}{3001:4001}` (after `sack `) → the edges as printed. */
function sackBlocks(text: string, from: number, to: number): [number, number][] | undefined {
  const count = uintAt(text, from);
  if (count < 0 || text.charCodeAt(numberEnd) !== 32) return undefined;
  const blocks: [number, number][] = [];
  let i = numberEnd + 1;
  while (i < to && text.charCodeAt(i) === 123 /* { */) {
    const left = uintAt(text, i + 1);
    if (left < 0 || text.charCodeAt(numberEnd) !== 58) return undefined;
    const right = uintAt(text, numberEnd + 1);
    if (right < 0 || text.charCodeAt(numberEnd) !== 125) return undefined;
    blocks.push([left, right]);
    i = numberEnd + 1;
  }
  return blocks.length === count && i === to ? blocks : undefined;
}
