import { FLAG, type Endpoint, type TcpPacket } from '../types.js';
import {
  analyzeSegment,
  microseconds,
  gtSeq,
  newDirection,
  type AnalysisEvent,
  type Direction,
} from './seq-analysis.js';
import { classify } from './classify.js';
import { advanceStates, type EndStates, type StateChange } from './tcp-state.js';

export type Phase = 'handshake' | 'transfer' | 'teardown' | 'reset';
export type Role = 'client' | 'server';

/** What kind of reset an RST is (RFC 9293 §3.5.2). */
export type ResetKind = 'refused' | 'abort' | 'after-close';

/** One connection (a TCP stream, in tshark's words). */
export interface Connection {
  /** 0-based, in order of first appearance, as tshark numbers tcp.stream. */
  readonly id: number;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** True when the capture began mid-stream and the roles are a guess. */
  readonly rolesGuessed: boolean;
  readonly c2s: Direction;
  readonly s2c: Direction;
  readonly states: EndStates;
  /** Handshake RTT (SYN to the client's ACK), seconds; 0 until known. */
  irtt: number;
  /** When the most recent SYN was seen (seconds), if one was. */
  synTime: number | undefined;
  /** A SYN+ACK was seen: only then can an ACK complete a handshake (a refused SYN gets RST+ACK). */
  synAckSeen: boolean;
  clientFinSeq: number | undefined;
  serverFinSeq: number | undefined;
  /** The packet (index) that carried each side's first FIN. */
  finIndex: { client: number; server: number };
  /** Whether each side's FIN has been acknowledged. */
  finAcked: { client: boolean; server: boolean };
  /** True once the FINs crossed: a FIN that does not acknowledge the peer's FIN (RFC 9293 §3.6). */
  simultaneousClose: boolean;
  /** Which side closed first: the sender of the first FIN or RST (the active closer). */
  firstCloser: Role | undefined;
  teardownSteps: number;
  handshakeDone: boolean;
  firstIndex: number;
  lastIndex: number;
  firstTime: number;
  lastTime: number;
  packets: { client: number; server: number };
  bytes: { client: number; server: number };
  counts: Map<AnalysisEvent, number>;
  end: 'fin' | 'rst' | 'open';
  resetKind: ResetKind | undefined;
}

/** A packet with everything the renderers need. */
export interface AnalyzedPacket {
  readonly packet: TcpPacket;
  readonly conn: Connection;
  readonly from: Role;
  readonly newConnection: boolean;
  /** Sequence and ack numbers relative to each side's ISN (as tcpdump and Wireshark show them). */
  readonly relSeq: number;
  readonly relAck: number;
  /** The receive window in bytes, with the agreed scaling applied (the raw field when unknown). */
  readonly window: number;
  /**
   * The window scale shift applied to `window` (0 when none was agreed), or
   * undefined when the SYNs were not captured and the scale is unknown.
   */
  readonly windowScale: number | undefined;
  readonly phase: Phase;
  /** Handshake step 1–3 or teardown step 1–4; 0 for none. */
  readonly step: number;
  readonly events: readonly AnalysisEvent[];
  readonly dupAckNum?: number;
  readonly dupAckOf?: number;
  readonly retransmitOf?: number;
  /** For a FIN the sender already sent: the packet that carried it first. */
  readonly repeatsFinOf?: number;
  /** For a teardown packet: the FINs crossed (simultaneous close). */
  readonly simultaneousClose?: boolean;
  readonly stateChanges: readonly StateChange[];
  readonly resetKind?: ResetKind;
}

const EVENT_ORDER: readonly AnalysisEvent[] = [
  'retransmission',
  'fast-retransmission',
  'spurious-retransmission',
  'out-of-order',
  'previous-segment-not-captured',
  'ack-unseen-segment',
  'dup-ack',
  'zero-window',
  'zero-window-probe',
  'zero-window-probe-ack',
  'window-full',
  'window-update',
  'keep-alive',
  'keep-alive-ack',
];

/** The events of a packet that has none (shared, never changed). */
const NO_EVENTS: readonly AnalysisEvent[] = Object.freeze([]);

const key = (a: Endpoint, b: Endpoint): string => {
  const x = `${a.address}|${a.port}`;
  const y = `${b.address}|${b.port}`;
  return x < y ? `${x}>${y}` : `${y}>${x}`;
};
const same = (a: Endpoint, b: Endpoint): boolean => a.address === b.address && a.port === b.port;

