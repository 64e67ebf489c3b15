import Table from 'cli-table3';
import type { LabRun } from './lab.js';

/** Why each fix works and what it costs: the lesson under the lab's table. */
const LESSONS = [
  'TCP is a byte stream: it keeps the bytes in order but not the boundaries between writes.',
  'Reads merge writes (粘包) when the sender coalesces small writes (Nagle) or the receiver reads late;',
  'reads cut a message (拆包) when it is larger than the read buffer, the socket buffer or the MSS.',
  'The fixes put the boundaries back into the bytes:',
  '  length header  read the header, then exactly that many bytes; any payload; costs the header on every message',
  '  fixed length   read exactly N bytes; simplest; wastes padding and caps the size',
  '  delimiter      read up to the delimiter (\\n); readable with nc; scans every byte, and the',
  '                 delimiter may not appear inside a message',
];

/** The lab's results as a table followed by the lesson. */
export function labText(runs: readonly LabRun[], count: number, size: number): string {
  const table = new Table({
    head: ['scenario', 'writes', 'reads', 'sticky', 'split', 'messages back', 'naive reader wrong'],
    style: { head: [], border: [] },
  });
  for (const run of runs) {
    const r = run.result;
    const raw = run.framing === 'raw';
    table.push([
      run.title,
      r.writes,
      r.reads,
      r.stickyReads,
      r.splitReads,
      `${r.messagesReceived}/${r.messagesSent}${r.mismatches > 0 ? ` (${r.mismatches} bad)` : ''}`,
      raw ? `${r.naiveWrong} of ${r.reads} reads` : 'n/a: framed',
    ]);
  }
  return [
    `Sticky and split packets (粘包/拆包): ${count} messages of ${size} bytes, each sent as its own write, echoed over loopback`,
    table.toString(),
    '',
    ...LESSONS,
    '',
    'Try it by hand: gw tcp-echo server --framing raw, then gw tcp-echo client --framing raw --burst 50',
    '',
  ].join('\n');
}
