/**
 * IP addresses for `gw conns`: decoding the hex of /proc/net, printing IPv6
 * as inet_ntop does (so gw and ss agree character for character), and
 * parsing `--local`/`--remote` addresses and CIDR blocks. Pure.
 */

import { parseIp } from '../shared/ip-address.js';

export { parseIp };

/** An address or block given on the command line. */
export interface Cidr {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
  /** Prefix length in bits (32 or 128 for a single address). */
  prefix: number;
}

/** The value of one hex digit's character code, or -1. */
export function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/**
 * The bytes of a /proc/net address: the kernel prints the address as 32-bit
 * words (one for IPv4, four for IPv6), each `%08X` of the word in host byte
 * order, so on little-endian machines (x86, arm64) every word's bytes come
 * out reversed: `0100007F` is 127.0.0.1. Undefined for malformed hex.
 */
export function procHexBytes(hex: string): Uint8Array | undefined {
  if (hex.length !== 8 && hex.length !== 32) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let word = 0; word < hex.length / 8; word++) {
    for (let i = 0; i < 4; i++) {
      const at = word * 8 + (3 - i) * 2;
      const hi = hexDigit(hex.charCodeAt(at));
      const lo = hexDigit(hex.charCodeAt(at + 1));
      if (hi < 0 || lo < 0) return undefined;
      bytes[word * 4 + i] = (hi << 4) | lo;
    }
  }
  return bytes;
}

/** `a.b.c.d` from 4 bytes (starting at `offset`). */
export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset] ?? 0}.${bytes[offset + 1] ?? 0}.${bytes[offset + 2] ?? 0}.${bytes[offset + 3] ?? 0}`;
}

/** True for `::ffff:a.b.c.d`, an IPv4 peer of an IPv6 socket. */
export function isV4Mapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * IPv6 text exactly as inet_ntop (glibc, libuv) writes it: lower-case hex
 * without leading zeros, the longest run of two or more zero groups (the
 * first if tied) as `::`, and a dotted IPv4 tail for `::ffff:a.b.c.d` and
 * `::a.b.c.d` (RFC 4291 §2.5.5), which is how ss prints them.
 */
export function formatIpv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [bestBase, bestLen] = [i, j - i];
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  const v4Tail = bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff));
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestBase) {
      out += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    if (v4Tail && i === 6) return `${out}${formatIpv4(bytes, 12)}`;
    out += `${(words[i] ?? 0).toString(16)}${i < 7 ? ':' : ''}`;
  }
  return out;
}

/** The text of a /proc/net hex address (`0100007F` → `127.0.0.1`), or undefined if malformed. */
export function decodeProcAddress(hex: string): string | undefined {
  const bytes = procHexBytes(hex);
  if (bytes === undefined) return undefined;
  return bytes.length === 4 ? formatIpv4(bytes) : formatIpv6(bytes);
}

/** Parses `ADDR` or `ADDR/PREFIX` (IPv4 or IPv6); undefined if it is neither. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.lastIndexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(addressText);
  if (ip === undefined) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined;
  return { family: ip.family, bytes: ip.bytes, prefix: Number(prefixText) };
}

function prefixEqual(a: Uint8Array, aOffset: number, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[aOffset + i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[aOffset + whole] ?? 0) & mask) === ((b[whole] ?? 0) & mask);
}

/**
 * True when `address` (a socket's address text) lies in `cidr`. An IPv4
 * block also matches IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1` is
 * 10.0.0.1 talking to an IPv6 socket).
 */
export function cidrContains(cidr: Cidr, address: string): boolean {
  const ip = parseIp(address);
  if (ip === undefined) return false;
  if (cidr.family === ip.family) return prefixEqual(ip.bytes, 0, cidr.bytes, cidr.prefix);
  if (cidr.family === 4 && isV4Mapped(ip.bytes)) {
    return prefixEqual(ip.bytes, 12, cidr.bytes, cidr.prefix);
  }
  return false;
}
