import { FLAG, type TcpPacket } from '../types.js';

/**
 * Wireshark's TCP sequence analysis, re-stated: the per-direction state it
 * keeps and the rules that turn a segment into analysis events. The names
 * and meanings follow Wireshark's `tcp.analysis.*` fields exactly, so gw and
 * tshark can be compared packet by packet.
 */

/** Analysis events, in Wireshark's meaning, named in kebab case. */
export type AnalysisEvent =
  | 'retransmission'
  | 'fast-retransmission'
  | 'spurious-retransmission'
  | 'out-of-order'
  | 'previous-segment-not-captured'
  | 'ack-unseen-segment'
  | 'dup-ack'
  | 'zero-window'
  | 'zero-window-probe'
  | 'zero-window-probe-ack'
  | 'window-full'
  | 'window-update'
  | 'keep-alive'
  | 'keep-alive-ack';

/** What one direction of a connection has shown so far. */
export interface Direction {
  /** Initial sequence number (or seq - 1 when the SYN was not seen). */
  baseSeq: number;
  baseSet: boolean;
  /** Window scale shift: -1 unknown (no SYN seen), -2 no scaling agreed, else the shift. */
  winScale: number;
  /** The last window field sent (unscaled); starts at a value no window equals. */
  window: number;
  /** Highest sequence number sent so far + 1 (0 = none yet, as Wireshark keeps it). */
  nextSeq: number;
  /** Microseconds. */
  nextSeqTime: number;
  nextSeqFrame: number;
  /** Highest contiguous sequence number sent, that the peer may acknowledge. */
  maxSeqToBeAcked: number;
  lastAck: number;
  /** Microseconds. */
  lastAckTime: number;
  dupAcks: number;
  lastNonDupAck: number;
  /** Events of the last segment sent this way. */
  lastEvents: ReadonlySet<AnalysisEvent>;
}

export function newDirection(): Direction {
  return {
    baseSeq: 0,
    baseSet: false,
    winScale: -1,
    window: -1,
    nextSeq: 0,
    nextSeqTime: 0,
    nextSeqFrame: 0,
    maxSeqToBeAcked: 0,
    lastAck: 0,
    lastAckTime: 0,
    dupAcks: 0,
    lastNonDupAck: 0,
    lastEvents: new Set(),
  };
}

