/**
 * Absolute sequence numbers from tcpdump's printed ones.
 *
 * Without `-S`, tcpdump prints numbers relative to a base it keeps per
 * conversation (print-tcp.c, `tcp_seq_hash`), and only for segments with the
 * ACK flag:
 *
 * - The first ACK-bearing segment of a conversation, and every SYN+ACK
 *   (which starts a new one on a reused port pair), is printed with absolute
 *   numbers and sets the bases: the sender's base is its `seq`, the
 *   receiver's is `ack - 1`. Segments without ACK (SYN, bare RST) are always
 *   absolute and leave the bases alone.
 * - Later segments print `seq - base(sender)`, `ack - base(receiver)` and SACK
 *   edges `- base(receiver)` — SACK edges even in the segment that set the
 *   bases, whose seq and ack are absolute. All of it modulo 2^32.
 *
 * This module keeps the same table and adds the bases back. Whether a file
 * was printed with `-S` shows at the first segment that could be relative:
 * only one reading of it lands near what that conversation was doing.
 *
 * tcpdump prints no `seq` for a segment without payload, SYN, FIN or RST
 * (unless `-vv`); such a segment's seq is inferred as the next sequence
 * number its sender would use (RFC 9293 §3.4: SND.NXT), or one less for a
 * keep-alive or zero-window probe (RFC 9293 §3.8.4, §3.8.6.1), which send
 * SND.UNA - 1 to draw an ACK.
 */
import { FLAG } from '../types.js';
import type { PrintedTcp } from './tcp-line.js';

/** `relative`: tcpdump's default; `absolute`: `tcpdump -S`. */
export type SequenceForm = 'relative' | 'absolute';

/** A segment's numbers, absolute. */
export interface AbsoluteNumbers {
  readonly seq: number;
  readonly ack: number;
  readonly sack: readonly (readonly [number, number])[] | undefined;
  /** True when tcpdump did not print the seq and it was inferred. */
  readonly inferred: boolean;
}

/** A printed number, the base it would have if relative, and where its space was last seen. */
type Reading = readonly [value: number, base: number, near: number | undefined];

/** The form under which the printed numbers land nearer where they should. */
function closer(readings: readonly Reading[]): SequenceForm | undefined {
  let relative = 0;
  let absolute = 0;
  for (const [value, base, near] of readings) {
    if (near === undefined) continue;
    relative += Math.abs(distance((value + base) >>> 0, near));
    absolute += Math.abs(distance(value, near));
  }
  if (absolute < relative) return 'absolute';
  if (relative < absolute) return 'relative';
  return undefined;
}

/** A connection idle this long before a bare ACK that repeats itself makes that ACK a keep-alive. */
const KEEPALIVE_IDLE_SECONDS = 0.5;
/**
 * The same in TCP timestamp ticks (RFC 7323 §5.4), for captures printed
 * without times (-t): 0.5 s at Linux's and the BSDs' 1 ms tick.
 */
const KEEPALIVE_IDLE_TICKS = 500;

/** One direction of a conversation. */
interface Half {
  /** tcpdump's base for this side's sequence space (valid once the conversation has an entry). */
  base: number;
  /** False when the base is a stand-in: tcpdump set it from a seq it did not print. */
  baseKnown: boolean;
  /** The next seq this side would send, from the segments it sent with a printed seq. */
  nxt: number | undefined;
  /** The last ack this side sent. */
  ack: number | undefined;
  /** The last window this side advertised; -1 before any. */
  win: number;
  /** The last TS value this side sent. */
  tsVal: number | undefined;
  /** Segments this side sent that carried payload, SYN or FIN. */
  sent: number;
  /** The peer's `sent` when this side last sent anything. */
  peerSentAtLast: number;
}

interface Conversation {
  readonly low: Half;
  readonly high: Half;
  /** Whether tcpdump holds bases for it (its hash entry exists). */
  entry: boolean;
  lastTime: number;
}

function newHalf(): Half {
  return {
    base: 0,
    baseKnown: false,
    nxt: undefined,
    ack: undefined,
    win: -1,
    tsVal: undefined,
    sent: 0,
    peerSentAtLast: 0,
  };
}

function forget(half: Half): void {
  half.nxt = undefined;
  half.ack = undefined;
  half.win = -1;
  half.tsVal = undefined;
  half.sent = 0;
  half.peerSentAtLast = 0;
}

/** The signed distance from b to a in sequence space (RFC 1982 serial arithmetic). */
function distance(a: number, b: number): number {
  return (a - b) | 0;
}

function later(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return distance(a, b) >= 0 ? a : b;
}

/** Rebuilds absolute numbers line by line; one instance per capture. */
export class SequenceNumbers {
  /** The form, once known (given, or seen at the first segment that tells). */
  form: SequenceForm | undefined;
  /** How many seqs were inferred because tcpdump did not print them. */
  inferred = 0;
  private readonly conversations = new Map<string, Conversation>();

  constructor(form: SequenceForm | undefined) {
    this.form = form;
  }

  /**
   * The absolute numbers of a printed segment from `src` to `dst` (endpoint
   * keys), at `time` seconds (NaN when the capture has no timestamps).
   */
  resolve(printed: PrintedTcp, src: string, dst: string, time: number): AbsoluteNumbers {
    const lowFirst = src <= dst;
    const key = lowFirst ? `${src}>${dst}` : `${dst}>${src}`;
    let conversation = this.conversations.get(key);
    if (conversation === undefined) {
      conversation = { low: newHalf(), high: newHalf(), entry: false, lastTime: time };
      this.conversations.set(key, conversation);
    }
    const me = lowFirst ? conversation.low : conversation.high;
    const peer = lowFirst ? conversation.high : conversation.low;
    const { flags } = printed;
    if ((flags & FLAG.SYN) !== 0) {
      // A new connection (perhaps on a reused port pair): old progress is moot.
      forget(me);
      if ((flags & FLAG.ACK) === 0) forget(peer);
    }
    const numbers = this.absolute(printed, conversation, me, peer, time);
    this.remember(printed, numbers, conversation, me, peer, time);
    return numbers;
  }

