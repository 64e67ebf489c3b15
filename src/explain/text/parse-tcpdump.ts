/**
 * A streaming parser of tcpdump's text output into the packets the pcap
 * readers give for the same capture (pure: lines in, packets out).
 *
 * It reads every common form — default, -n/-nn and names, -S or relative
 * sequence numbers, -t/-tt/-ttt/-tttt/-ttttt, -v/-vv (IPv4's header on a
 * line of its own), -e, -i any, -x/-X/-A dumps (whose payload it keeps, as
 * the pcap readers do), IPv4 and IPv6 — and never
 * throws on input: a line it cannot use is counted in {@link TextStats}, by
 * reason, and the first one is kept to quote.
 *
 * Packets are numbered as Wireshark numbers frames: every packet line counts,
 * TCP or not, so `index` matches the frame number of the same capture read
 * as a pcap. Continuation lines (-v, dumps) do not count.
 */
import { captureUnsupported, invalidArgument, type GwError } from '../../shared/errors.js';
import { newLongLines, type CaptureStats } from '../capture/packets.js';
import type { TcpPacket } from '../types.js';
import { canonicalHost } from './addresses.js';
import { MAX_LINE_CHARS, type LongLine } from './line-splitter.js';
import {
  encapsulation,
  ipv4HeaderKind,
  isBanner,
  isBlank,
  isHexDump,
  isIndented,
  linkInfo,
  looksLikeFrame,
  nonTcpReason,
  packetNumber,
  prefixIpVersion,
  type LinkInfo,
} from './line-kinds.js';
import { PayloadDump } from './payload-dump.js';
import { SequenceNumbers, type SequenceForm } from './sequence-numbers.js';
import { FLAGS_MARKER, parseTcpPart } from './tcp-line.js';
import {
  Clock,
  parseStamp,
  SNIFF_LINES,
  sniffTimestampFormat,
  type TimestampFormat,
} from './timestamps.js';

export type { SequenceForm } from './sequence-numbers.js';
export type { TimestampFormat } from './timestamps.js';
export { sniffTimestampFormat } from './timestamps.js';

/** How to read what a line alone cannot say. Everything defaults to auto-detection. */
export interface TextParserOptions {
  /** The timestamp form; by default told from each stamp's shape (see {@link sniffTimestampFormat}). */
  readonly timestamps?: TimestampFormat;
  /** `relative` (tcpdump's default) or `absolute` (-S); by default told from the numbers. */
  readonly sequenceNumbers?: SequenceForm;
  /**
   * The date (`YYYY-MM-DD`) of the first packet, for forms that print none:
   * the default time of day, and -ttt/-ttttt (which then count from its
   * midnight). Without it those times count from 1970-01-01.
   */
  readonly date?: string;
  /** Minutes east of UTC of the zone tcpdump printed local times in (default and -tttt); default 0. */
  readonly utcOffsetMinutes?: number;
}

/** A line quoted in messages. */
export interface UnparsedLine {
  readonly lineNumber: number;
  readonly text: string;
  readonly reason: string;
}

/** What a parse counted. `frames`, `tcp`, `skipped` and `examples` mean what they mean for pcaps. */
export interface TextStats extends CaptureStats {
  /** Lines seen. */
  lines: number;
  /** Lines that are not packets, by kind: blank, banner, continuation, hex dump, not a packet line. */
  otherLines: Map<string, number>;
  /** The first line that was not a TCP packet (nor blank, banner or continuation), to quote. */
  firstUnparsed: UnparsedLine | undefined;
  /** The timestamp form in use (undefined until a packet line is seen). */
  timestampFormat: TimestampFormat | undefined;
  /** The sequence number form, once the numbers told it (undefined: not yet, or it made no difference). */
  sequenceForm: SequenceForm | undefined;
  /** Segments whose seq tcpdump did not print (bare ACKs without -vv) and that were inferred. */
  inferredSeq: number;
}