/** a > b in sequence space (RFC 9293 §3.4: comparisons modulo 2^32). */
export function gtSeq(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}
export function ltSeq(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function leSeq(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
const u32 = (n: number): number => n >>> 0;

/** The result of analysing one segment. */
export interface SegmentAnalysis {
  readonly events: ReadonlySet<AnalysisEvent>;
  /** For a duplicate ACK: its number (#1, #2, ...) and the frame it duplicates. */
  readonly dupAckNum?: number;
  readonly dupAckOf?: number;
  /** For a retransmission: the frame that first carried the highest data. */
  readonly retransmitOf?: number;
}

const SYN_FIN_RST = FLAG.SYN | FLAG.FIN | FLAG.RST;
/** Fast retransmission must follow the duplicate ACKs within this long (µs). */
const FAST_RETRANSMIT_WINDOW_US = 20_000;
/** Out-of-order threshold when the handshake RTT is unknown (µs). */
const DEFAULT_OOO_THRESHOLD_US = 3_000;

/** Seconds (a double) to whole microseconds. */
export function microseconds(seconds: number): number {
  return Math.round(seconds * 1e6);
}

/**
 * Analyses one segment travelling `fwd` (answers going `rev`) and updates
 * both directions' state. `firstRtt` is the handshake RTT in seconds, or 0
 * when unknown. Mirrors Wireshark's tcp_analyze_sequence_number order of
 * checks, since several are only meaningful when earlier ones did not match.
 */
export function analyzeSegment(
  fwd: Direction,
  rev: Direction,
  packet: TcpPacket,
  firstRtt: number,
): SegmentAnalysis {
  const { seq, ack, len, flags, index } = packet;
  // Time in whole microseconds: exact differences, whatever the epoch (seconds since 1970
  // in a double would make near-threshold comparisons depend on rounding).
  const time = microseconds(packet.time);
  const window = packet.win;
  const events = new Set<AnalysisEvent>();
  let dupAckNum: number | undefined;
  let dupAckOf: number | undefined;
  let retransmitOf: number | undefined;
  const plain = (flags & SYN_FIN_RST) === 0;

  if (!fwd.baseSet) {
    fwd.baseSeq = flags & FLAG.SYN ? seq : u32(seq - 1);
    fwd.baseSet = true;
  }
  if (!rev.baseSet && flags & FLAG.ACK) {
    rev.baseSeq = u32(ack - 1);
    rev.baseSet = true;
  }

  checks: {
    // A zero-window probe: one byte at the next expected sequence number into a closed window.
    if (len === 1 && seq === fwd.nextSeq && rev.window === 0) {
      events.add('zero-window-probe');
      break checks;
    }
    if (window === 0 && plain) events.add('zero-window');
    // A gap: this segment starts beyond everything seen so far.
    if (fwd.nextSeq !== 0 && gtSeq(seq, fwd.nextSeq) && (flags & FLAG.RST) === 0) {
      events.add('previous-segment-not-captured');
    }
    // A keep-alive: 0 or 1 byte starting one byte before the next expected sequence number.
    if (len <= 1 && seq === u32(fwd.nextSeq - 1) && plain) events.add('keep-alive');
    const sameAsBefore = len === 0 && seq === fwd.nextSeq && ack === fwd.lastAck && plain;
    if (sameAsBefore && window !== 0 && window !== fwd.window) events.add('window-update');
    if (len > 0 && rev.winScale !== -1 && plain) {
      const shift = rev.winScale === -2 ? 0 : rev.winScale;
      if (u32(seq + len) === u32(rev.lastAck + rev.window * 2 ** shift)) events.add('window-full');
    }
    if (sameAsBefore && window !== 0 && window === fwd.window && rev.lastEvents.has('keep-alive')) {
      events.add('keep-alive-ack');
      break checks;
    }
    if (
      sameAsBefore &&
      window === 0 &&
      window === fwd.window &&
      rev.lastEvents.has('zero-window-probe')
    ) {
      events.add('zero-window-probe-ack');
      break checks;
    }
    if (sameAsBefore && window !== 0 && window === fwd.window) {
      fwd.dupAcks++;
      events.add('dup-ack');
      dupAckNum = fwd.dupAcks;
      dupAckOf = fwd.lastNonDupAck;
    }
  }

  if (ack !== fwd.lastAck) {
    fwd.lastNonDupAck = index;
    fwd.dupAcks = 0;
  }
  // The segment acknowledges data we never saw going the other way.
  if (rev.maxSeqToBeAcked !== 0 && gtSeq(ack, rev.maxSeqToBeAcked) && flags & FLAG.ACK) {
    events.add('ack-unseen-segment');
    rev.maxSeqToBeAcked = rev.nextSeq;
  }

  if ((len > 0 || flags & (FLAG.SYN | FLAG.FIN)) && !events.has('keep-alive')) {
    let notAdvanced = fwd.nextSeq !== 0 && ltSeq(seq, fwd.nextSeq);
    // Real new data right after a possible zero-window probe is not a retransmission.
    if (len > 1 && u32(fwd.nextSeq - 1) === seq) notAdvanced = false;
    const sinceDupAck = time - rev.lastAckTime;
    const sinceNewest = time - fwd.nextSeqTime;
    const oooThreshold = firstRtt > 0 ? microseconds(firstRtt) : DEFAULT_OOO_THRESHOLD_US;
    if (
      notAdvanced &&
      rev.dupAcks >= 2 &&
      rev.lastAck === seq &&
      sinceDupAck < FAST_RETRANSMIT_WINDOW_US
    ) {
      events.add('fast-retransmission');
    } else if (len > 0 && rev.lastAck !== 0 && leSeq(u32(seq + len), rev.lastAck)) {
      // Everything in it was acknowledged already: the resend was not needed.
      events.add('spurious-retransmission');
    } else if (notAdvanced && sinceNewest < oooThreshold && fwd.nextSeq !== u32(seq + len)) {
      events.add('out-of-order');
    } else if (notAdvanced) {
      events.add('retransmission');
      retransmitOf = fwd.nextSeqFrame;
    }
  }

  let nextSeq = u32(seq + len);
  if (flags & (FLAG.SYN | FLAG.FIN)) nextSeq = u32(nextSeq + 1);
  const probe = events.has('zero-window-probe');
  if ((fwd.nextSeq === 0 || gtSeq(nextSeq, fwd.nextSeq)) && !probe) {
    fwd.nextSeq = nextSeq;
    fwd.nextSeqFrame = index;
    fwd.nextSeqTime = time;
  }
  if ((seq === fwd.maxSeqToBeAcked || fwd.maxSeqToBeAcked === 0) && !probe) {
    fwd.maxSeqToBeAcked = fwd.nextSeq;
  }
  fwd.window = window;
  fwd.lastAck = ack;
  fwd.lastAckTime = time;
  fwd.lastEvents = events;

  return {
    events,
    ...(dupAckNum === undefined ? {} : { dupAckNum, dupAckOf: dupAckOf ?? 0 }),
    ...(retransmitOf === undefined ? {} : { retransmitOf }),
  };
}
