/**
 * The diagnoses under `gw conns`: pile-ups of a state that mean something is
 * wrong, each found with its evidence as numbers (explain-findings.ts turns
 * them into sentences in English or Chinese). Pure.
 *
 * - CLOSE_WAIT piling up in one process: the peer closed, the application
 *   never called close().
 * - TIME_WAIT near the size of the ephemeral port range towards one
 *   destination: new connections will fail to find a local port.
 * - SYN_RECV piling up on one listener: handshakes not completed (SYN flood,
 *   lost ACKs, a full SYN queue).
 * - A listener with connections waiting in its accept queue while the kernel
 *   counts accept-queue overflows: the application does not accept() fast
 *   enough, or its backlog is too small.
 */
import { endpointText, peerText } from './endpoint-text.js';
import { DEFAULT_PILEUP } from './options.js';
import type { Counters, PortRange, Sysctls } from './proc-text.js';
import { topCounts, type Ranked } from './summary.js';
import type { ConnSocket } from './types.js';

export type Severity = 'warning' | 'critical';

interface FindingBase {
  /** Stable across refreshes for the same subject: `close-wait-pileup pid:123`. */
  key: string;
  severity: Severity;
  count: number;
}

export interface CloseWaitFinding extends FindingBase {
  code: 'close-wait-pileup';
  /** `node (pid 1234)`, or the local service / uid when the owner is unknown. */
  owner: { pid?: number; process?: string; uid: number; user?: string; local?: string };
  topRemote: Ranked[];
  /** Of them, how many still hold unread data besides the FIN (Recv-Q > 1). */
  withUnreadData: number;
  /**
   * Of them, how many have not even read the end of stream: Recv-Q is 1,
   * the peer's FIN, which takes one sequence number until read() returns 0.
   */
  eofUnread: number;
}

export interface TimeWaitFinding extends FindingBase {
  code: 'time-wait-exhaustion';
  local: string;
  /** `10.0.0.5:80`, or undefined when counting towards every destination. */
  destination?: string;
  portRange: PortRange;
  rangeSize: number;
  totalTimeWait: number;
  tcpTwReuse?: number;
}

export interface SynRecvFinding extends FindingBase {
  code: 'syn-recv-pileup';
  listener: string;
  distinctSources: number;
  topRemote: Ranked[];
  /** Of them, how many have had their SYN+ACK retransmitted (the client's ACK did not come). */
  retried: number;
  tcpSyncookies?: number;
  tcpMaxSynBacklog?: number;
  synCookiesSent?: number;
  reqQueueFullDrops?: number;
}

export interface AcceptQueueFinding extends FindingBase {
  code: 'accept-queue-full';
  listener: string;
  owner?: string;
  /** Connections waiting for accept() (the listener's Recv-Q). */
  queued: number;
  listenOverflows?: number;
  listenDrops?: number;
  /** Increase since the previous reading, when there was one. */
  overflowsRise?: number;
  dropsRise?: number;
  sinceMs?: number;
  somaxconn?: number;
}

export type Finding = CloseWaitFinding | TimeWaitFinding | SynRecvFinding | AcceptQueueFinding;

/** What the diagnoses know besides the sockets. */
export interface DiagnoseContext {
  portRange?: PortRange;
  sysctls: Sysctls;
  counters: Counters;
  /** The counters at an earlier moment (the previous `--watch` refresh), to see them rise. */
  previous?: { counters: Counters; atMs: number };
  nowMs: number;
  /** Ports with a LISTEN socket in the whole table, to name a service when owners are unknown. */
  listeningPorts: ReadonlySet<number>;
}

export interface DiagnoseOptions {
  /** Sockets in one state for one owner or listener that count as a pile-up. */
  pileup: number;
  /** Share of the ephemeral port range held by TIME_WAIT towards one destination that is a risk. */
  portShare?: number;
}

const DEFAULT_PORT_SHARE = 0.5;

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [item]);
    else list.push(item);
  }
  return groups;
}