/** A line-at-a-time parser; `line` returns the TCP packet a line completes, if any. */
export interface TextParser {
  /**
   * Feeds one line (without its newline; a trailing CR is ignored). Never
   * throws. A packet's `payload`, when a -x/-X/-A dump shows it, is set on the
   * packet once its dump ends: at the next packet line or at `finish()`.
   */
  line(text: string, lineNumber: number): TcpPacket | undefined;
  /**
   * Counts a line the reader did not keep for its length (over MAX_LINE_CHARS):
   * skipped, noted in `stats.longLines`, and quoted by its start if no line is TCP.
   */
  longLine(lineNumber: number, line: LongLine): void;
  /** Call at the end of input: counts a -v header line still waiting for its TCP line. */
  finish(): void;
  readonly stats: TextStats;
  /** The input's name, as given (for {@link noTcpInText}). */
  readonly source: string;
}

const QUOTE_CHARS = 200;
const EXAMPLES = 5;

/** A -v IPv4 header line whose TCP part comes on the next line. */
interface PendingHeader {
  readonly index: number;
  readonly time: number;
  readonly link: LinkInfo;
  readonly lineNumber: number;
  readonly text: string;
}

/**
 * Makes a parser for one capture's lines. `source` names the input in
 * errors. Throws a GwError only for invalid options.
 */
export function tcpdumpTextParser(source: string, options: TextParserOptions = {}): TextParser {
  return new TcpdumpText(source, options);
}

class TcpdumpText implements TextParser {
  readonly stats: TextStats = {
    frames: 0,
    tcp: 0,
    skipped: new Map(),
    examples: [],
    longLines: newLongLines(),
    lines: 0,
    otherLines: new Map(),
    firstUnparsed: undefined,
    timestampFormat: undefined,
    sequenceForm: undefined,
    inferredSeq: 0,
  };
  readonly source: string;
  private readonly clock: Clock;
  private readonly numbers: SequenceNumbers;
  private pending: PendingHeader | undefined;
  /** Whether packet lines carry timestamps, once the first one said. */
  private stamped: boolean | undefined;
  /** The -x/-X/-A dump under the last TCP packet line, while it lasts; its payload is set on that packet when it ends. */
  private dump: { readonly packet: TcpPacket; readonly lines: PayloadDump } | undefined;

  constructor(source: string, options: TextParserOptions) {
    this.source = source;
    this.clock = new Clock(options.timestamps, {
      anchorSeconds: anchorOf(options.date),
      utcOffsetSeconds: (options.utcOffsetMinutes ?? 0) * 60,
    });
    if (options.timestamps !== undefined) this.stamped = options.timestamps !== 'none';
    this.numbers = new SequenceNumbers(options.sequenceNumbers);
  }

  line(raw: string, lineNumber: number): TcpPacket | undefined {
    this.stats.lines++;
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (this.dump !== undefined && this.inDump(text)) return undefined;
    if (isBlank(text)) {
      this.other('blank');
      return undefined;
    }
    // tcpdump -# numbers packets itself: then `index` is that number.
    const numbered = packetNumber(text);
    if (numbered !== undefined) text = text.slice(numbered[1]);
    const number = numbered?.[0];
    const stamp = this.stamped === false ? undefined : parseStamp(text);
    if (stamp !== undefined) {
      this.stamped = true;
      const time = this.clock.time(stamp);
      this.stats.timestampFormat = this.clock.format;
      return this.frame(text, stamp.end, time, time, lineNumber, number);
    }
    if (isIndented(text)) {
      if (this.pending !== undefined) return this.completePending(text, lineNumber);
      if (this.stats.frames > 0) {
        this.other(isHexDump(text) ? 'hex dump' : 'continuation');
        return undefined;
      }
    } else if (isBanner(text)) {
      this.other('banner');
      return undefined;
    } else if (this.stamped !== true && looksLikeFrame(text)) {
      this.stamped = false;
      this.stats.timestampFormat = 'none';
      return this.frame(text, 0, 0, Number.NaN, lineNumber, number);
    }
    this.other('not a packet line');
    this.noteUnparsed(lineNumber, text, 'not a tcpdump packet line');
    return undefined;
  }

