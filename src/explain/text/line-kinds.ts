/**
 * What the parts of a tcpdump line around the TCP segment say: the banner
 * and trailer lines tcpdump writes to stderr (often captured along with the
 * packets), the link-level prefix (`-i any`: interface and direction; `-e`:
 * MAC addresses and ethertype), and why a packet line is not TCP.
 */

/** True for an empty line or one of spaces and tabs only. */
export function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code !== 32 && code !== 9) return false;
  }
  return true;
}

/** True when the line starts with a space or a tab. */
export function isIndented(text: string): boolean {
  const code = text.charCodeAt(0);
  return code === 32 || code === 9;
}

/** `\t0x0010:  7f00 0001 ...` from -x/-X (and -xx/-XX). */
export function isHexDump(text: string): boolean {
  const at = text.search(/\S/);
  return at >= 0 && text.startsWith('0x', at) && text.charCodeAt(at + 6) === 58;
}

const BANNERS = [
  'reading from file ',
  'listening on ',
  'tcpdump: ',
  'dropped privs to ',
  'Warning: ',
  'WARNING: ',
];
const TRAILERS = [
  ' packets captured',
  ' packet captured',
  ' packets received by filter',
  ' packet received by filter',
  ' packets dropped by kernel',
  ' packet dropped by kernel',
  ' packets dropped by interface',
  ' packet dropped by interface',
];

/** tcpdump's own messages: `reading from file ...`, `listening on ...`, `N packets captured`, ... */
export function isBanner(text: string): boolean {
  for (const banner of BANNERS) if (text.startsWith(banner)) return true;
  const digits = text.search(/\D/);
  if (digits <= 0) return false;
  for (const trailer of TRAILERS) if (text.startsWith(trailer, digits)) return true;
  return false;
}

/** Linux packet types as tcpdump prints them for `-i any` (print-sll.c). */
const DIRECTIONS: Readonly<Record<string, 'in' | 'out'>> = {
  In: 'in',
  Out: 'out',
  B: 'in', // broadcast
  M: 'in', // multicast
  P: 'in', // to another host
};

/** Interface and direction from a line's prefix, when it has them. */
export interface LinkInfo {
  readonly iface: string | undefined;
  readonly direction: 'in' | 'out' | undefined;
}

const NO_LINK_INFO: LinkInfo = { iface: undefined, direction: undefined };

/**
 * Reads the interface and direction `-i any` puts after the timestamp:
 * `lo    In  IP ...` (Linux cooked v2), or with -e, `Out 2a:a2:... ethertype`
 * (cooked v1, no interface name) and `eth0  Out ifindex 2 2a:a2:...` (v2).
 */
export function linkInfo(text: string, at: number): LinkInfo {
  // The common case first: no link-level prefix at all.
  if (text.startsWith('IP ', at) || text.startsWith('IP6 ', at)) return NO_LINK_INFO;
  let start = at;
  while (text.charCodeAt(start) === 32) start++;
  const firstEnd = text.indexOf(' ', start);
  if (firstEnd < 0) return NO_LINK_INFO;
  const first = text.slice(start, firstEnd);
  const firstDirection = DIRECTIONS[first];
  if (firstDirection !== undefined) return { iface: undefined, direction: firstDirection };
  let second = firstEnd;
  while (text.charCodeAt(second) === 32) second++;
  const secondEnd = text.indexOf(' ', second);
  if (secondEnd < 0) return NO_LINK_INFO;
  const direction = DIRECTIONS[text.slice(second, secondEnd)];
  return direction === undefined ? NO_LINK_INFO : { iface: first, direction };
}

/** The IP version the link-level prefix announces (`IP6`, `ethertype IPv6`), 4 otherwise. */
export function prefixIpVersion(text: string, from: number, to: number): 4 | 6 {
  const ip6 = Math.max(text.lastIndexOf('IP6 ', to), text.lastIndexOf('IPv6', to));
  const ip4 = Math.max(text.lastIndexOf('IP ', to), text.lastIndexOf('IPv4', to));
  return ip6 >= from && ip6 > ip4 ? 6 : 4;
}