/**
 * Streams packets through per-connection analysis: connection tracking
 * (split when a port pair is reused with a new SYN), client/server roles,
 * relative sequence numbers, window scaling, handshake and teardown steps,
 * both ends' TCP states, and Wireshark's analysis events. Pure and
 * incremental: memory grows with the number of connections, not packets.
 */
export class Analyzer {
  private readonly byKey = new Map<string, Connection>();
  private nextId = 0;
  readonly connections: Connection[] = [];

  push(packet: TcpPacket): AnalyzedPacket {
    const k = key(packet.src, packet.dst);
    let conn = this.byKey.get(k);
    let newConnection = false;
    if (conn === undefined || this.isReuse(conn, packet)) {
      conn = this.open(packet);
      this.byKey.set(k, conn);
      newConnection = true;
    }
    return analyzePacket(conn, packet, newConnection);
  }

  /** A new SYN with a different ISN on a known port pair starts a new connection (as Wireshark does). */
  private isReuse(conn: Connection, packet: TcpPacket): boolean {
    if ((packet.flags & (FLAG.SYN | FLAG.ACK)) !== FLAG.SYN) return false;
    const fwd = same(packet.src, conn.client) ? conn.c2s : conn.s2c;
    return fwd.baseSet && packet.seq !== fwd.baseSeq;
  }

  private open(packet: TcpPacket): Connection {
    const synAck = (packet.flags & (FLAG.SYN | FLAG.ACK)) === (FLAG.SYN | FLAG.ACK);
    const syn = (packet.flags & FLAG.SYN) !== 0 && !synAck;
    // The SYN's sender is the client; a SYN+ACK's receiver is. Otherwise guess:
    // the side using the lower (well-known) port is the server.
    let clientIsSrc: boolean;
    if (syn) clientIsSrc = true;
    else if (synAck) clientIsSrc = false;
    else clientIsSrc = packet.src.port > packet.dst.port;
    const conn: Connection = {
      id: this.nextId++,
      client: clientIsSrc ? packet.src : packet.dst,
      server: clientIsSrc ? packet.dst : packet.src,
      rolesGuessed: !syn && !synAck,
      c2s: newDirection(),
      s2c: newDirection(),
      states:
        syn || synAck
          ? { client: 'CLOSED', server: 'CLOSED' }
          : { client: 'ESTABLISHED', server: 'ESTABLISHED' },
      irtt: 0,
      synTime: undefined,
      synAckSeen: false,
      clientFinSeq: undefined,
      serverFinSeq: undefined,
      finIndex: { client: 0, server: 0 },
      finAcked: { client: false, server: false },
      simultaneousClose: false,
      firstCloser: undefined,
      teardownSteps: 0,
      handshakeDone: !syn && !synAck,
      firstIndex: packet.index,
      lastIndex: packet.index,
      firstTime: packet.time,
      lastTime: packet.time,
      packets: { client: 0, server: 0 },
      bytes: { client: 0, server: 0 },
      counts: new Map(),
      end: 'open',
      resetKind: undefined,
    };
    this.connections.push(conn);
    return conn;
  }
}

