/**
 * `gw conns --summary`: counts by state and protocol (the picture `ss -s`
 * gives, per state), the orphans, and for the two states that pile up,
 * CLOSE_WAIT and TIME_WAIT, who is on the other end and who holds them.
 * Pure.
 */
import { endpointText, ownerText, peerText } from './endpoint-text.js';
import { STATES, type TcpState } from './states.js';
import type { ConnSocket, Family, Proto } from './types.js';

/** One row of counts. Columns are tcp4, tcp6, udp4, udp6 (`udp` states: UNCONN is CLOSE). */
export interface StateRow {
  state: TcpState;
  tcp4: number;
  tcp6: number;
  udp4: number;
  udp6: number;
  total: number;
}

/** A value and how many sockets have it, most frequent first. */
export interface Ranked {
  key: string;
  count: number;
}

export interface PileupSummary {
  count: number;
  /** Peers: client addresses where this host serves, service endpoints where it connects out. */
  topRemote: Ranked[];
  /** CLOSE_WAIT: owning processes (`1234/node`); `-` counts sockets whose owner is unknown. */
  topOwners: Ranked[];
  /** TIME_WAIT: local endpoints (a service port means this host closed first as the server). */
  topLocal: Ranked[];
}

export interface Summary {
  total: number;
  tcp: number;
  udp: number;
  states: StateRow[];
  /** TCP sockets their process has closed that are still finishing (FIN_WAIT1/2, CLOSING, LAST_ACK with no file). */
  orphans: number;
  /** Connections the kernel completed that no process has accept()ed yet: the listeners' Recv-Q. */
  unaccepted: number;
  closeWait: PileupSummary;
  timeWait: PileupSummary;
}

/** The `limit` most frequent keys (ties by key), counted over `items`. */
export function topCounts<T>(items: readonly T[], keyOf: (item: T) => string, limit = 5): Ranked[] {
  const counts = new Map<string, number>();
  for (const item of items) {
    const key = keyOf(item);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, limit);
}

const ORPHAN_STATES = new Set<TcpState>(['FIN_WAIT1', 'FIN_WAIT2', 'CLOSING', 'LAST_ACK']);

/** Closed by its process (no file refers to it) but still finishing its close in the kernel. */
function isOrphan(s: ConnSocket): boolean {
  return s.inode === 0 && ORPHAN_STATES.has(s.state);
}

/**
 * How a TIME_WAIT socket's local side is counted: a listening port as the
 * endpoint (this host was the server and closed first), anything else as the
 * address with `(client ports)` (this host connected out and closed first).
 */
function timeWaitLocal(listeningPorts: ReadonlySet<number>): (s: ConnSocket) => string {
  return (s) =>
    listeningPorts.has(s.local.port)
      ? endpointText(s.local)
      : `${endpointText({ address: s.local.address, port: 0 }).slice(0, -2)} (client ports)`;
}

/**
 * Accumulates a summary one socket at a time, keeping only the CLOSE_WAIT
 * and TIME_WAIT sockets (for their top lists), so fifty thousand sockets can
 * be summarised without holding them all.
 */
export class SummaryBuilder {
  private readonly rows = new Map<TcpState, StateRow>();
  private readonly closeWait: ConnSocket[] = [];
  private readonly timeWait: ConnSocket[] = [];
  private total = 0;
  private tcp = 0;
  private orphans = 0;
  private unaccepted = 0;

  /** Counts a socket without looking at it (see {@link SummaryBuilder.needs}). */
  count(state: TcpState, proto: Proto, family: Family): void {
    let row = this.rows.get(state);
    if (row === undefined) {
      row = { state, tcp4: 0, tcp6: 0, udp4: 0, udp6: 0, total: 0 };
      this.rows.set(state, row);
    }
    // No key string per socket: this runs for nearly every socket of a big table.
    if (proto === 'tcp') {
      if (family === 4) row.tcp4++;
      else row.tcp6++;
    } else if (family === 4) row.udp4++;
    else row.udp6++;
    row.total++;
    this.total++;
    if (proto === 'tcp') this.tcp++;
  }

  /**
   * Whether the summary needs to see a socket in `state` or only to count
   * it: LISTEN (accept queues), CLOSE_WAIT and TIME_WAIT (top lists) and the
   * states an orphan can be in (it has no inode) need the socket.
   */
  static needs(state: TcpState): boolean {
    return (
      state === 'LISTEN' ||
      state === 'CLOSE_WAIT' ||
      state === 'TIME_WAIT' ||
      ORPHAN_STATES.has(state)
    );
  }

  add(s: ConnSocket): void {
    this.count(s.state, s.proto, s.family);
    if (s.proto !== 'tcp') return;
    if (s.state === 'LISTEN') this.unaccepted += s.recvQ;
    else if (isOrphan(s)) this.orphans++;
    if (s.state === 'CLOSE_WAIT') this.closeWait.push(s);
    else if (s.state === 'TIME_WAIT') this.timeWait.push(s);
  }

  /**
   * The summary. `listeningPorts` (ports with a LISTEN socket, from the
   * unfiltered table) tell server-side sockets from client-side ones.
   */
  finish(listeningPorts: ReadonlySet<number> = new Set(), limit = 5): Summary {
    const remote = (s: ConnSocket) => peerText(s, listeningPorts);
    const states = [...STATES, 'UNKNOWN' as const].flatMap((state) => {
      const row = this.rows.get(state);
      return row === undefined ? [] : [row];
    });
    return {
      total: this.total,
      tcp: this.tcp,
      udp: this.total - this.tcp,
      states,
      orphans: this.orphans,
      unaccepted: this.unaccepted,
      closeWait: {
        count: this.closeWait.length,
        topRemote: topCounts(this.closeWait, remote, limit),
        topOwners: topCounts(this.closeWait, ownerText, limit),
        topLocal: topCounts(this.closeWait, (s) => endpointText(s.local), limit),
      },
      timeWait: {
        count: this.timeWait.length,
        topRemote: topCounts(this.timeWait, remote, limit),
        topOwners: [],
        topLocal: topCounts(this.timeWait, timeWaitLocal(listeningPorts), limit),
      },
    };
  }
}

/** Counts and top lists over `sockets` (already filtered); see {@link SummaryBuilder}. */
export function summarize(
  sockets: readonly ConnSocket[],
  listeningPorts: ReadonlySet<number> = new Set(),
  limit = 5,
): Summary {
  const builder = new SummaryBuilder();
  for (const s of sockets) builder.add(s);
  return builder.finish(listeningPorts, limit);
}
