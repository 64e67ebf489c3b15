import { StringDecoder } from 'node:string_decoder';
import type { CaptureStats } from './capture/packets.js';
import { LineSplitter, type SplitLine } from './text/line-splitter.js';
import { SNIFF_LINES } from './text/timestamps.js';
import {
  noTcpInText,
  sniffTimestampFormat,
  tcpdumpTextParser,
  type TextParser,
} from './text/parse-tcpdump.js';
import type { TcpPacket } from './types.js';

/**
 * Streams the TCP packets of tcpdump's text output, line by line (each one
 * when the next begins, so that the dump under it is complete), with
 * memory bounded by one chunk plus one line of at most 64 KiB
 * (MAX_LINE_CHARS; plus the first lines kept to tell the timestamp form).
 * Lines that are not TCP are counted in `stats` and skipped; so are longer
 * lines (tcpdump prints a packet in a few hundred characters), in
 * `stats.longLines` with their numbers. A text with no TCP line at all is an
 * error quoting its first unusable line (exit 2).
 */
export async function* readTextCapture(
  input: AsyncIterable<Buffer>,
  source: string,
  stats: CaptureStats,
): AsyncGenerator<TcpPacket> {
  const decoder = new StringDecoder('utf8');
  const splitter = new LineSplitter();
  let parser: TextParser | undefined;
  const head: SplitLine[] = [];
  let lineNumber = 0;

  const start = (): TextParser => {
    const sniffed = head.slice(0, SNIFF_LINES).filter((line) => typeof line === 'string');
    const timestamps = sniffTimestampFormat(sniffed);
    return tcpdumpTextParser(source, timestamps === undefined ? {} : { timestamps });
  };
  // Each packet is handed out when the next one arrives (or at the end): by
  // then the -x/-X/-A dump under its line has ended and its payload is set.
  let held: TcpPacket | undefined;
  function* feed(p: TextParser, lines: readonly SplitLine[]): Generator<TcpPacket> {
    for (const line of lines) {
      lineNumber++;
      if (typeof line !== 'string') {
        p.longLine(lineNumber, line);
        continue;
      }
      const packet = p.line(line, lineNumber);
      if (packet === undefined) continue;
      if (held === undefined) stats.untimed = p.stats.timestampFormat === 'none';
      else yield held;
      held = packet;
    }
  }

  for await (const chunk of input) {
    const lines = splitter.push(decoder.write(chunk));
    if (parser === undefined) {
      // One line at a time: a chunk can hold more lines than a call takes arguments.
      for (const line of lines) head.push(line);
      if (head.length < SNIFF_LINES) continue;
      parser = start();
      yield* feed(parser, head.splice(0));
      continue;
    }
    yield* feed(parser, lines);
  }
  // What is left: every line when there were too few to start, else the last one.
  for (const line of [...splitter.push(decoder.end()), ...splitter.end()]) head.push(line);
  parser ??= start();
  yield* feed(parser, head);
  parser.finish();
  if (held !== undefined) yield held;

  const text = parser.stats;
  stats.frames = text.frames;
  stats.tcp = text.tcp;
  stats.skipped = text.skipped;
  stats.examples = text.examples;
  stats.longLines = text.longLines;
  if (text.tcp === 0) throw noTcpInText(source, text);
}
