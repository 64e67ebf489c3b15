/**
 * `gw conns --watch`: refreshes in place (on a terminal) or appends frames
 * (to a pipe), marking new (+), closed (-) and changed (~) sockets with each
 * state's count and delta; with `--json`, one NDJSON event per refresh.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { collectView, type Sources, type View } from './collect.js';
import type { ConnsOptions } from './options.js';
import { socketsJsonInline } from './render-json.js';
import { renderTable } from './render-table.js';
import { findingsJson, findingsText, notes, type Output } from './run-conns.js';
import { sortSockets } from './sort.js';
import { summarize } from './summary.js';
import { diffSockets, type WatchDiff } from './watch-diff.js';

type SummaryText = typeof import('./render-summary.js').renderSummary;

function deltaText(diff: WatchDiff): string {
  if (diff.states.length === 0) return '(no sockets match)';
  return diff.states
    .map(
      (d) =>
        `${d.state} ${d.count}${d.delta === 0 ? '' : ` (${d.delta > 0 ? '+' : ''}${d.delta})`}`,
    )
    .join(' · ');
}

function frameTable(diff: WatchDiff, options: ConnsOptions, output: Output): string {
  const byKey = new Map(diff.rows.map((r) => [r.socket, r]));
  const rows = sortSockets(diff.rows.map((r) => r.socket)).map(
    (s) => byKey.get(s) ?? { socket: s },
  );
  const table = renderTable(rows, {
    extended: options.extended,
    process: options.processes,
    marks: true,
    paint: output.paint,
  });
  return `${table}\n`;
}

async function frameText(
  view: View,
  diff: WatchDiff,
  options: ConnsOptions,
  output: Output,
  first: boolean,
  renderSummary?: SummaryText,
): Promise<string> {
  const time = new Date(view.snapshot.takenAtMs).toTimeString().slice(0, 8);
  const every = ((options.watchMs ?? 0) / 1000).toString();
  const changes = first
    ? ''
    : ` (+${diff.added.length} new, -${diff.removed.length} closed, ~${diff.changed.length} changed)`;
  const title = `Every ${every}s: gw conns · ${time} · ${view.shown.length} sockets${changes}`;
  const head = `${output.paint.heading(title)}\n${deltaText(diff)}\n`;
  const body =
    renderSummary === undefined
      ? frameTable(diff, options, output)
      : renderSummary(summarize(view.shown, view.listeningPorts), options.lang, output.paint);
  const findings = await findingsText(view.findings, options.lang, output.paint);
  const clear = output.redraw ? '\x1b[H\x1b[2J' : first ? '' : '\n';
  return `${clear}${head}${body}${findings === '' ? '' : `\n${findings}`}`;
}

async function eventJson(
  view: View,
  diff: WatchDiff,
  options: ConnsOptions,
  first: boolean,
): Promise<string> {
  const time = JSON.stringify(new Date(view.snapshot.takenAtMs).toISOString());
  const counts = JSON.stringify(Object.fromEntries(diff.states.map((d) => [d.state, d.count])));
  const diagnoses = JSON.stringify(await findingsJson(view.findings, options.lang));
  if (first) {
    return `{"type":"snapshot","time":${time},"sockets":${socketsJsonInline(view.shown)},"counts":${counts},"diagnoses":${diagnoses}}\n`;
  }
  const deltas = JSON.stringify(
    Object.fromEntries(diff.states.filter((d) => d.delta !== 0).map((d) => [d.state, d.delta])),
  );
  const changed = diff.changed.map(
    (c) => `{"from":"${c.from}","socket":${socketsJsonInline([c.socket]).slice(1, -1)}}`,
  );
  return (
    `{"type":"changes","time":${time},"added":${socketsJsonInline(diff.added)},` +
    `"removed":${socketsJsonInline(diff.removed)},"changed":[${changed.join(',')}],` +
    `"counts":${counts},"deltas":${deltas},"diagnoses":${diagnoses}}\n`
  );
}

/**
 * Refreshes every `options.watchMs` until `signal` aborts (Ctrl-C) or
 * `options.count` refreshes are done. The diagnoses see the kernel's
 * counters of the previous refresh, so they can tell counters that rise.
 */
export async function runWatch(
  options: ConnsOptions,
  sources: Sources,
  output: Output,
  signal: AbortSignal,
): Promise<void> {
  let previous: View | undefined;
  const renderSummary =
    options.summary && !options.json
      ? (await import('./render-summary.js')).renderSummary
      : undefined;
  for (let i = 0; options.count === undefined || i < options.count; i++) {
    if (signal.aborted) return;
    const view = await collectView(
      options,
      sources,
      previous === undefined
        ? undefined
        : { counters: previous.snapshot.counters, atMs: previous.snapshot.takenAtMs },
    );
    if (previous === undefined) for (const line of notes(view, options)) output.err(`${line}\n`);
    const diff = diffSockets(previous?.shown, view.shown);
    output.out(
      options.json
        ? await eventJson(view, diff, options, i === 0)
        : await frameText(view, diff, options, output, i === 0, renderSummary),
    );
    previous = view;
    if (options.count !== undefined && i + 1 >= options.count) return;
    try {
      await sleep(options.watchMs ?? 2000, undefined, { signal });
    } catch {
      return; // aborted: Ctrl-C
    }
  }
}