function ownerKey(s: ConnSocket, listeningPorts: ReadonlySet<number>): string {
  if (s.pid !== undefined) return `pid:${s.pid}`;
  if (listeningPorts.has(s.local.port)) return `uid:${s.uid} local:${endpointText(s.local)}`;
  return `uid:${s.uid}`;
}

function closeWaitPileups(
  sockets: readonly ConnSocket[],
  ctx: DiagnoseContext,
  pileup: number,
): CloseWaitFinding[] {
  const closeWait = sockets.filter((s) => s.proto === 'tcp' && s.state === 'CLOSE_WAIT');
  const findings: CloseWaitFinding[] = [];
  for (const [key, group] of groupBy(closeWait, (s) => ownerKey(s, ctx.listeningPorts))) {
    if (group.length < pileup) continue;
    const first = group[0];
    if (first === undefined) continue;
    const owner: CloseWaitFinding['owner'] = { uid: first.uid };
    if (first.user !== undefined) owner.user = first.user;
    if (first.pid !== undefined) owner.pid = first.pid;
    if (first.process !== undefined) owner.process = first.process;
    if (key.includes(' local:')) owner.local = endpointText(first.local);
    findings.push({
      code: 'close-wait-pileup',
      key: `close-wait-pileup ${key}`,
      severity: group.length >= pileup * 10 ? 'critical' : 'warning',
      count: group.length,
      owner,
      topRemote: topCounts(group, (s) => peerText(s, ctx.listeningPorts), 3),
      withUnreadData: group.filter((s) => s.recvQ > 1).length,
      eofUnread: group.filter((s) => s.recvQ === 1).length,
    });
  }
  return findings;
}

function timeWaitRisks(
  sockets: readonly ConnSocket[],
  ctx: DiagnoseContext,
  share: number,
): TimeWaitFinding[] {
  const range = ctx.portRange;
  if (range === undefined) return [];
  const size = range.high - range.low + 1;
  const timeWait = sockets.filter(
    (s) =>
      s.proto === 'tcp' &&
      s.state === 'TIME_WAIT' &&
      s.local.port >= range.low &&
      s.local.port <= range.high,
  );
  const base = {
    code: 'time-wait-exhaustion' as const,
    portRange: range,
    rangeSize: size,
    totalTimeWait: timeWait.length,
    ...(ctx.sysctls.tcpTwReuse === undefined ? {} : { tcpTwReuse: ctx.sysctls.tcpTwReuse }),
  };
  const severity = (n: number): Severity => (n >= size * 0.9 ? 'critical' : 'warning');
  const findings: TimeWaitFinding[] = [];
  const byDestination = groupBy(timeWait, (s) => `${s.local.address} ${endpointText(s.remote)}`);
  for (const [key, group] of byDestination) {
    const first = group[0];
    if (first === undefined || group.length < size * share) continue;
    findings.push({
      ...base,
      key: `time-wait-exhaustion ${key}`,
      severity: severity(group.length),
      count: group.length,
      local: first.local.address,
      destination: endpointText(first.remote),
    });
  }
  if (findings.length === 0 && byDestination.size > 1 && timeWait.length >= size * share) {
    const local = topCounts(timeWait, (s) => s.local.address, 1)[0]?.key ?? '';
    findings.push({
      ...base,
      key: 'time-wait-exhaustion any',
      severity: severity(timeWait.length),
      count: timeWait.length,
      local,
    });
  }
  return findings.sort((a, b) => b.count - a.count).slice(0, 3);
}

