/**
 * The connection table, laid out like `ss -tanp` (no borders, numbers
 * right-aligned) by layoutColumns, which matches cli-table3's layout without
 * its cost on tens of thousands of rows: proto, state, Recv-Q, Send-Q, local,
 * peer, timer, and with `-e` user and inode, with `-p` the owning process.
 * Pure: sockets and options in, text out.
 */
import { layoutColumns, type Align } from '../shared/columns.js';
import { endpointText, ownerText, remoteText } from './endpoint-text.js';
import { timerText } from './format-timer.js';
import { plainPaint, type Paint } from './paint.js';
import type { TcpState } from './states.js';
import type { ConnSocket } from './types.js';

/** How a row changed since the previous `--watch` refresh. */
export type Mark = '+' | '-' | '~';

export interface TableRow {
  socket: ConnSocket;
  mark?: Mark;
  /** For `~`: the state it had before. */
  previousState?: TcpState;
}

export interface TableOptions {
  extended: boolean;
  process: boolean;
  /** A first column with +, - and ~ (watch mode). */
  marks: boolean;
  paint: Paint;
}

/** The state as the table shows it: kernel names, and UNCONN for an unconnected UDP socket (as ss). */
export function stateText(s: ConnSocket): string {
  return s.proto === 'udp' && s.state === 'CLOSE' ? 'UNCONN' : s.state;
}

function header(options: TableOptions): { head: string[]; align: Align[] } {
  const head = [
    'Proto',
    'State',
    'Recv-Q',
    'Send-Q',
    'Local Address:Port',
    'Peer Address:Port',
    'Timer',
  ];
  const align: Align[] = ['left', 'left', 'right', 'right', 'left', 'left', 'left'];
  if (options.marks) {
    head.unshift('');
    align.unshift('left');
  }
  if (options.extended) {
    head.push('User', 'Inode');
    align.push('left', 'right');
  }
  if (options.process) {
    head.push('PID/Program');
    align.push('left');
  }
  return { head, align };
}

function cells(row: TableRow, options: TableOptions): string[] {
  const s = row.socket;
  const was =
    row.mark === '~' && row.previousState !== undefined ? ` (was ${row.previousState})` : '';
  const out = [
    s.family === 6 ? `${s.proto}6` : s.proto,
    stateText(s) + was,
    String(s.recvQ),
    s.proto === 'tcp' && s.state === 'LISTEN' ? '-' : String(s.sendQ),
    endpointText(s.local),
    remoteText(s),
    timerText(s),
  ];
  if (options.marks) out.unshift(row.mark ?? '');
  if (options.extended) out.push(s.user ?? String(s.uid), String(s.inode));
  if (options.process) out.push(ownerText(s));
  return out;
}

/** Colours the header, the state column and the watch marks; dims removed rows. */
function painter(rows: readonly TableRow[], options: TableOptions) {
  const { paint } = options;
  const stateColumn = options.marks ? 2 : 1;
  return (r: number, column: number, text: string): string => {
    if (r === 0) return paint.heading(text);
    const row = rows[r - 1];
    if (row === undefined) return text;
    if (options.marks && column === 0) {
      if (row.mark === '+') return paint.added(text);
      if (row.mark === '-') return paint.removed(text);
      if (row.mark === '~') return paint.changed(text);
      return text;
    }
    if (row.mark === '-') return paint.dim(text);
    return column === stateColumn ? paint.state(row.socket.state, text) : text;
  };
}

/** The table as text (no trailing newline); the header alone when there are no rows. */
export function renderTable(rows: readonly TableRow[], options: TableOptions): string {
  const { head, align } = header(options);
  const lines: string[][] = [head];
  for (const row of rows) lines.push(cells(row, options));
  return layoutColumns(
    lines,
    align,
    options.paint === plainPaint ? undefined : painter(rows, options),
  );
}
