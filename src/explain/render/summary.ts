import { gridColumns } from '../../shared/columns.js';
import type { Connection, Role } from '../analyze/analyzer.js';
import { endpoint, type Lang } from './describe.js';

const HEAD: Record<Lang, string[]> = {
  en: [
    '#',
    'client → server',
    'packets c→s / s→c',
    'bytes c→s / s→c',
    'duration',
    'handshake RTT',
    'retrans',
    'dup ACKs',
    'zero win',
    'closed first',
    'ended',
  ],
  zh: [
    '#',
    '客户端 → 服务端',
    '包数 c→s / s→c',
    '字节 c→s / s→c',
    '时长',
    '握手 RTT',
    '重传',
    '重复确认',
    '零窗口',
    '先关闭方',
    '结束方式',
  ],
};

function ending(conn: Connection, lang: Lang): string {
  const zh = lang === 'zh';
  if (conn.end === 'rst') {
    const kind =
      conn.resetKind === 'refused'
        ? zh
          ? '拒绝'
          : 'refused'
        : conn.resetKind === 'after-close'
          ? zh
            ? '关闭中'
            : 'while closing'
          : zh
            ? '中止'
            : 'abort';
    return `RST (${kind})`;
  }
  if (conn.end === 'fin') return 'FIN/FIN';
  return zh ? '仍打开' : 'still open';
}

/**
 * The side that closed first; undefined while neither has, and for a
 * refused connection, which never opened (its RST answers the SYN).
 */
function closedFirst(conn: Connection): Role | undefined {
  return conn.resetKind === 'refused' ? undefined : conn.firstCloser;
}

/**
 * The handshake RTT in seconds, when the capture shows one: timestamps, and
 * a handshake that completed (a refused SYN's RST is no third step).
 */
function handshakeRtt(c: Connection, timed: boolean): number | undefined {
  return timed && c.handshakeDone && c.resetKind !== 'refused' && c.irtt > 0 ? c.irtt : undefined;
}

/** Seconds as milliseconds rounded to the microsecond: 3e-5 s is 0.03, not 0.030000000000000002. */
function msToMicro(seconds: number): number {
  return Math.round(seconds * 1e6) / 1000;
}

const SIDE: Record<Lang, Record<Role, string>> = {
  en: { client: 'client', server: 'server' },
  zh: { client: '客户端', server: '服务端' },
};

/**
 * The per-connection summary table of `gw explain --summary`, drawn as
 * cli-table3's default style draws it, in pieces of up to 1,000 rows (each
 * without its final newline): a capture of a million connections is a table
 * of a million rows, which cli-table3 cannot take (a RangeError past ~125,000)
 * and one string could not hold.
 */
export function summaryTable(
  connections: readonly Connection[],
  lang: Lang,
  timed: boolean,
): Iterable<string> {
  const rows: string[][] = [HEAD[lang]];
  for (const c of connections) {
    const rtt = handshakeRtt(c, timed);
    const closer = closedFirst(c);
    const retrans =
      (c.counts.get('retransmission') ?? 0) +
      (c.counts.get('fast-retransmission') ?? 0) +
      (c.counts.get('spurious-retransmission') ?? 0);
    rows.push([
      String(c.id),
      `${endpoint(c.client)} → ${endpoint(c.server)}${c.rolesGuessed ? ' ?' : ''}`,
      `${c.packets.client} / ${c.packets.server}`,
      `${c.bytes.client} / ${c.bytes.server}`,
      timed ? `${((c.lastTime - c.firstTime) * 1000).toFixed(1)} ms` : '-',
      rtt === undefined ? '-' : `${(rtt * 1000).toFixed(3)} ms`,
      String(retrans),
      String(c.counts.get('dup-ack') ?? 0),
      String(c.counts.get('zero-window') ?? 0),
      closer === undefined ? '-' : SIDE[lang][closer],
      ending(c, lang),
    ]);
  }
  return gridColumns(rows);
}

/**
 * Plain data for `--summary --json`: times in milliseconds rounded to the
 * microsecond, null when unknown (no timestamps; no completed handshake).
 */
export function summaryJson(connections: readonly Connection[], timed: boolean): object[] {
  return connections.map((c) => {
    const rtt = handshakeRtt(c, timed);
    return {
      conn: c.id,
      client: endpoint(c.client),
      server: endpoint(c.server),
      rolesGuessed: c.rolesGuessed,
      packets: c.packets,
      bytes: c.bytes,
      durationMs: timed ? msToMicro(c.lastTime - c.firstTime) : null,
      handshakeRttMs: rtt === undefined ? null : msToMicro(rtt),
      events: Object.fromEntries(c.counts),
      closedFirst: closedFirst(c) ?? null,
      end: c.end,
      resetKind: c.resetKind ?? null,
    };
  });
}
