/**
 * Matching an IP address against CIDR blocks (IPv4 and IPv6; an IPv4-mapped
 * IPv6 address matches as its IPv4 form), for `trustedProxies` and
 * `allowFrom`. Pure: the address and the blocks are text.
 */
import { parseIp } from './ip-address.js';

interface Block {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/**
 * A matcher for `cidrs` (`10.0.0.0/8`, `::1/128`, or a bare address, as the
 * schema canonicalised them): true for an address inside any of them.
 */
export function cidrMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  if (cidrs.length === 0) return () => false;
  const blocks: Block[] = [];
  for (const cidr of cidrs) {
    const [address = '', prefixText] = cidr.split('/');
    const parsed = parseIp(address);
    if (parsed === undefined) continue;
    const prefix = prefixText === undefined ? parsed.bytes.length * 8 : Number(prefixText);
    // A block of IPv4-mapped addresses (::ffff:10.0.0.0/104) is the IPv4 block it maps
    // (10.0.0.0/8), since clients' mapped addresses are matched as IPv4.
    if (parsed.bytes.length === 16 && isMapped(parsed.bytes) && prefix >= 96) {
      blocks.push({ bytes: parsed.bytes.subarray(12), prefix: prefix - 96 });
    } else blocks.push({ bytes: parsed.bytes, prefix });
  }
  // Clients repeat: a verdict is remembered per address text, so the common request costs one
  // Map lookup instead of parsing the address. Bounded: emptied when full.
  const seen = new Map<string, boolean>();
  return (ip) => {
    const known = seen.get(ip);
    if (known !== undefined) return known;
    const bytes = addressBytes(ip);
    let inside = false;
    if (bytes !== undefined) {
      for (const block of blocks) {
        if (inBlock(bytes, block)) {
          inside = true;
          break;
        }
      }
    }
    if (seen.size >= VERDICTS_KEPT) seen.clear();
    seen.set(ip, inside);
    return inside;
  };
}

/** Addresses whose verdict a matcher remembers at most. */
const VERDICTS_KEPT = 4096;

function inBlock(bytes: Uint8Array, block: Block): boolean {
  if (bytes.length !== block.bytes.length) return false;
  let left = block.prefix;
  for (let i = 0; left > 0; i++, left -= 8) {
    const mask = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((block.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** The address as 4 or 16 bytes (an IPv4-mapped IPv6 address as its 4), or undefined. */
function addressBytes(ip: string): Uint8Array | undefined {
  const parsed = parseIp(ip);
  if (parsed === undefined) return undefined;
  const { bytes } = parsed;
  if (bytes.length === 16 && isMapped(bytes)) return bytes.subarray(12);
  return bytes;
}

/** `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2). */
function isMapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}
