/**
 * The packet model every `gw explain` input is turned into: pcap, pcapng and
 * each tcpdump text form give the same records, so analysis and rendering
 * never know where a packet came from.
 */

export interface Endpoint {
  /** IPv4 dotted quad or IPv6 in canonical compressed form (RFC 5952). */
  readonly address: string;
  readonly port: number;
}

/** TCP header flags as bits, in header order (RFC 9293 §3.1, RFC 3168). */
export const FLAG = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** TCP options as the analysis needs them (RFC 9293 §3.2, RFC 7323, RFC 2018). */
export interface TcpOptions {
  mss?: number;
  /** Window scale shift count (0–14). */
  wscale?: number;
  sackPermitted?: boolean;
  /** SACK blocks as [left, right) absolute sequence numbers. */
  sack?: readonly (readonly [number, number])[];
  tsVal?: number;
  tsEcr?: number;
}

/** One TCP segment as captured. */
export interface TcpPacket {
  /** 1-based position in the capture, counting every frame (TCP or not), as Wireshark numbers them. */
  readonly index: number;
  /** Capture time in seconds since the epoch (microsecond precision or better). */
  readonly time: number;
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly ipVersion: 4 | 6;
  /** Bitwise OR of FLAG values. */
  readonly flags: number;
  /** Absolute sequence number (uint32). */
  readonly seq: number;
  /** Absolute acknowledgment number (uint32); meaningful when ACK is set. */
  readonly ack: number;
  /** The window field as sent (before scaling). */
  readonly win: number;
  /** TCP payload length in bytes (from the IP length, not the captured length). */
  readonly len: number;
  readonly options: TcpOptions;
  /** The first captured bytes of the payload, when the capture has them (pcap). */
  readonly payload?: Uint8Array;
  /** Interface name and direction, when the capture says (`-i any`: In/Out). */
  readonly iface?: string;
  readonly direction?: 'in' | 'out';
  /** What the source line or frame said after the TCP part (e.g. `HTTP: GET / HTTP/1.1`). */
  readonly note?: string;
}

/** A frame that was not TCP (UDP, ICMP, ARP, ...), counted and skipped. */
export interface SkippedFrame {
  readonly index: number;
  readonly reason: string;
}