const FRAME_STARTS = ['IP ', 'IP6 ', 'ARP', 'STP', 'LLDP', 'LLC', 'CDP', 'EAPOL', 'IPX', '802.1'];
const MAC_PREFIX = /^[0-9a-f]{2}(:[0-9a-f]{2}){5} /;

/** For captures printed without timestamps (`-t`): does this line start a packet? */
export function looksLikeFrame(text: string): boolean {
  for (const start of FRAME_STARTS) if (text.startsWith(start)) return true;
  if (MAC_PREFIX.test(text)) return true;
  if (text.includes(': Flags [') || text.includes(', length ')) return true;
  return linkInfo(text, 0).direction !== undefined;
}

/** The -v header line of an IPv4 packet that carries TCP: its TCP part follows on the next line. */
export function ipv4HeaderKind(text: string, at: number): 'tcp' | 'fragment' | undefined {
  if (!text.endsWith(')') || !text.includes('proto TCP (6)', at)) return undefined;
  return text.includes(', offset 0,', at) ? 'tcp' : 'fragment';
}

/**
 * The number `tcpdump -#` prints before each packet (`%5u  `), and where the
 * rest of the line starts; undefined for other lines.
 */
export function packetNumber(text: string): [number, number] | undefined {
  let i = 0;
  while (text.charCodeAt(i) === 32) i++;
  const digits = i;
  let value = 0;
  while (i < text.length && i - digits < 10) {
    const code = text.charCodeAt(i);
    if (!isDigitCode(code)) break;
    value = value * 10 + (code - 48);
    i++;
  }
  // tcpdump counts from 1.
  if (i === digits || value === 0 || !text.startsWith('  ', i)) return undefined;
  const next = text.charCodeAt(i + 2);
  const packetFollows = i + 2 < text.length && next !== 32 && next !== 9;
  // ... or the sign column of a -ttt/-ttttt stamp
  const stampFollows = next === 32 && isDigitCode(text.charCodeAt(i + 3));
  return packetFollows || stampFollows ? [value, i + 2] : undefined;
}

function isDigitCode(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * Why a TCP segment printed inside something else is skipped, as the pcap
 * readers skip it: the quoted header in an ICMP error, or the inner packet
 * of a tunnel (IP in IP, GRE, ...), which a line shows after an outer IP layer.
 */
export function encapsulation(text: string, from: number, to: number): string | undefined {
  const prefix = text.slice(from, to);
  if (prefix.includes('ICMP')) return prefix.includes('ICMP6') ? 'ICMPv6' : 'ICMP';
  let layers = 0;
  for (const marker of ['IP ', 'IP6 ', 'ethertype IPv4', 'ethertype IPv6']) {
    for (let i = prefix.indexOf(marker); i >= 0; i = prefix.indexOf(marker, i + 1)) layers++;
  }
  return layers > 1 ? 'tunnelled packet (IP in IP, GRE, ...)' : undefined;
}

/** Why a packet line that tcpdump did not print as a TCP segment is skipped. */
export function nonTcpReason(text: string, at: number): string {
  const body = at === 0 ? text : text.slice(at);
  if (body.includes('[bad hdr length')) return 'bad TCP header length';
  if (body.includes(': tcp ')) return 'TCP without details (tcpdump -q)';
  if (body.includes('ICMP6')) return 'ICMPv6';
  if (body.includes('ICMP')) return 'ICMP';
  if (body.includes('UDP')) return 'UDP';
  if (body.includes('ARP')) return 'ARP';
  if (body.includes('IGMP')) return 'IGMP';
  if (body.includes('IP6 ') || body.includes('IPv6')) return 'IPv6, not TCP';
  if (body.includes('IP ') || body.includes('IPv4')) return 'IPv4, not TCP';
  return 'not IP';
}
