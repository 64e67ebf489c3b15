import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { inputFileError, invalidArgument } from '../shared/errors.js';
import { Analyzer, type AnalyzedPacket } from './analyze/analyzer.js';
import { newStats, type CaptureStats } from './capture/packets.js';
import { peekStream, readBinaryCapture, sniffFormat } from './capture/read-capture.js';
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
  const stats = newStats();
  const packets =
    format === 'text'
      ? readTextCapture(rest, source, stats)
      : readBinaryCapture(rest, format, source, stats);
  const analyzer = new Analyzer();
  const color = options.color;
  let firstTime: number | undefined;
  for await (const packet of packets as AsyncIterable<TcpPacket>) {
    firstTime ??= packet.time;
    const analyzed = analyzer.push(packet);
    if (options.summary) continue;
    if (options.conn !== undefined && analyzed.conn.id !== options.conn) continue;
    if (options.json) options.write(JSON.stringify(packetJson(analyzed, options.lang)));
    else options.write(textBlock(analyzed, firstTime, options.lang, color));
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
    if (options.json) options.write(JSON.stringify(summaryJson(connections)));
    else for (const piece of summaryTable(connections, options.lang)) options.write(piece);
  }
  return { format, stats, connections: analyzer.connections.length };
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

function textBlock(a: AnalyzedPacket, firstTime: number, lang: Lang, color: boolean): string {
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
        `    ${lang === 'zh' ? '状态' : 'state'}: ${who} ${change.from} → ${change.to}`,
      ),
    );
  }
  return lines.join('\n');
}
