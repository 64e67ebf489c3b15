import type { AnalyzedPacket } from '../analyze/analyzer.js';
import { describePacket, endpoint, flagLetters, type Lang } from './describe.js';

/** The NDJSON record of one packet (DESIGN.md's contract for `gw explain --json`). */
export interface PacketJson {
  index: number;
  time: number;
  conn: number;
  src: string;
  dst: string;
  from: 'client' | 'server';
  flags: string;
  seq: number;
  ack: number;
  len: number;
  win: number;
  phase: string;
  step: number;
  events: readonly string[];
  dupAck?: { num: number; of: number };
  states: { client: string; server: string };
  text: string;
}

export function packetJson(a: AnalyzedPacket, lang: Lang): PacketJson {
  const p = a.packet;
  const json: PacketJson = {
    index: p.index,
    time: p.time,
    conn: a.conn.id,
    src: endpoint(p.src),
    dst: endpoint(p.dst),
    from: a.from,
    flags: flagLetters(p.flags),
    seq: a.relSeq,
    ack: a.relAck,
    len: p.len,
    win: a.window,
    phase: a.phase,
    step: a.step,
    events: a.events,
    states: { client: a.conn.states.client, server: a.conn.states.server },
    text: describePacket(a, lang),
  };
  if (a.dupAckNum !== undefined) json.dupAck = { num: a.dupAckNum, of: a.dupAckOf ?? 0 };
  return json;
}