  longLine(lineNumber: number, line: LongLine): void {
    this.stats.lines++;
    const { longLines } = this.stats;
    longLines.count++;
    if (longLines.first.length < EXAMPLES)
      longLines.first.push({ line: lineNumber, chars: line.chars });
    // Its start (200 characters) is all that was kept: quoted, with an ellipsis.
    const reason = `longer than ${MAX_LINE_CHARS / 1024} KiB, skipped`;
    this.noteUnparsed(lineNumber, `${line.start}…`, reason);
  }

  finish(): void {
    this.endDump();
    this.dropPending();
  }

  /** Whether a line belongs to the dump under the last packet (counted, then), else ends that dump. */
  private inDump(text: string): boolean {
    const dump = this.dump?.lines;
    if (dump === undefined) return false;
    if (isIndented(text) && isHexDump(text) && dump.hex(text)) {
      this.other('hex dump');
      return true;
    }
    // The common case, a packet line after a packet line, decided on its first character.
    if (!dump.isAscii && !dump.mayStartAscii(text)) {
      this.endDump();
      return false;
    }
    const startsPacket =
      packetNumber(text) !== undefined ||
      (this.stamped === false ? looksLikeFrame(text) : parseStamp(text) !== undefined);
    if (!startsPacket && dump.isAscii && isBlank(text)) {
      dump.ascii(text);
      this.other('blank');
      return true;
    }
    if (!startsPacket && dump.ascii(text)) {
      this.other('ASCII dump');
      return true;
    }
    this.endDump();
    return false;
  }

  /** Sets the payload a dump showed on its packet (already returned: readers hold a packet until the next one). */
  private endDump(): void {
    const dump = this.dump;
    if (dump === undefined) return;
    this.dump = undefined;
    const payload = dump.lines.payload();
    if (payload !== undefined) (dump.packet as { payload?: Uint8Array }).payload = payload;
  }

  /** A packet line; `at` is where its text after the timestamp starts. */
  private frame(
    text: string,
    at: number,
    time: number,
    heuristicTime: number,
    lineNumber: number,
    number: number | undefined,
  ): TcpPacket | undefined {
    this.dropPending();
    const index = number ?? this.stats.frames + 1;
    // Every packet line is a frame, whatever number `tcpdump -#` printed on it (a numbered line
    // after an unnumbered one would otherwise leave fewer frames than TCP packets).
    this.stats.frames = Math.max(this.stats.frames + 1, index);
    const marker = text.indexOf(FLAGS_MARKER, at);
    const link = linkInfo(text, at);
    if (marker >= 0) {
      return this.tcp(text, at, marker, { index, time, link, lineNumber, text }, heuristicTime);
    }
    const header = ipv4HeaderKind(text, at);
    if (header === 'tcp') {
      this.pending = { index, time, link, lineNumber, text };
      return undefined;
    }
    this.skip(
      index,
      header === 'fragment' ? 'IPv4 fragment' : nonTcpReason(text, at),
      lineNumber,
      text,
    );
    return undefined;
  }

  /** The indented line after a -v IPv4 header: `    10.0.0.1.80 > 10.0.0.2.4000: Flags [...] ...`. */
  private completePending(text: string, lineNumber: number): TcpPacket | undefined {
    const header = this.pending;
    if (header === undefined) return undefined;
    this.pending = undefined;
    const marker = text.indexOf(FLAGS_MARKER);
    if (marker < 0) {
      this.skip(header.index, 'TCP header not printed', header.lineNumber, header.text);
      return undefined;
    }
    const time = this.stamped === false ? Number.NaN : header.time;
    return this.tcp(text, 0, marker, { ...header, lineNumber }, time);
  }

  private dropPending(): void {
    const header = this.pending;
    if (header === undefined) return;
    this.pending = undefined;
    this.skip(header.index, 'IPv4 header without its TCP line', header.lineNumber, header.text);
  }

