/** The attack table (one line per attack and proxy) and its JSON form. */
import { table, type Align } from '../lib/table.js';
import type { Attack } from './attacks/index.js';
import type { Measured, ProxyName } from './measure.js';

/** One attack's results: per proxy, its figures or the error that stopped the measurement. */
export interface RowResult {
  attack: Attack;
  byProxy: Partial<Record<ProxyName, Measured | { error: string }>>;
}

const HEADERS = [
  'attack',
  'proxy',
  'rss+MB',
  'cpu%',
  'fds',
  'upstr',
  'ok',
  'fail',
  'p50ms',
  'p99ms',
  'conns',
  'closed',
  'goaway',
  'open',
  'attacker detail',
];
/** The columns between proxy and attacker detail: all figures, right-aligned. */
const FIGURE_COLUMNS = HEADERS.slice(2, -1);
const ALIGN: Align[] = ['left', 'left', ...FIGURE_COLUMNS.map((): Align => 'right'), 'left'];

function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined ? '-' : value.toFixed(digits);
}

function goaways(m: Measured): string {
  const entries = Object.entries(m.attacker.goaway);
  if (entries.length === 0) return '0';
  return entries.map(([code, n]) => `${n} ${code}`).join(', ');
}

function detail(m: Measured): string {
  const parts = Object.entries(m.attacker.detail).map(([k, v]) => `${k}=${v}`);
  if (m.legit !== null && m.legit.failed > 0) {
    const causes = Object.entries(m.legit.failedBy).map(([k, v]) => `${k}:${v}`);
    parts.push(`legit failures ${causes.join(' ')}`);
  }
  if (!m.proxyAlive) parts.push('PROXY EXITED');
  return parts.join(' ');
}

function cells(id: string, proxy: string, m: Measured | { error: string }): string[] {
  // An error row: a dash in every figure column, the error in the last.
  if ('error' in m) return [id, proxy, ...FIGURE_COLUMNS.map(() => '-'), `error: ${m.error}`];
  return [
    id,
    proxy,
    fixed(m.rssGrowthMb, 1),
    fixed(m.cpuPercent, 0),
    String(m.fdsPeak),
    String(m.upstreamPeak),
    m.legit === null ? '-' : String(m.legit.ok),
    m.legit === null ? '-' : String(m.legit.failed),
    fixed(m.legit?.p50Ms, 2),
    fixed(m.legit?.p99Ms, 2),
    String(m.attacker.connections),
    String(m.attacker.closedByProxy),
    goaways(m),
    String(m.attacker.openAtEnd),
    detail(m),
  ];
}

/** The plain-text table: one line per attack and proxy. */
export function attackTable(rows: readonly RowResult[]): string {
  const lines: string[][] = [];
  for (const row of rows) {
    for (const [proxy, m] of Object.entries(row.byProxy))
      lines.push(cells(row.attack.id, proxy, m));
  }
  return table(HEADERS, lines, ALIGN);
}

/** Every figure, keyed by attack id then proxy, for the final JSON line. */
export function attackJson(rows: readonly RowResult[]): Record<string, object> {
  return Object.fromEntries(
    rows.map((row) => [row.attack.id, { family: row.attack.family, ...row.byProxy }]),
  );
}

/** The legend printed under the table. */
export const LEGEND = `columns: rss+MB = proxy RSS peak during the attack minus RSS just before it (VmRSS, nginx master+worker);
cpu% = proxy utime+stime over the attack, % of one core; fds = proxy's open descriptors at peak;
upstr = proxy sockets to the backend (any state but TIME-WAIT) at peak; ok/fail/p50ms/p99ms = the
legitimate client during the attack (HTTP GET for http rows, gRPC Unary for h2 rows; 2 s timeout);
conns = connections the attacker opened (reconnections included); closed = of those, closed by the
proxy during the attack; goaway = GOAWAY frames received, by code; open = still open at the end.`;
