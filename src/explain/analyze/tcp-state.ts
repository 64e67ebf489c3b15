import { FLAG } from '../types.js';

/** TCP connection states (RFC 9293 §3.3.2), as the kernel names them. */
export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN_SENT'
  | 'SYN_RECEIVED'
  | 'ESTABLISHED'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT';

/** Both ends' states as a capture lets us infer them. */
export interface EndStates {
  client: TcpState;
  server: TcpState;
}

export interface StateChange {
  readonly who: 'client' | 'server';
  readonly from: TcpState;
  readonly to: TcpState;
}

/** What the state machine needs to know about one segment. */
export interface SegmentFacts {
  readonly from: 'client' | 'server';
  /** The segment's flags; a repeated FIN is passed without its FIN bit (it closes nothing new). */
  readonly flags: number;
  /** True when the segment's ACK covers the other side's FIN. */
  readonly acksPeerFin: boolean;
  /** True when the segment's ACK covers the other side's SYN. */
  readonly acksPeerSyn: boolean;
  /** True when the sender's own FIN went out in an earlier segment. */
  readonly senderFinBefore: boolean;
}

/**
 * Advances both ends' states for one observed segment, per RFC 9293's state
 * diagram (§3.3.2, and §3.6 for closing). A capture shows when a segment
 * was sent, not when the far end read it, so a side's reaction to a SYN or
 * a FIN is shown when its own segment proves it: LISTEN when the server
 * answers SYN+ACK (a refused SYN leaves it CLOSED), and the receipt of a FIN
 * when the receiver's ACK covers it. Returns the changes, in order.
 */
export function advanceStates(states: EndStates, s: SegmentFacts): StateChange[] {
  const changes: StateChange[] = [];
  const sender = s.from;
  const receiver = s.from === 'client' ? 'server' : 'client';
  const set = (who: 'client' | 'server', to: TcpState): void => {
    const from = states[who];
    if (from === to) return;
    states[who] = to;
    changes.push({ who, from, to });
  };
  const { flags } = s;
  if (flags & FLAG.RST) {
    set(receiver, 'CLOSED');
    set(sender, 'CLOSED');
    return changes;
  }
  if (flags & FLAG.SYN) {
    if (flags & FLAG.ACK) {
      // Only a listening socket answers a SYN with SYN+ACK.
      if (states[sender] === 'CLOSED') set(sender, 'LISTEN');
      set(sender, 'SYN_RECEIVED');
      if (states[receiver] === 'SYN_SENT') set(receiver, 'ESTABLISHED');
    } else {
      set(sender, 'SYN_SENT');
    }
    return changes;
  }
  if (flags & FLAG.ACK && s.acksPeerSyn) {
    if (states[receiver] === 'SYN_RECEIVED') set(receiver, 'ESTABLISHED');
    if (states[sender] === 'SYN_SENT') set(sender, 'ESTABLISHED');
  }
  const ackedFin = (flags & FLAG.ACK) !== 0 && s.acksPeerFin;
  if (ackedFin) finReceived(states[sender], (to) => set(sender, to));
  if (flags & FLAG.FIN) {
    const mine = states[sender];
    if (mine === 'ESTABLISHED' || mine === 'SYN_RECEIVED') set(sender, 'FIN_WAIT_1');
    else if (mine === 'CLOSE_WAIT') set(sender, 'LAST_ACK');
  }
  if (ackedFin) finAcked(states[receiver], s.senderFinBefore, (to) => set(receiver, to));
  return changes;
}

/** The sender's ACK proves that the peer's FIN reached it (RFC 9293 §3.10.7.4, eighth step). */
function finReceived(state: TcpState, set: (to: TcpState) => void): void {
  if (state === 'ESTABLISHED' || state === 'SYN_RECEIVED') set('CLOSE_WAIT');
  // Its own FIN is not acknowledged yet: both sides closed at once.
  else if (state === 'FIN_WAIT_1') set('CLOSING');
  else if (state === 'FIN_WAIT_2') set('TIME_WAIT');
}

/**
 * The receiver learns that its FIN was acknowledged. In FIN_WAIT_1 with the
 * sender's FIN sent earlier and not yet acknowledged, the FINs crossed: that
 * FIN, sent before this ACK, reached the receiver first, so it went through
 * CLOSING (simultaneous close, RFC 9293 §3.6 case 3).
 */
function finAcked(state: TcpState, crossed: boolean, set: (to: TcpState) => void): void {
  if (state === 'FIN_WAIT_1') {
    if (crossed) {
      set('CLOSING');
      set('TIME_WAIT');
    } else set('FIN_WAIT_2');
  } else if (state === 'CLOSING') set('TIME_WAIT');
  else if (state === 'LAST_ACK') set('CLOSED');
}
