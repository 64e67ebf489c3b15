import Table from 'cli-table3';
import { labReadBytes, type LabRun } from './lab.js';
import { WORDS, type Lang } from './words.js';

/**
 * The lab's results as a table followed by the lesson. Every column says what
 * it counts and on which side (all on the client); the fix rows name the read
 * buffer they used, and notes under the table say why the fixes show splits
 * and when no message could be cut at all.
 */
export function labText(
  runs: readonly LabRun[],
  count: number,
  size: number,
  lang: Lang = 'en',
): string {
  const w = WORDS[lang];
  const table = new Table({
    head: [...w.labColumns],
    style: { head: [], border: [] },
  });
  for (const run of runs) {
    const r = run.result;
    const raw = run.framing === 'raw';
    table.push([
      w.labScenario(run.scenario, run.readBytes, size),
      r.writes,
      r.reads,
      r.stickyReads,
      r.splitReads,
      (raw
        ? w.bytesOf(r.bytesReceived, r.bytesSent)
        : w.messagesOf(r.messagesReceived, r.messagesSent)) +
        (r.mismatches > 0 ? ` ${w.bad(r.mismatches)}` : ''),
      raw ? w.naiveOf(r.naiveWrong, r.reads) : w.naiveFramed,
    ]);
  }
  const notes = [w.labCounted, w.labFixesNote(labReadBytes(size))];
  if (size < 2) notes.push(w.labTooSmall(size));
  return [
    w.labHead(count, size),
    table.toString(),
    ...notes,
    '',
    ...w.lessons,
    '',
    w.tryIt,
    '',
  ].join('\n');
}