  private absolute(
    printed: PrintedTcp,
    conversation: Conversation,
    me: Half,
    peer: Half,
    time: number,
  ): AbsoluteNumbers {
    const hasAck = (printed.flags & FLAG.ACK) !== 0;
    let ack = hasAck ? (printed.ack ?? 0) : 0;
    let seq = printed.seq;
    const inferred = seq === undefined;
    let shift = 0;
    if (hasAck && this.form !== 'absolute') {
      if (!conversation.entry || (printed.flags & FLAG.SYN) !== 0) {
        // This segment (re)creates tcpdump's entry: its numbers are absolute.
        const base = seq ?? this.infer(printed, ack, conversation, me, peer, time);
        me.base = base ?? 0;
        me.baseKnown = base !== undefined;
        peer.base = (ack - 1) >>> 0;
        peer.baseKnown = true;
        conversation.entry = true;
        seq = me.base;
        // Only SACK edges are relative here; where they land tells the form.
        const left = printed.options.sack?.[0]?.[0];
        if (left !== undefined) this.form ??= closer([[left, peer.base, ack]]);
        shift = this.form === 'absolute' ? 0 : peer.base;
      } else {
        this.form ??= this.decide(printed, me, peer);
        if (this.form !== 'absolute') {
          ack = (ack + peer.base) >>> 0;
          if (seq !== undefined) seq = (seq + me.base) >>> 0;
          shift = peer.base;
        }
      }
    }
    seq ??= this.infer(printed, ack, conversation, me, peer, time) ?? 0;
    if (inferred) this.inferred++;
    const sack =
      printed.options.sack === undefined || shift === 0
        ? printed.options.sack
        : printed.options.sack.map(([l, r]) => [(l + shift) >>> 0, (r + shift) >>> 0] as const);
    return { seq, ack, sack, inferred };
  }

  /**
   * The seq tcpdump left out: the sender's next sequence number, as its own
   * segments or the peer's ACKs show it; one less for a probe, that is a bare
   * ACK repeating the sender's last ack and window while the peer sent
   * nothing new, either into a zero window or after the connection sat idle.
   * An ACK that answers a probe is no probe: the probe's seq was out of the
   * window, so its TS value was not recorded (RFC 7323 §4.3) and the answer
   * echoes an older one.
   */
  private infer(
    printed: PrintedTcp,
    ack: number,
    conversation: Conversation,
    me: Half,
    peer: Half,
    time: number,
  ): number | undefined {
    const next = later(me.nxt, peer.ack);
    if (next === undefined) return undefined;
    const bare = (printed.flags & (FLAG.SYN | FLAG.FIN | FLAG.RST)) === 0 && printed.len === 0;
    const repeats = me.ack === ack && me.win === printed.win && peer.sent === me.peerSentAtLast;
    if (!bare || !repeats) return next;
    const { tsVal, tsEcr } = printed.options;
    const answers = tsEcr !== undefined && peer.tsVal !== undefined && tsEcr !== peer.tsVal;
    const idle = Number.isNaN(time)
      ? tsVal !== undefined &&
        me.tsVal !== undefined &&
        distance(tsVal, me.tsVal) >= KEEPALIVE_IDLE_TICKS
      : time - conversation.lastTime >= KEEPALIVE_IDLE_SECONDS;
    return !answers && (peer.win === 0 || idle) ? (next - 1) >>> 0 : next;
  }

  /**
   * Which form explains this segment's numbers; undefined while both fit
   * equally well. Each number is read both ways and compared with where its
   * sequence space was last seen, in spaces whose base is real. With random
   * initial sequence numbers the wrong reading lands about 2^31 away.
   */
  private decide(printed: PrintedTcp, me: Half, peer: Half): SequenceForm | undefined {
    const readings: Reading[] = [];
    if (peer.baseKnown) readings.push([printed.ack ?? 0, peer.base, later(peer.nxt, me.ack)]);
    if (me.baseKnown && printed.seq !== undefined) {
      readings.push([printed.seq, me.base, later(me.nxt, peer.ack)]);
    }
    return closer(readings);
  }

  private remember(
    printed: PrintedTcp,
    numbers: AbsoluteNumbers,
    conversation: Conversation,
    me: Half,
    peer: Half,
    time: number,
  ): void {
    const { flags, len } = printed;
    const control = (flags & FLAG.SYN ? 1 : 0) + (flags & FLAG.FIN ? 1 : 0);
    // A reset's seq need not be in sequence (RFC 9293 §3.5.2): it says nothing of SND.NXT.
    if (!numbers.inferred && (flags & FLAG.RST) === 0) {
      me.nxt = later(me.nxt, (numbers.seq + len + control) >>> 0);
    }
    if ((flags & FLAG.ACK) !== 0) me.ack = numbers.ack;
    me.win = printed.win;
    if (printed.options.tsVal !== undefined) me.tsVal = printed.options.tsVal;
    if (len > 0 || control > 0) me.sent++;
    me.peerSentAtLast = peer.sent;
    if (!Number.isNaN(time)) conversation.lastTime = time;
  }
}
