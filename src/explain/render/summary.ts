import { gridColumns } from '../../shared/columns.js';
import type { Connection } from '../analyze/analyzer.js';
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
  if (conn.end === 'fin')
    return `FIN/FIN (${conn.firstFin === 'server' ? (zh ? '服务端先关' : 'server first') : zh ? '客户端先关' : 'client first'})`;
  return zh ? '仍打开' : 'still open';
}

/**
 * The per-connection summary table of `gw explain --summary`, drawn as
 * cli-table3's default style draws it, in pieces of up to 1,000 rows (each
 * without its final newline): a capture of a million connections is a table
 * of a million rows, which cli-table3 cannot take (a RangeError past ~125,000)
 * and one string could not hold.
 */
export function summaryTable(connections: readonly Connection[], lang: Lang): Iterable<string> {
  const rows: string[][] = [HEAD[lang]];
  for (const c of connections) {
    const retrans =
      (c.counts.get('retransmission') ?? 0) +
      (c.counts.get('fast-retransmission') ?? 0) +
      (c.counts.get('spurious-retransmission') ?? 0);
    rows.push([
      String(c.id),
      `${endpoint(c.client)} → ${endpoint(c.server)}${c.rolesGuessed ? ' ?' : ''}`,
      `${c.packets.client} / ${c.packets.server}`,
      `${c.bytes.client} / ${c.bytes.server}`,
      `${((c.lastTime - c.firstTime) * 1000).toFixed(1)} ms`,
      c.irtt > 0 ? `${(c.irtt * 1000).toFixed(3)} ms` : '-',
      String(retrans),
      String(c.counts.get('dup-ack') ?? 0),
      String(c.counts.get('zero-window') ?? 0),
      ending(c, lang),
    ]);
  }
  return gridColumns(rows);
}

/** Plain data for `--summary --json`. */
export function summaryJson(connections: readonly Connection[]): object[] {
  return connections.map((c) => ({
    conn: c.id,
    client: endpoint(c.client),
    server: endpoint(c.server),
    rolesGuessed: c.rolesGuessed,
    packets: c.packets,
    bytes: c.bytes,
    durationMs: (c.lastTime - c.firstTime) * 1000,
    handshakeRttMs: c.irtt * 1000,
    events: Object.fromEntries(c.counts),
    end: c.end,
    resetKind: c.resetKind ?? null,
  }));
}
