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
  readonly flags: number;
  /** True when the segment's ACK covers the other side's FIN. */
  readonly acksPeerFin: boolean;
  /** True when the segment's ACK covers the other side's SYN. */
  readonly acksPeerSyn: boolean;
}

/**
 * Advances both ends' states for one observed segment, per RFC 9293's state
 * diagram: the sender's state changes when it sends, the receiver's when
 * the segment arrives (the capture point sees both moments as one). Returns
 * the changes, in order, for the explanation.
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
      set(sender, 'SYN_RECEIVED');
      if (states[receiver] === 'SYN_SENT') set(receiver, 'ESTABLISHED');
    } else {
      set(sender, 'SYN_SENT');
      if (states[receiver] === 'CLOSED') set(receiver, 'LISTEN');
    }
    return changes;
  }
  // The ACK part: it arrives at the receiver.
  if (flags & FLAG.ACK) {
    if (s.acksPeerSyn && states[receiver] === 'SYN_RECEIVED') set(receiver, 'ESTABLISHED');
    if (s.acksPeerSyn && states[sender] === 'SYN_SENT') set(sender, 'ESTABLISHED');
    if (s.acksPeerFin) {
      if (states[receiver] === 'FIN_WAIT_1') set(receiver, 'FIN_WAIT_2');
      else if (states[receiver] === 'CLOSING') set(receiver, 'TIME_WAIT');
      else if (states[receiver] === 'LAST_ACK') set(receiver, 'CLOSED');
    }
  }
  if (flags & FLAG.FIN) {
    // The sender closes its direction...
    const mine = states[sender];
    if (mine === 'ESTABLISHED' || mine === 'SYN_RECEIVED') set(sender, 'FIN_WAIT_1');
    // A FIN that does not acknowledge the peer's FIN was sent before that FIN
    // arrived: both closed at once (simultaneous close), so both end in CLOSING.
    else if (mine === 'CLOSE_WAIT') set(sender, s.acksPeerFin ? 'LAST_ACK' : 'CLOSING');
    // ...and the receiver learns that the peer will send no more.
    const theirs = states[receiver];
    if (theirs === 'ESTABLISHED') set(receiver, 'CLOSE_WAIT');
    else if (theirs === 'FIN_WAIT_1') set(receiver, 'CLOSING');
    else if (theirs === 'FIN_WAIT_2') set(receiver, 'TIME_WAIT');
  }
  return changes;
}
