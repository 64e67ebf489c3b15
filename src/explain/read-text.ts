import { StringDecoder } from 'node:string_decoder';
import type { CaptureStats } from './capture/packets.js';
import { SNIFF_LINES } from './text/timestamps.js';
import {
  noTcpInText,
  sniffTimestampFormat,
  tcpdumpTextParser,
  type TextParser,
} from './text/parse-tcpdump.js';
import type { TcpPacket } from './types.js';

/**
 * Streams the TCP packets of tcpdump's text output, line by line, with
 * memory bounded by one chunk (plus the first lines kept to tell the
 * timestamp form). Lines that are not TCP are counted in `stats` and
 * skipped; a text with no TCP line at all is an error quoting its first
 * unparseable line (exit 2).
 */
export async function* readTextCapture(
  input: AsyncIterable<Buffer>,
  source: string,
  stats: CaptureStats,
): AsyncGenerator<TcpPacket> {
  const decoder = new StringDecoder('utf8');
  let parser: TextParser | undefined;
  const head: string[] = [];
  let partial = '';
  let lineNumber = 0;

  const start = (): TextParser => {
    const timestamps = sniffTimestampFormat(head.slice(0, SNIFF_LINES));
    return tcpdumpTextParser(source, timestamps === undefined ? {} : { timestamps });
  };
  function* feed(p: TextParser, lines: readonly string[]): Generator<TcpPacket> {
    for (const line of lines) {
      const packet = p.line(line, ++lineNumber);
      if (packet !== undefined) yield packet;
    }
  }

  for await (const chunk of input) {
    const lines = (partial + decoder.write(chunk)).split('\n');
    partial = lines.pop() ?? '';
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
  partial += decoder.end();
  // What is left: every line when there were too few to start, else the last one.
  if (partial !== '') head.push(partial);
  parser ??= start();
  yield* feed(parser, head);
  parser.finish();

  const text = parser.stats;
  stats.frames = text.frames;
  stats.tcp = text.tcp;
  stats.skipped = text.skipped;
  stats.examples = text.examples;
  if (text.tcp === 0) throw noTcpInText(source, text);
}