function synRecvPileups(
  sockets: readonly ConnSocket[],
  ctx: DiagnoseContext,
  pileup: number,
): SynRecvFinding[] {
  const synRecv = sockets.filter((s) => s.proto === 'tcp' && s.state === 'SYN_RECV');
  const findings: SynRecvFinding[] = [];
  const { counters, sysctls } = ctx;
  for (const [listener, group] of groupBy(synRecv, (s) => endpointText(s.local))) {
    if (group.length < pileup) continue;
    const finding: SynRecvFinding = {
      code: 'syn-recv-pileup',
      key: `syn-recv-pileup ${listener}`,
      severity: group.length >= pileup * 10 ? 'critical' : 'warning',
      count: group.length,
      listener,
      distinctSources: new Set(group.map((s) => s.remote.address)).size,
      topRemote: topCounts(group, (s) => s.remote.address, 3),
      retried: group.filter((s) => s.retransmits > 0).length,
    };
    if (sysctls.tcpSyncookies !== undefined) finding.tcpSyncookies = sysctls.tcpSyncookies;
    if (sysctls.tcpMaxSynBacklog !== undefined) finding.tcpMaxSynBacklog = sysctls.tcpMaxSynBacklog;
    const sent = counters.get('TcpExt.SyncookiesSent');
    if (sent !== undefined) finding.synCookiesSent = sent;
    const full = counters.get('TcpExt.TCPReqQFullDrop');
    if (full !== undefined) finding.reqQueueFullDrops = full;
    findings.push(finding);
  }
  return findings;
}

function acceptQueueFindings(
  sockets: readonly ConnSocket[],
  ctx: DiagnoseContext,
): AcceptQueueFinding[] {
  const overflows = ctx.counters.get('TcpExt.ListenOverflows');
  const drops = ctx.counters.get('TcpExt.ListenDrops');
  const before = ctx.previous;
  const rise = (now: number | undefined, name: string): number | undefined => {
    const then = before?.counters.get(name);
    return now === undefined || then === undefined ? undefined : now - then;
  };
  const overflowsRise = rise(overflows, 'TcpExt.ListenOverflows');
  const dropsRise = rise(drops, 'TcpExt.ListenDrops');
  const rising = (overflowsRise ?? 0) > 0 || (dropsRise ?? 0) > 0;
  // Overflows counted since boot are evidence; unknown counters (a snapshot without
  // /proc/net/netstat) are not: a queue of a few is normal on a busy listener.
  const counted = (overflows ?? 0) > 0 || (drops ?? 0) > 0;
  const findings: AcceptQueueFinding[] = [];
  for (const s of sockets) {
    if (s.proto !== 'tcp' || s.state !== 'LISTEN' || s.recvQ === 0) continue;
    const somaxconn = ctx.sysctls.somaxconn;
    const overSomaxconn = somaxconn !== undefined && s.recvQ > somaxconn;
    if (!(rising || counted || overSomaxconn)) continue;
    const listener = endpointText(s.local);
    const finding: AcceptQueueFinding = {
      code: 'accept-queue-full',
      key: `accept-queue-full ${listener}`,
      severity: rising || overSomaxconn ? 'critical' : 'warning',
      count: s.recvQ,
      listener,
      queued: s.recvQ,
    };
    if (s.pid !== undefined) finding.owner = `${s.process ?? '?'} (pid ${s.pid})`;
    if (overflows !== undefined) finding.listenOverflows = overflows;
    if (drops !== undefined) finding.listenDrops = drops;
    if (overflowsRise !== undefined) finding.overflowsRise = overflowsRise;
    if (dropsRise !== undefined) finding.dropsRise = dropsRise;
    if (before !== undefined) finding.sinceMs = ctx.nowMs - before.atMs;
    if (somaxconn !== undefined) finding.somaxconn = somaxconn;
    findings.push(finding);
  }
  return findings;
}

/**
 * Every diagnosis that applies to `sockets` (the filtered table), most
 * severe first. Thresholds: `pileup` sockets in one state for one owner or
 * listener; TIME_WAIT holding `portShare` (default half) of the ephemeral
 * port range towards one destination.
 */
export function diagnose(
  sockets: readonly ConnSocket[],
  ctx: DiagnoseContext,
  options: DiagnoseOptions = { pileup: DEFAULT_PILEUP },
): Finding[] {
  const findings: Finding[] = [
    ...closeWaitPileups(sockets, ctx, options.pileup),
    ...timeWaitRisks(sockets, ctx, options.portShare ?? DEFAULT_PORT_SHARE),
    ...synRecvPileups(sockets, ctx, options.pileup),
    ...acceptQueueFindings(sockets, ctx),
  ];
  const rank = (f: Finding) => (f.severity === 'critical' ? 0 : 1);
  return findings.sort((a, b) => rank(a) - rank(b) || b.count - a.count);
}
