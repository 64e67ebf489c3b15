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
  /**
   * The window scale shift applied to `win` (0 when none was agreed); null
   * when the capture missed the SYNs, so the scale is unknown and `win` is
   * the raw window field.
   */
  winScale: number | null;
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
    winScale: a.windowScale ?? null,
    phase: a.phase,
    step: a.step,
    events: a.events,
    states: { client: a.conn.states.client, server: a.conn.states.server },
    text: describePacket(a, lang),
  };
  if (a.dupAckNum !== undefined) json.dupAck = { num: a.dupAckNum, of: a.dupAckOf ?? 0 };
  return json;
}
