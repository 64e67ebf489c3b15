import type { LongLines } from '../explain/capture/packets.js';
import { runExplain } from '../explain/run-explain.js';
import { MAX_LINE_CHARS } from '../explain/text/line-splitter.js';
import { BatchedWriter } from '../shared/batched-writer.js';
import { invalidArgument } from '../shared/errors.js';
import { wantsColor } from './color.js';
import type { ExplainFlags } from './explain.js';

/** `gw explain FILE`: the edge that turns flags into a run and the output into stdout. */
export async function runExplainCommand(file: string, flags: ExplainFlags): Promise<void> {
  let conn: number | undefined;
  if (flags.conn !== undefined) {
    if (!/^\d+$/.test(flags.conn))
      throw invalidArgument('--conn', flags.conn, 'a connection number: 0, 1, 2, ...');
    conn = Number(flags.conn);
  }
  if (file === '-' && process.stdin.isTTY) {
    throw invalidArgument(
      'file',
      '-',
      'give a capture file, or pipe one in (tcpdump -nn -r cap.pcap | gw explain -)',
    );
  }
  const color = flags.json !== true && wantsColor(process.stdout);
  // One write per 64 KiB of output instead of one per packet: a system call per
  // packet would cost more than explaining it.
  const out = new BatchedWriter((text) => process.stdout.write(text));
  let result;
  try {
    result = await runExplain({
      file,
      json: flags.json === true,
      summary: flags.summary === true,
      conn,
      lang: flags.lang,
      color,
      write: out.line,
    });
  } finally {
    out.flush();
  }
  const skipped = [...result.stats.skipped.values()].reduce((a, b) => a + b, 0);
  if (skipped > 0 && flags.json !== true) {
    const reasons = [...result.stats.skipped].map(([reason, n]) => `${n} ${reason}`).join(', ');
    process.stderr.write(`gw explain: skipped ${skipped} non-TCP frames or lines (${reasons})\n`);
  }
  // Always, --json too: the input is damaged or is not tcpdump output.
  const long = longLinesWarning(result.stats.longLines);
  if (long !== undefined) process.stderr.write(`gw explain: ${long}\n`);
}

/** `skipped 2 lines longer than 64 KiB: line 3 (5,000,000 characters), …`, or undefined. */
function longLinesWarning({ count, first }: LongLines): string | undefined {
  if (count === 0) return undefined;
  const which = first.map((l) => `line ${l.line} (${l.chars.toLocaleString('en-US')} characters)`);
  if (count > first.length) which.push(`and ${count - first.length} more`);
  const lines = count === 1 ? 'line' : 'lines';
  return `skipped ${count} ${lines} longer than ${MAX_LINE_CHARS / 1024} KiB, the most gw reads (tcpdump prints a packet in a few hundred characters): ${which.join(', ')}`;
}
