/**
 * Host addresses as tcpdump prints them, in the form the pcap readers give:
 * IPv4 dotted quads as they are, IPv6 re-spelled in RFC 5952 form by the
 * same function the pcap readers use (tcpdump spells a few addresses
 * differently, e.g. IPv4-compatible `::1.2.3.4`), and host names (tcpdump
 * without -n) kept as printed, since the analysis only needs endpoints that
 * stay the same from line to line.
 */
import { parseIp } from '../../shared/ip-address.js';
import { ipv6 } from '../capture/decode-frame.js';

const CACHE_LIMIT = 4096;
const ipv6Cache = new Map<string, string>();

/** True for a dotted quad such as `127.0.0.1`. */
export function isIpv4(host: string): boolean {
  let dots = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i < host.length; i++) {
    const code = host.charCodeAt(i);
    if (code === 46) {
      if (digits === 0) return false;
      dots++;
      digits = 0;
      value = 0;
    } else if (code >= 48 && code <= 57 && digits < 3) {
      value = value * 10 + (code - 48);
      digits++;
      if (value > 255) return false;
    } else {
      return false;
    }
  }
  return dots === 3 && digits > 0;
}

/** The host as the pcap readers would spell it, and its IP version when it is an address. */
export function canonicalHost(host: string): { address: string; version: 4 | 6 | undefined } {
  if (host.includes(':')) {
    let address = ipv6Cache.get(host);
    if (address === undefined) {
      address = respellIpv6(host) ?? host;
      if (ipv6Cache.size >= CACHE_LIMIT) ipv6Cache.clear();
      ipv6Cache.set(host, address);
    }
    return { address, version: 6 };
  }
  return { address: host, version: isIpv4(host) ? 4 : undefined };
}

/** Parses IPv6 text (with `::` and a dotted-quad tail) and prints it in RFC 5952 form. */
function respellIpv6(text: string): string | undefined {
  const ip = parseIp(text);
  return ip?.family === 6 ? ipv6(new DataView(ip.bytes.buffer), 0) : undefined;
}
