import type { Endpoint, TcpOptions } from '../types.js';
import { LINKTYPE } from './link-types.js';

/** A frame's TCP segment, before it is numbered and timed. */
export interface DecodedTcp {
  readonly kind: 'tcp';
  readonly ipVersion: 4 | 6;
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly flags: number;
  readonly seq: number;
  readonly ack: number;
  readonly win: number;
  readonly len: number;
  readonly options: TcpOptions;
  readonly payload: Uint8Array;
  readonly direction?: 'in' | 'out';
}

/** A frame that is not a (complete enough) TCP segment, and why. */
export interface DecodedOther {
  readonly kind: 'other';
  readonly reason: string;
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = [0x8100, 0x88a8, 0x9100];
const PROTO_TCP = 6;
/** IPv6 extension headers that may precede TCP (RFC 8200 §4). */
const IPV6_EXTENSIONS = new Set([0, 43, 60, 51]);
const IPV6_FRAGMENT = 44;

/**
 * Decodes one captured frame of the given link type down to its TCP header.
 * Never throws: anything that is not TCP, or is cut short before the TCP
 * header ends, comes back as `other` with a reason, to be counted.
 */
export function decodeFrame(linkType: number, frame: Uint8Array): DecodedTcp | DecodedOther {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const link = linkPayload(linkType, view);
  if (typeof link === 'string') return { kind: 'other', reason: link };
  const { offset, ethertype, direction } = link;
  const version =
    ethertype === ETHERTYPE_IPV6 ? 6 : ethertype === ETHERTYPE_IPV4 ? 4 : ipVersionAt(view, offset);
  const decoded =
    version === 4
      ? decodeIpv4(view, frame, offset)
      : version === 6
        ? decodeIpv6(view, frame, offset)
        : ({
            kind: 'other',
            reason: `ethertype 0x${ethertype.toString(16).padStart(4, '0')}`,
          } as const);
  if (decoded.kind === 'tcp' && direction !== undefined) return { ...decoded, direction };
  return decoded;
}

interface LinkResult {
  offset: number;
  /** 0 when the link layer does not say (raw IP: read the version nibble). */
  ethertype: number;
  direction?: 'in' | 'out' | undefined;
}

function linkPayload(linkType: number, view: DataView): LinkResult | string {
  const length = view.byteLength;
  switch (linkType) {
    case LINKTYPE.ETHERNET: {
      if (length < 14) return 'truncated Ethernet header';
      let offset = 12;
      let ethertype = view.getUint16(offset);
      // 802.1Q / 802.1ad tags, possibly stacked (QinQ).
      while (ETHERTYPE_VLAN.includes(ethertype)) {
        if (length < offset + 6) return 'truncated VLAN tag';
        offset += 4;
        ethertype = view.getUint16(offset);
      }
      return { offset: offset + 2, ethertype };
    }
    case LINKTYPE.LINUX_SLL: {
      if (length < 16) return 'truncated Linux cooked header';
      return {
        offset: 16,
        ethertype: view.getUint16(14),
        direction: sllDirection(view.getUint16(0)),
      };
    }
    case LINKTYPE.LINUX_SLL2: {
      if (length < 20) return 'truncated Linux cooked v2 header';
      return {
        offset: 20,
        ethertype: view.getUint16(0),
        direction: sllDirection(view.getUint8(10)),
      };
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (length < 4) return 'truncated loopback header';
      // NULL stores the family in the writer's byte order; accept either.
      const be = view.getUint32(0);
      const le = view.getUint32(0, true);
      const family = linkType === LINKTYPE.LOOP ? be : le < 0x10000 ? le : be;
      if (family === 2) return { offset: 4, ethertype: ETHERTYPE_IPV4 };
      if (family === 24 || family === 28 || family === 30 || family === 10) {
        return { offset: 4, ethertype: ETHERTYPE_IPV6 };
      }
      return `loopback address family ${family}`;
    }
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_OLD:
      return { offset: 0, ethertype: 0 };
    case LINKTYPE.IPV4:
      return { offset: 0, ethertype: ETHERTYPE_IPV4 };
    case LINKTYPE.IPV6:
      return { offset: 0, ethertype: ETHERTYPE_IPV6 };
    default:
      return `link type ${linkType}`;
  }
}

/** Linux packet types: 0 to us, 1 broadcast, 2 multicast, 3 to someone else, 4 sent by us. */
function sllDirection(packetType: number): 'in' | 'out' | undefined {
  if (packetType === 4) return 'out';
  if (packetType <= 3) return 'in';
  return undefined;
}

function ipVersionAt(view: DataView, offset: number): number {
  return offset < view.byteLength ? view.getUint8(offset) >> 4 : 0;
}

function decodeIpv4(view: DataView, frame: Uint8Array, offset: number): DecodedTcp | DecodedOther {
  if (view.byteLength < offset + 20) return { kind: 'other', reason: 'truncated IPv4 header' };
  const ihl = (view.getUint8(offset) & 0x0f) * 4;
  if (ihl < 20) return { kind: 'other', reason: 'bad IPv4 header length' };
  const totalLength = view.getUint16(offset + 2);
  const protocol = view.getUint8(offset + 9);
  if (protocol !== PROTO_TCP) return { kind: 'other', reason: protocolName(protocol) };
  const fragment = view.getUint16(offset + 6) & 0x1fff;
  if (fragment !== 0) return { kind: 'other', reason: 'IPv4 fragment' };
  const src = ipv4(view, offset + 12);
  const dst = ipv4(view, offset + 16);
  // TSO on the capturing host may give total length 0; then trust the frame.
  const ipEnd = totalLength === 0 ? view.byteLength : offset + totalLength;
  return decodeTcp(view, frame, offset + ihl, ipEnd, 4, src, dst);
}

function decodeIpv6(view: DataView, frame: Uint8Array, offset: number): DecodedTcp | DecodedOther {
  if (view.byteLength < offset + 40) return { kind: 'other', reason: 'truncated IPv6 header' };
  const payloadLength = view.getUint16(offset + 4);
  let next = view.getUint8(offset + 6);
  const src = ipv6(view, offset + 8);
  const dst = ipv6(view, offset + 24);
  let at = offset + 40;
  const ipEnd = payloadLength === 0 ? view.byteLength : at + payloadLength;
  for (let hops = 0; IPV6_EXTENSIONS.has(next) && hops < 8; hops++) {
    if (view.byteLength < at + 8)
      return { kind: 'other', reason: 'truncated IPv6 extension header' };
    const following = view.getUint8(at);
    at += next === 51 ? (view.getUint8(at + 1) + 2) * 4 : (view.getUint8(at + 1) + 1) * 8;
    next = following;
  }
  if (next === IPV6_FRAGMENT) return { kind: 'other', reason: 'IPv6 fragment' };
  if (next !== PROTO_TCP) return { kind: 'other', reason: protocolName(next) };
  return decodeTcp(view, frame, at, ipEnd, 6, src, dst);
}

function decodeTcp(
  view: DataView,
  frame: Uint8Array,
  offset: number,
  ipEnd: number,
  ipVersion: 4 | 6,
  srcAddress: string,
  dstAddress: string,
): DecodedTcp | DecodedOther {
  if (view.byteLength < offset + 20) return { kind: 'other', reason: 'truncated TCP header' };
  const dataOffset = (view.getUint8(offset + 12) >> 4) * 4;
  if (dataOffset < 20) return { kind: 'other', reason: 'bad TCP header length' };
  const headerEnd = offset + dataOffset;
  const options = view.byteLength >= headerEnd ? parseOptions(view, offset + 20, headerEnd) : {};
  const len = Math.max(0, ipEnd - headerEnd);
  const payloadEnd = Math.min(view.byteLength, headerEnd + len);
  return {
    kind: 'tcp',
    ipVersion,
    src: { address: srcAddress, port: view.getUint16(offset) },
    dst: { address: dstAddress, port: view.getUint16(offset + 2) },
    seq: view.getUint32(offset + 4),
    ack: view.getUint32(offset + 8),
    flags: view.getUint8(offset + 13),
    win: view.getUint16(offset + 14),
    len,
    options,
    payload: headerEnd < payloadEnd ? frame.subarray(headerEnd, payloadEnd) : new Uint8Array(0),
  };
}

/** TCP options (RFC 9293 §3.2); stops quietly at anything malformed. */
export function parseOptions(view: DataView, start: number, end: number): TcpOptions {
  const options: TcpOptions = {};
  let at = start;
  while (at < end) {
    const kind = view.getUint8(at);
    if (kind === 0) break; // end of option list
    if (kind === 1) {
      at++; // no-operation
      continue;
    }
    if (at + 1 >= end) break;
    const size = view.getUint8(at + 1);
    if (size < 2 || at + size > end) break;
    if (kind === 2 && size === 4) options.mss = view.getUint16(at + 2);
    else if (kind === 3 && size === 3) options.wscale = Math.min(14, view.getUint8(at + 2));
    else if (kind === 4 && size === 2) options.sackPermitted = true;
    else if (kind === 5 && (size - 2) % 8 === 0) {
      const blocks: [number, number][] = [];
      for (let b = at + 2; b + 8 <= at + size; b += 8)
        blocks.push([view.getUint32(b), view.getUint32(b + 4)]);
      options.sack = blocks;
    } else if (kind === 8 && size === 10) {
      options.tsVal = view.getUint32(at + 2);
      options.tsEcr = view.getUint32(at + 6);
    }
    at += size;
  }
  return options;
}

function ipv4(view: DataView, at: number): string {
  return `${view.getUint8(at)}.${view.getUint8(at + 1)}.${view.getUint8(at + 2)}.${view.getUint8(at + 3)}`;
}

/** An IPv6 address in RFC 5952 form: lower case, longest zero run compressed. */
export function ipv6(view: DataView, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(view.getUint16(at + i * 2));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${ipv4(view, at + 12)}`;
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

function protocolName(protocol: number): string {
  switch (protocol) {
    case 1:
      return 'ICMP';
    case 17:
      return 'UDP';
    case 58:
      return 'ICMPv6';
    case 132:
      return 'SCTP';
    default:
      return `IP protocol ${protocol}`;
  }
}
