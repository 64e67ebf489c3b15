/**
 * Runs `gw conns` once and writes the result: the table, the summary or
 * JSON, the diagnoses, and notes about what could not be read (on stderr,
 * so stdout stays parseable). What only some outputs need (the table, the
 * summary's cli-table3, the diagnoses) is imported when it is needed, so
 * `--json` on fifty thousand sockets loads as little as it can.
 */
import {
  collectView,
  findingsFor,
  isNotable,
  isNotableState,
  resolveNamedOwners,
  scanSockets,
  type Scan,
  type Sources,
} from './collect.js';
import type { Finding } from './diagnose.js';
import type { Lang } from './explain-findings.js';
import type { ConnsOptions } from './options.js';
import type { Paint } from './paint.js';
import { JsonArrayWriter } from './render-json.js';
import type { TcpState } from './states.js';
import { SummaryBuilder } from './summary.js';
import type { ConnSocket, Family, Proto } from './types.js';
import { plural } from '../shared/format.js';

/** Where output goes. */
export interface Output {
  out: (text: string | Uint8Array) => void;
  err: (text: string) => void;
  /** Clear and redraw each refresh (a terminal) rather than append. */
  redraw: boolean;
  paint: Paint;
}

/** What could not be read, as lines for stderr. */
export function notes(scan: Scan, options: ConnsOptions): string[] {
  const lines: string[] = [];
  for (const { source, lines: bad } of scan.malformed) {
    const first = bad[0];
    lines.push(
      `gw conns: skipped ${plural(bad.length, 'malformed line')} in ${source}` +
        (first === undefined ? '' : ` (line ${first.line}: ${first.reason})`),
    );
  }
  if (scan.snapshot.missing.length > 0) {
    lines.push(
      `gw conns: ${scan.snapshot.where} has no ${scan.snapshot.missing.join(', ')}; showing the other tables`,
    );
  }
  const denied = scan.owners?.denied ?? 0;
  if (options.processes && denied > 0) {
    lines.push(
      `gw conns: ${plural(denied, 'process', 'processes')} could not be inspected (not yours); their sockets show no owner: run as root to see them all`,
    );
  }
  return lines;
}

/** The diagnoses as text (empty when there are none). */
export async function findingsText(
  findings: readonly Finding[],
  lang: Lang,
  paint: Paint,
): Promise<string> {
  if (findings.length === 0) return '';
  return (await import('./render-findings.js')).renderFindings(findings, lang, paint);
}

/** The diagnoses as JSON values with their words. */
export async function findingsJson(findings: readonly Finding[], lang: Lang): Promise<unknown[]> {
  if (findings.length === 0) return [];
  const { findingJson } = await import('./render-findings.js');
  return findings.map((f) => findingJson(f, lang));
}

/** `--json`: the sockets streamed out as they are parsed, none kept. */
async function runJson(options: ConnsOptions, sources: Sources, output: Output): Promise<void> {
  const writer = new JsonArrayWriter((chunk) => output.out(chunk));
  const scan = await scanSockets(options, sources, (s) => writer.add(s));
  writer.end();
  for (const line of notes(scan, options)) output.err(`${line}\n`);
}

/** `--summary`: counts kept as the sockets stream past, plus the few the diagnoses need. */
async function runSummary(options: ConnsOptions, sources: Sources, output: Output): Promise<void> {
  const builder = new SummaryBuilder();
  const notable: ConnSocket[] = [];
  const counting = {
    // What the counts need, and what the diagnoses look at (isNotable).
    needs: (state: TcpState) => SummaryBuilder.needs(state) || isNotableState(state),
    count: (state: TcpState, proto: Proto, family: Family) => builder.count(state, proto, family),
  };
  const scan = await scanSockets(
    options,
    sources,
    (s) => {
      builder.add(s);
      if (isNotable(s)) notable.push(s);
    },
    counting,
  );
  for (const line of notes(scan, options)) output.err(`${line}\n`);
  resolveNamedOwners(scan, notable, options, sources);
  const summary = builder.finish(scan.listeningPorts);
  const findings = await findingsFor(scan, notable, options);
  if (options.json) {
    const diagnoses = await findingsJson(findings, options.lang);
    output.out(`${JSON.stringify({ ...summary, diagnoses })}\n`);
    return;
  }
  const { renderSummary } = await import('./render-summary.js');
  const text = renderSummary(summary, options.lang, output.paint, scan.snapshot.origin);
  const words = await findingsText(findings, options.lang, output.paint);
  output.out(words === '' ? text : `${text}\n${words}`);
}

/** The table, sorted, with the diagnoses under it. */
async function runTable(options: ConnsOptions, sources: Sources, output: Output): Promise<void> {
  const view = await collectView(options, sources);
  for (const line of notes(view, options)) output.err(`${line}\n`);
  const [{ renderTable }, { sortSockets }] = await Promise.all([
    import('./render-table.js'),
    import('./sort.js'),
  ]);
  const table = renderTable(
    sortSockets(view.shown).map((socket) => ({ socket })),
    { extended: options.extended, process: options.processes, marks: false, paint: output.paint },
  );
  const words = await findingsText(view.findings, options.lang, output.paint);
  output.out(words === '' ? `${table}\n` : `${table}\n\n${words}`);
}

/** One reading, written out: the table, the summary or JSON, then the diagnoses. */
export async function runOnce(
  options: ConnsOptions,
  sources: Sources,
  output: Output,
): Promise<void> {
  if (options.summary) await runSummary(options, sources, output);
  else if (options.json) await runJson(options, sources, output);
  else await runTable(options, sources, output);
}
