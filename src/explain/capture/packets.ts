import type { SkippedFrame, TcpPacket } from '../types.js';
import { decodeFrame } from './decode-frame.js';
import type { CaptureRecord } from './record.js';

/** What reading a capture counted besides its TCP packets. */
export interface CaptureStats {
  frames: number;
  tcp: number;
  /** Frames skipped, by reason (UDP, ARP, truncated TCP header, ...). */
  skipped: Map<string, number>;
  /** The first few skipped frames, for messages. */
  examples: SkippedFrame[];
  /** Text lines skipped for being too long to read (tcpdump text only). */
  longLines: LongLines;
  /**
   * True when the packets carry no capture times (tcpdump -t text): their
   * `time` is 0, and times, durations and RTTs are unknown. Set before the
   * first packet is handed out.
   */
  untimed?: boolean;
}

/** How many text lines were too long to read, and the first few of them. */
export interface LongLines {
  count: number;
  /** The first five: 1-based line number and length in characters. */
  readonly first: { readonly line: number; readonly chars: number }[];
}

export function newStats(): CaptureStats {
  return { frames: 0, tcp: 0, skipped: new Map(), examples: [], longLines: newLongLines() };
}

export function newLongLines(): LongLines {
  return { count: 0, first: [] };
}

/**
 * Turns one captured record, of a link type gw reads (SUPPORTED_LINKTYPES:
 * the caller checks), into a TCP packet, or counts it as skipped.
 */
export function packetOf(record: CaptureRecord, stats: CaptureStats): TcpPacket | undefined {
  stats.frames++;
  const index = stats.frames;
  const decoded = decodeFrame(record.linkType, record.data);
  if (decoded.kind === 'other') {
    stats.skipped.set(decoded.reason, (stats.skipped.get(decoded.reason) ?? 0) + 1);
    if (stats.examples.length < 5) stats.examples.push({ index, reason: decoded.reason });
    return undefined;
  }
  stats.tcp++;
  const packet: TcpPacket = {
    index,
    time: record.time,
    src: decoded.src,
    dst: decoded.dst,
    ipVersion: decoded.ipVersion,
    flags: decoded.flags,
    seq: decoded.seq,
    ack: decoded.ack,
    win: decoded.win,
    len: decoded.len,
    options: decoded.options,
    payload: decoded.payload,
    ...(decoded.direction === undefined ? {} : { direction: decoded.direction }),
    ...(record.interfaceName === undefined ? {} : { iface: record.interfaceName }),
  };
  return packet;
}
