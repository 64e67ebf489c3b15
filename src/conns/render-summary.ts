/**
 * `gw conns --summary` as text: the state × protocol counts (boxed as
 * cli-table3 draws them), orphans, and who is behind CLOSE_WAIT and TIME_WAIT. Pure.
 */
import { thousands } from '../shared/format.js';
import { boxColumns, displayWidth } from '../shared/columns.js';
import type { Lang } from './explain-findings.js';
import { TIME_WAIT_SPAN } from '../shared/tcp-terms.js';
import type { Paint } from './paint.js';
import type { PileupSummary, Ranked, StateRow, Summary } from './summary.js';

const WORDS = {
  en: {
    total: (t: string, tcp: string, udp: string) => `Total: ${t} sockets (TCP ${tcp}, UDP ${udp})`,
    state: 'State',
    orphans: (n: string) =>
      `Orphaned TCP sockets (closed by their process, still finishing in the kernel): ${n}`,
    closeWait: (n: string) =>
      `CLOSE_WAIT: ${n} (the peer has closed; each waits for its application on this host to close it)`,
    timeWait: (n: string) =>
      `TIME_WAIT: ${n} (no process holds them: the kernel keeps each after the close, ${TIME_WAIT_SPAN.en})`,
    unaccepted: (n: string) =>
      `Waiting in accept queues (handshake done, not yet accept()ed): ${n}`,
    peers: 'top peers:',
    owners: 'held by:',
    local: 'local side:',
    ownersUnknown: '(- = owner not visible: run as root)',
    ownersElsewhere: 'owners are not in a snapshot: run gw conns -p on that machine',
  },
  zh: {
    total: (t: string, tcp: string, udp: string) => `共 ${t} 个套接字（TCP ${tcp}，UDP ${udp}）`,
    state: '状态',
    orphans: (n: string) => `孤儿 TCP 套接字（进程已关闭，内核仍在收尾）：${n}`,
    closeWait: (n: string) => `CLOSE_WAIT：${n} 个（对端已关闭，每个都在等本机应用调用 close()）`,
    timeWait: (n: string) =>
      `TIME_WAIT：${n} 个（不属于任何进程：关闭后由内核保留，${TIME_WAIT_SPAN.zh}）`,
    unaccepted: (n: string) => `在全连接队列里等待 accept() 的连接：${n}`,
    peers: '主要对端：',
    owners: '所属进程：',
    local: '本地端：',
    ownersUnknown: '（- 表示看不到所属进程：请以 root 运行）',
    ownersElsewhere: '快照里没有所属进程：请在那台机器上运行 gw conns -p',
  },
} as const;

function rowLabel(row: StateRow): string {
  return row.state === 'CLOSE' && row.tcp4 + row.tcp6 === 0 ? 'UNCONN' : row.state;
}

function countsTable(summary: Summary, lang: Lang, paint: Paint): string {
  const rows = [
    [WORDS[lang].state, 'tcp', 'tcp6', 'udp', 'udp6', 'total'],
    ...summary.states.map((row) => [
      rowLabel(row),
      ...[row.tcp4, row.tcp6, row.udp4, row.udp6, row.total].map(thousands),
    ]),
  ];
  return boxColumns(rows, ['left', 'right', 'right', 'right', 'right', 'right'], (r, c, cell) => {
    const state = summary.states[r - 1]?.state;
    return c === 0 && state !== undefined ? paint.state(state, cell) : cell;
  });
}

function rankedLine(label: string, list: readonly Ranked[]): string | undefined {
  if (list.length === 0) return undefined;
  const pad = ' '.repeat(Math.max(1, 12 - displayWidth(label)));
  return `  ${label}${pad}${list.map((r) => `${r.key} ×${thousands(r.count)}`).join(', ')}`;
}

/** Who holds the sockets: known (live), partly hidden (permissions), or not recorded (snapshot). */
export type OwnerView = 'live' | 'snapshot' | 'none';

function pileupLines(title: string, p: PileupSummary, lang: Lang, owners: OwnerView): string[] {
  if (p.count === 0) return [];
  const w = WORDS[lang];
  const lines = [title, rankedLine(w.peers, p.topRemote)];
  if (owners === 'none') lines.push(rankedLine(w.local, p.topLocal));
  else if (owners === 'snapshot') lines.push(`  ${w.ownersElsewhere}`);
  else {
    lines.push(rankedLine(w.owners, p.topOwners));
    if (p.topOwners.some((r) => r.key === '-')) lines.push(`  ${w.ownersUnknown}`);
  }
  return lines.filter((l) => l !== undefined);
}

/**
 * The summary as text, ending in a newline. `origin` says whether owners
 * could be looked up (live) or not (a snapshot).
 */
export function renderSummary(
  summary: Summary,
  lang: Lang,
  paint: Paint,
  origin: 'live' | 'snapshot' = 'live',
): string {
  const w = WORDS[lang];
  const lines = [
    paint.heading(
      w.total(thousands(summary.total), thousands(summary.tcp), thousands(summary.udp)),
    ),
    countsTable(summary, lang, paint),
  ];
  if (summary.orphans > 0) lines.push(w.orphans(thousands(summary.orphans)));
  if (summary.unaccepted > 0) lines.push(w.unaccepted(thousands(summary.unaccepted)));
  const closeWait = pileupLines(
    w.closeWait(thousands(summary.closeWait.count)),
    summary.closeWait,
    lang,
    origin,
  );
  const timeWait = pileupLines(
    w.timeWait(thousands(summary.timeWait.count)),
    summary.timeWait,
    lang,
    'none',
  );
  if (closeWait.length > 0 || timeWait.length > 0) lines.push('', ...closeWait, ...timeWait);
  return `${lines.join('\n')}\n`;
}