  /** A TCP line: `at` is where the text after the timestamp starts, `marker` where `: Flags [` is. */
  private tcp(
    text: string,
    at: number,
    marker: number,
    frame: PendingHeader,
    heuristicTime: number,
  ): TcpPacket | undefined {
    const printed = parseTcpPart(text, marker);
    const reason = typeof printed === 'string' ? printed : encapsulation(text, at, printed.srcAt);
    if (typeof printed === 'string' || reason !== undefined) {
      this.skip(frame.index, reason ?? 'unreadable TCP line', frame.lineNumber, frame.text);
      return undefined;
    }
    const src = canonicalHost(printed.srcHost);
    const dst = canonicalHost(printed.dstHost);
    const ipVersion =
      src.version ?? dst.version ?? prefixIpVersion(frame.text, 0, frame.text.length);
    const numbers = this.numbers.resolve(
      printed,
      `${src.address} ${printed.srcPort}`,
      `${dst.address} ${printed.dstPort}`,
      heuristicTime,
    );
    this.stats.tcp++;
    this.stats.sequenceForm = this.numbers.form;
    this.stats.inferredSeq = this.numbers.inferred;
    const { iface, direction } = frame.link;
    const packet: TcpPacket = {
      index: frame.index,
      time: frame.time,
      src: { address: src.address, port: printed.srcPort },
      dst: { address: dst.address, port: printed.dstPort },
      ipVersion,
      flags: printed.flags,
      seq: numbers.seq,
      ack: numbers.ack,
      win: printed.win,
      len: printed.len,
      options:
        numbers.sack === printed.options.sack
          ? printed.options
          : { ...printed.options, ...(numbers.sack === undefined ? {} : { sack: numbers.sack }) },
      ...(iface === undefined ? {} : { iface }),
      ...(direction === undefined ? {} : { direction }),
      ...(printed.note === undefined ? {} : { note: printed.note }),
    };
    this.dump = { packet, lines: new PayloadDump(packet) };
    return packet;
  }

  private skip(index: number, reason: string, lineNumber: number, text: string): void {
    const { skipped, examples } = this.stats;
    skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
    if (examples.length < EXAMPLES) examples.push({ index, reason });
    this.noteUnparsed(lineNumber, text, reason);
  }

  private other(kind: string): void {
    this.stats.otherLines.set(kind, (this.stats.otherLines.get(kind) ?? 0) + 1);
  }

  private noteUnparsed(lineNumber: number, text: string, reason: string): void {
    if (this.stats.firstUnparsed !== undefined) return;
    const quoted = text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}…` : text;
    this.stats.firstUnparsed = { lineNumber, text: quoted, reason };
  }
}

/** Epoch seconds of a `YYYY-MM-DD` midnight (UTC), 0 without a date. */
function anchorOf(date: string | undefined): number {
  if (date === undefined) return 0;
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const ms =
    match === null ? NaN : Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  if (Number.isNaN(ms)) throw invalidArgument('date', date, 'a date as YYYY-MM-DD');
  return ms / 1000;
}

/**
 * Parses a whole tcpdump text at once: tells the timestamp form from its
 * first lines (unless given), then reads every line.
 */
export function parseTcpdumpText(
  text: string,
  source: string,
  options: TextParserOptions = {},
): { packets: TcpPacket[]; stats: TextStats } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const timestamps = options.timestamps ?? sniffTimestampFormat(lines.slice(0, SNIFF_LINES));
  const parser = tcpdumpTextParser(source, {
    ...options,
    ...(timestamps === undefined ? {} : { timestamps }),
  });
  const packets: TcpPacket[] = [];
  lines.forEach((line, i) => {
    const packet = parser.line(line, i + 1);
    if (packet !== undefined) packets.push(packet);
  });
  parser.finish();
  return { packets, stats: parser.stats };
}

/**
 * The error for a text input in which no line was a TCP packet: quotes the
 * first line that could not be used, with its number. Exit code 2.
 */
export function noTcpInText(source: string, stats: TextStats): GwError {
  const first = stats.firstUnparsed;
  const where =
    first === undefined
      ? stats.lines === 0
        ? 'the input is empty'
        : 'no line is a packet line'
      : `line ${first.lineNumber} (${first.reason}): ${JSON.stringify(first.text)}`;
  return captureUnsupported(
    source,
    `no TCP packet found in tcpdump text; ${where}`,
    'give tcpdump text output (any of -n, -S, -t…-ttttt, -v, -e, -i any) or a pcap/pcapng file',
  );
}
