import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { captureUnsupported, inputFileError, invalidArgument } from '../shared/errors.js';
import { otherStateName } from '../shared/tcp-terms.js';
import { Analyzer, type AnalyzedPacket } from './analyze/analyzer.js';
import { newStats, type CaptureStats } from './capture/packets.js';
import {
  hexHead,
  looksBinary,
  peekStream,
  readBinaryCapture,
  SNIFF_BYTES,
  sniffFormat,
} from './capture/read-capture.js';
import { readTextCapture } from './read-text.js';
import { connectionHeader, describePacket, tcpdumpLine, type Lang } from './render/describe.js';
import { packetJson } from './render/json.js';
import { summaryJson, summaryTable } from './render/summary.js';
import type { TcpPacket } from './types.js';

export interface ExplainOptions {
  /** A path, or `-` for standard input. */
  readonly file: string;
  readonly json: boolean;
  readonly summary: boolean;
  readonly conn: number | undefined;
  readonly lang: Lang;
  readonly color: boolean;
  /** Where output goes: one call per record (a packet, a JSON line, the summary), without its final newline. */
  readonly write: (text: string) => void;
}

/** What a run read, for the caller's closing line. */
export interface ExplainResult {
  readonly format: string;
  readonly stats: CaptureStats;
  readonly connections: number;
}

/**
 * `gw explain`: reads a capture (pcap, pcapng or tcpdump text, detected from
 * its first bytes), analyses every TCP packet, and writes the explanation,
 * NDJSON or the summary table. Streams: memory stays bounded by the number
 * of connections, whatever the file size.
 */
export async function runExplain(options: ExplainOptions): Promise<ExplainResult> {
  const input = await openInput(options.file);
  const source = options.file === '-' ? '(stdin)' : options.file;
  const { head, rest } = await peekStream(input, 4);
  const format = sniffFormat(head);
  if (format === 'text' && looksBinary(head)) {
    if (input !== process.stdin) input.destroy();
    throw binaryInput(source, head);
  }
  const stats = newStats();
  const packets =
    format === 'text'
      ? readTextCapture(rest, source, stats)
      : readBinaryCapture(rest, format, source, stats);
  const analyzer = new Analyzer();
  const view: TextView = { lang: options.lang, color: options.color, named: new Set() };
  let firstTime: number | undefined;
  for await (const packet of packets as AsyncIterable<TcpPacket>) {
    if (firstTime === undefined && stats.untimed === true && !options.json && !options.summary)
      options.write(UNTIMED_NOTE[options.lang]);
    firstTime ??= packet.time;
    const analyzed = analyzer.push(packet);
    if (options.summary) continue;
    if (options.conn !== undefined && analyzed.conn.id !== options.conn) continue;
    if (options.json) options.write(JSON.stringify(jsonRecord(analyzed, stats, options.lang)));
    else options.write(textBlock(analyzed, stats.untimed === true ? undefined : firstTime, view));
  }
  if (options.conn !== undefined && !analyzer.connections.some((c) => c.id === options.conn)) {
    throw invalidArgument(
      '--conn',
      options.conn,
      `the capture has connections 0 to ${analyzer.connections.length - 1}`,
    );
  }
  if (options.summary) {
    const connections = analyzer.connections.filter(
      (c) => options.conn === undefined || c.id === options.conn,
    );
    const timed = stats.untimed !== true;
    if (options.json) options.write(JSON.stringify(summaryJson(connections, timed)));
    else for (const piece of summaryTable(connections, options.lang, timed)) options.write(piece);
  }
  return { format, stats, connections: analyzer.connections.length };
}

/** Said once before the packets of a capture without timestamps. */
const UNTIMED_NOTE: Record<Lang, string> = {
  en: 'Note: this capture has no timestamps (tcpdump -t), so times show as - and durations and round-trip times are unknown.',
  zh: '注意：这份抓包没有时间戳（tcpdump -t），时间显示为 -，时长和往返时间（RTT）都无从得知。',
};

/** Neither a pcap/pcapng nor text: binary bytes (exit 2), named by its first bytes in hex, not as mojibake. */
function binaryInput(source: string, head: Uint8Array): Error {
  return captureUnsupported(
    source,
    `neither tcpdump text nor a pcap/pcapng capture: binary data (it starts with ${hexHead(head)}; a pcap starts with d4 c3 b2 a1 or a1 b2 c3 d4, a pcapng with 0a 0d 0d 0a; looked at the first ${SNIFF_BYTES} bytes)`,
    'give a capture saved by tcpdump -w (pcap) or dumpcap/Wireshark (pcapng), or the text tcpdump prints (tcpdump -nn -r cap.pcap > cap.txt); a compressed capture (.gz, .zst) must be uncompressed first',
  );
}

/** The NDJSON record of a packet; `time` is null when the capture has no timestamps. */
function jsonRecord(a: AnalyzedPacket, stats: CaptureStats, lang: Lang): object {
  const json = packetJson(a, lang);
  return stats.untimed === true ? { ...json, time: null } : json;
}

async function openInput(file: string): Promise<Readable> {
  if (file === '-') return process.stdin;
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    }
  } catch (err) {
    throw inputFileError(file, err);
  }
  return handle.createReadStream({ highWaterMark: 256 * 1024 });
}

const ANSI = {
  dim: (s: string) => `\x1b[2m${s}\x1b[22m`,
  bold: (s: string) => `\x1b[1m${s}\x1b[22m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[39m`,
  red: (s: string) => `\x1b[31m${s}\x1b[39m`,
  cyan: (s: string) => `\x1b[36m${s}\x1b[39m`,
};

/** How packets are written as text: language, colour, and the states named so far. */
interface TextView {
  readonly lang: Lang;
  readonly color: boolean;
  /** States already shown once: the other name (gw conns') is given at the first mention only. */
  readonly named: Set<string>;
}

/** A state as the state line names it: RFC 9293's name, with gw conns' at its first mention. */
function stateName(state: string, view: TextView): string {
  if (view.named.has(state)) return state;
  view.named.add(state);
  const other = otherStateName(state, 'rfc');
  return other === undefined ? state : `${state} (${other})`;
}

/** `firstTime` undefined: the capture has no timestamps, and the time column shows `-`. */
function textBlock(a: AnalyzedPacket, firstTime: number | undefined, view: TextView): string {
  const { lang, color } = view;
  const paint = (fn: (s: string) => string, s: string): string => (color ? fn(s) : s);
  const lines: string[] = [];
  if (a.newConnection) lines.push('', paint(ANSI.bold, connectionHeader(a.conn, lang)));
  const trouble = a.events.some(
    (e) => e !== 'window-update' && e !== 'keep-alive' && e !== 'keep-alive-ack',
  );
  const line = `#${a.packet.index} ${tcpdumpLine(a, firstTime)}`;
  lines.push(
    a.phase === 'reset'
      ? paint(ANSI.red, line)
      : trouble
        ? paint(ANSI.yellow, line)
        : paint(ANSI.cyan, line),
  );
  lines.push(`    ${describePacket(a, lang)}`);
  for (const change of a.stateChanges) {
    const who = lang === 'zh' ? (change.who === 'client' ? '客户端' : '服务端') : change.who;
    lines.push(
      paint(
        ANSI.dim,
        `    ${lang === 'zh' ? '状态' : 'state'}: ${who} ${stateName(change.from, view)} → ${stateName(change.to, view)}`,
      ),
    );
  }
  return lines.join('\n');
}
