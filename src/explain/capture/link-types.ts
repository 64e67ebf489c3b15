/**
 * Link-layer header types (the LINKTYPE_* values of pcap and pcapng, as
 * registered at tcpdump.org) that gw explain can read, and where in a frame
 * of each the IP packet begins.
 */
export const LINKTYPE = {
  NULL: 0, // BSD loopback: 4-byte address family in host byte order
  ETHERNET: 1,
  RAW: 101, // raw IPv4/IPv6, version from the first nibble
  RAW_OLD: 12, // DLT_RAW on some BSDs
  LOOP: 108, // OpenBSD loopback: 4-byte address family in network byte order
  LINUX_SLL: 113, // Linux cooked capture v1 (`-i any`)
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276, // Linux cooked capture v2
} as const;

const NAMES: Readonly<Record<number, string>> = {
  0: 'NULL (BSD loopback)',
  1: 'Ethernet',
  12: 'RAW',
  101: 'RAW',
  108: 'LOOP (OpenBSD loopback)',
  113: 'LINUX_SLL (Linux cooked v1)',
  228: 'IPV4',
  229: 'IPV6',
  276: 'LINUX_SLL2 (Linux cooked v2)',
  // A few that people meet and gw does not read, so the error can name them.
  105: 'IEEE802_11 (Wi-Fi)',
  127: 'IEEE802_11_RADIOTAP',
  147: 'USER0',
  192: 'PPI',
  220: 'USB_LINUX_MMAPPED',
  9: 'PPP',
  50: 'PPP_HDLC',
};

/** The link types this reader supports. */
export const SUPPORTED_LINKTYPES: ReadonlySet<number> = new Set(Object.values(LINKTYPE));

/** `Ethernet (1)`, or `LINKTYPE 147 (USER0)`. */
export function linkTypeName(linkType: number): string {
  const name = NAMES[linkType];
  return name === undefined ? `LINKTYPE ${linkType}` : `${name} (${linkType})`;
}
