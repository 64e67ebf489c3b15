import { FLAG, type TcpPacket } from '../types.js';
import type { Connection, Phase, ResetKind, Role } from './analyzer.js';

/**
 * What part of a connection's life a packet belongs to (handshake,
 * transfer, teardown, reset) and its step there. Updates the connection's
 * teardown bookkeeping (steps reached, simultaneous close).
 */
export function classify(
  conn: Connection,
  packet: TcpPacket,
  from: Role,
  acksPeerFin: boolean,
  repeatsFin: boolean,
): { phase: Phase; step: number; resetKind?: ResetKind } {
  const { flags } = packet;
  if (flags & FLAG.RST) {
    const refused =
      conn.states[from] === 'LISTEN' ||
      (conn.states[from === 'client' ? 'server' : 'client'] === 'SYN_SENT' && !conn.handshakeDone);
    const closed = conn.clientFinSeq !== undefined || conn.serverFinSeq !== undefined;
    return {
      phase: 'reset',
      step: 0,
      resetKind: refused ? 'refused' : closed ? 'after-close' : 'abort',
    };
  }
  if (flags & FLAG.SYN) return { phase: 'handshake', step: flags & FLAG.ACK ? 2 : 1 };
  if (!conn.handshakeDone && flags & FLAG.ACK && from === 'client' && packet.len === 0) {
    return { phase: 'handshake', step: 3 };
  }
  // A repeated FIN never advances the teardown (nor, in advanceStates, any state).
  if (repeatsFin) return { phase: 'teardown', step: 0 };
  if (flags & FLAG.FIN || acksPeerFin) {
    const step = teardownStep(conn, flags, from, acksPeerFin);
    if (step <= conn.teardownSteps && !(flags & FLAG.FIN)) {
      // Data still flowing the other way after a half-close, or a repeated ACK.
      return { phase: packet.len > 0 ? 'transfer' : 'teardown', step: 0 };
    }
    conn.teardownSteps = Math.max(conn.teardownSteps, step);
    return { phase: 'teardown', step };
  }
  return { phase: 'transfer', step: 0 };
}

/**
 * The teardown step of a FIN or of an ACK of a FIN. Four-way: FIN (1), its
 * ACK (2), the other FIN (3), its ACK (4). A FIN whose ACK field does not
 * cover the peer's FIN was sent before that FIN arrived: a simultaneous
 * close, whose steps are FIN (1), crossing FIN (2), then the two ACKs (3, 4).
 * Only the first ACK of each FIN is a step.
 */
function teardownStep(conn: Connection, flags: number, from: Role, acksPeerFin: boolean): number {
  const finsBefore =
    (conn.clientFinSeq === undefined ? 0 : 1) + (conn.serverFinSeq === undefined ? 0 : 1);
  if (flags & FLAG.FIN) {
    if (finsBefore === 0) return 1;
    if (acksPeerFin) return 3;
    conn.simultaneousClose = true;
    return 2;
  }
  // Only the first ACK of a FIN is a step; a repeated one (a duplicate ACK, data) is not.
  const peer: Role = from === 'client' ? 'server' : 'client';
  if (conn.finAcked[peer]) return 0;
  if (conn.simultaneousClose) return Math.min(4, conn.teardownSteps + 1);
  return finsBefore >= 2 ? 4 : 2;
}
