/**
 * What changed between two `--watch` refreshes: sockets that appeared, that
 * went away, that changed state, and the count of each state with its
 * delta. Pure.
 */
import { endpointText } from './endpoint-text.js';
import type { TableRow } from './render-table.js';
import { STATES, type TcpState } from './states.js';
import type { ConnSocket } from './types.js';

/**
 * A socket's identity across refreshes: protocol and both endpoints (a
 * connection keeps them from SYN_SENT to TIME_WAIT); listeners and unbound
 * UDP sockets add their inode, since SO_REUSEPORT lets several share an
 * address.
 */
export function socketKey(s: ConnSocket): string {
  const base = `${s.proto}${s.family} ${endpointText(s.local)} ${endpointText(s.remote)}`;
  return s.remote.port === 0 ? `${base} ${s.inode}` : base;
}

export interface StateDelta {
  state: TcpState;
  count: number;
  delta: number;
}

export interface WatchDiff {
  added: ConnSocket[];
  removed: ConnSocket[];
  changed: { socket: ConnSocket; from: TcpState }[];
  /** Every state present now or before, in lifecycle order. */
  states: StateDelta[];
  /** Current sockets marked, plus the removed ones (to show once, dimmed). */
  rows: TableRow[];
}

function countStates(sockets: readonly ConnSocket[]): Map<TcpState, number> {
  const counts = new Map<TcpState, number>();
  for (const s of sockets) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
  return counts;
}

/** Compares `current` with `previous` (nothing is new on the first refresh, when it is undefined). */
export function diffSockets(
  previous: readonly ConnSocket[] | undefined,
  current: readonly ConnSocket[],
): WatchDiff {
  const before = new Map<string, ConnSocket>();
  for (const s of previous ?? []) before.set(socketKey(s), s);
  const diff: WatchDiff = { added: [], removed: [], changed: [], states: [], rows: [] };
  const seen = new Set<string>();
  for (const s of current) {
    const key = socketKey(s);
    seen.add(key);
    const old = before.get(key);
    if (previous !== undefined && old === undefined) {
      diff.added.push(s);
      diff.rows.push({ socket: s, mark: '+' });
    } else if (old !== undefined && old.state !== s.state) {
      diff.changed.push({ socket: s, from: old.state });
      diff.rows.push({ socket: s, mark: '~', previousState: old.state });
    } else {
      diff.rows.push({ socket: s });
    }
  }
  for (const [key, s] of before) {
    if (seen.has(key)) continue;
    diff.removed.push(s);
    diff.rows.push({ socket: s, mark: '-' });
  }
  const now = countStates(current);
  const then = countStates(previous ?? current);
  for (const state of [...STATES, 'UNKNOWN' as const]) {
    const count = now.get(state) ?? 0;
    const old = then.get(state) ?? 0;
    if (count > 0 || old > 0) diff.states.push({ state, count, delta: count - old });
  }
  return diff;
}