function analyzePacket(
  conn: Connection,
  packet: TcpPacket,
  newConnection: boolean,
): AnalyzedPacket {
  const from: Role = same(packet.src, conn.client) ? 'client' : 'server';
  const fwd = from === 'client' ? conn.c2s : conn.s2c;
  const rev = from === 'client' ? conn.s2c : conn.c2s;
  const { flags } = packet;
  noteWindowScale(fwd, rev, packet);
  noteRtt(conn, packet);
  const analysis = analyzeSegment(fwd, rev, packet, conn.irtt);
  const relSeq = (packet.seq - fwd.baseSeq) >>> 0;
  const relAck = flags & FLAG.ACK ? (packet.ack - rev.baseSeq) >>> 0 : 0;
  // A SYN's window is never scaled; otherwise the scale is known only from the SYNs.
  const windowScale =
    flags & FLAG.SYN ? 0 : fwd.winScale === -1 ? undefined : Math.max(0, fwd.winScale);
  const window = packet.win * 2 ** (windowScale ?? 0);

  const peer: Role = from === 'client' ? 'server' : 'client';
  const peerFin = from === 'client' ? conn.serverFinSeq : conn.clientFinSeq;
  const ownFin = from === 'client' ? conn.clientFinSeq : conn.serverFinSeq;
  const acksPeerFin =
    (flags & FLAG.ACK) !== 0 && peerFin !== undefined && gtSeq(packet.ack, peerFin);
  const acksPeerSyn = (flags & FLAG.ACK) !== 0 && !conn.handshakeDone;
  // A FIN at or before the sender's first FIN repeats it: it closes nothing new.
  const repeatsFin =
    (flags & FLAG.FIN) !== 0 &&
    ownFin !== undefined &&
    !gtSeq((packet.seq + packet.len) >>> 0, ownFin);
  const { phase, step, resetKind } = classify(conn, packet, from, acksPeerFin, repeatsFin);
  if (flags & FLAG.FIN && !repeatsFin) {
    const finSeq = (packet.seq + packet.len) >>> 0;
    if (from === 'client') conn.clientFinSeq ??= finSeq;
    else conn.serverFinSeq ??= finSeq;
    conn.finIndex[from] = packet.index;
  }
  if (flags & (FLAG.FIN | FLAG.RST)) conn.firstCloser ??= from;
  if (acksPeerFin) conn.finAcked[peer] = true;
  const stateChanges = advanceStates(conn.states, {
    from,
    flags: repeatsFin ? flags & ~FLAG.FIN : flags,
    acksPeerFin,
    acksPeerSyn,
    senderFinBefore: ownFin !== undefined,
  });
  if (conn.states.client === 'ESTABLISHED' && conn.states.server === 'ESTABLISHED')
    conn.handshakeDone = true;

  conn.lastIndex = packet.index;
  conn.lastTime = packet.time;
  conn.packets[from]++;
  conn.bytes[from] += packet.len;
  // Most packets have no event: no list to build for them.
  const events =
    analysis.events.size === 0 ? NO_EVENTS : EVENT_ORDER.filter((e) => analysis.events.has(e));
  for (const e of events) conn.counts.set(e, (conn.counts.get(e) ?? 0) + 1);
  if (flags & FLAG.RST) {
    conn.end = 'rst';
    conn.resetKind ??= resetKind;
  } else if (
    conn.end === 'open' &&
    conn.clientFinSeq !== undefined &&
    conn.serverFinSeq !== undefined
  ) {
    conn.end = 'fin';
  }
  return {
    packet,
    conn,
    from,
    newConnection,
    relSeq,
    relAck,
    window,
    windowScale,
    phase,
    step,
    events,
    stateChanges,
    ...(analysis.dupAckNum === undefined
      ? {}
      : { dupAckNum: analysis.dupAckNum, dupAckOf: analysis.dupAckOf ?? 0 }),
    ...(analysis.retransmitOf === undefined ? {} : { retransmitOf: analysis.retransmitOf }),
    ...(resetKind === undefined ? {} : { resetKind }),
    ...(repeatsFin ? { repeatsFinOf: conn.finIndex[from] } : {}),
    ...(phase === 'teardown' && conn.simultaneousClose ? { simultaneousClose: true } : {}),
  };
}

/** Window scaling applies once both SYNs carried the option (RFC 7323 §2.2). */
function noteWindowScale(fwd: Direction, rev: Direction, packet: TcpPacket): void {
  if ((packet.flags & FLAG.SYN) === 0) return;
  fwd.winScale = packet.options.wscale ?? -2;
  if (packet.flags & FLAG.ACK && (fwd.winScale === -2 || rev.winScale === -2)) {
    fwd.winScale = -2;
    rev.winScale = -2;
  }
}

/** The handshake RTT: from the most recent SYN to the first segment with ACK and without SYN. */
function noteRtt(conn: Connection, packet: TcpPacket): void {
  const { flags } = packet;
  if ((flags & (FLAG.SYN | FLAG.ACK)) === FLAG.SYN) conn.synTime = packet.time;
  else if ((flags & (FLAG.SYN | FLAG.ACK)) === (FLAG.SYN | FLAG.ACK)) conn.synAckSeen = true;
  else if (
    // The handshake's third step: a plain ACK after the SYN+ACK, never the RST+ACK of a refusal.
    (flags & (FLAG.SYN | FLAG.ACK | FLAG.RST)) === FLAG.ACK &&
    conn.synAckSeen &&
    conn.synTime !== undefined &&
    conn.irtt === 0
  ) {
    conn.irtt = (microseconds(packet.time) - microseconds(conn.synTime)) / 1e6;
  }
}
