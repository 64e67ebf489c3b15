/**
 * TCP states: the kernel's codes and names (include/net/tcp_states.h), the
 * names ss prints and accepts, ss's state groups, and the parsing of
 * `--state`. Pure.
 *
 * The lifecycle (RFC 9293 §3.3.2): a client goes SYN_SENT → ESTABLISHED, a
 * server LISTEN → SYN_RECV → ESTABLISHED. The side that closes first (active
 * close) goes FIN_WAIT1 → FIN_WAIT2 → TIME_WAIT (or CLOSING when both close
 * at once); the other side (passive close) goes CLOSE_WAIT, where it stays
 * until its application calls close(), then LAST_ACK.
 */
import { unknownState } from '../shared/errors.js';

/** The kernel's state names, as netstat prints them and `gw conns --json` writes them. */
export type TcpState =
  | 'ESTABLISHED'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'FIN_WAIT1'
  | 'FIN_WAIT2'
  | 'TIME_WAIT'
  | 'CLOSE'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'LISTEN'
  | 'CLOSING'
  | 'UNKNOWN';

/** States by the code in the `st` column of /proc/net/tcp (01–0B). */
const BY_CODE: readonly (TcpState | undefined)[] = [
  undefined,
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
];

/** Every real state, in lifecycle order: the order of tables and summaries. */
export const STATES: readonly TcpState[] = [
  'LISTEN',
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'CLOSING',
  'TIME_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'CLOSE',
];

const ORDER = new Map<TcpState, number>(STATES.map((s, i) => [s, i]));

/** Position of a state in {@link STATES} (UNKNOWN last), for sorting. */
export function stateRank(state: TcpState): number {
  return ORDER.get(state) ?? STATES.length;
}

/** The state for a /proc `st` code, or undefined for a code the kernel does not list. */
export function stateFromCode(code: number): TcpState | undefined {
  return BY_CODE[code];
}

/** ss's spelling of each state, as in `ss -tan`'s State column. */
const SS_NAMES: Readonly<Record<TcpState, string>> = {
  ESTABLISHED: 'ESTAB',
  SYN_SENT: 'SYN-SENT',
  SYN_RECV: 'SYN-RECV',
  FIN_WAIT1: 'FIN-WAIT-1',
  FIN_WAIT2: 'FIN-WAIT-2',
  TIME_WAIT: 'TIME-WAIT',
  CLOSE: 'UNCONN',
  CLOSE_WAIT: 'CLOSE-WAIT',
  LAST_ACK: 'LAST-ACK',
  LISTEN: 'LISTEN',
  CLOSING: 'CLOSING',
  UNKNOWN: 'UNKNOWN',
};

/** ss's name of a state (`CLOSE_WAIT` → `CLOSE-WAIT`, `ESTABLISHED` → `ESTAB`). */
export function ssName(state: TcpState): string {
  return SS_NAMES[state];
}

/** The state an ss State column names (`ESTAB`, `CLOSE-WAIT`, `UNCONN`), if any. */
export function stateFromSsName(name: string): TcpState | undefined {
  for (const state of STATES) if (SS_NAMES[state] === name) return state;
  return undefined;
}

const CONNECTED = STATES.filter((s) => s !== 'LISTEN' && s !== 'CLOSE');

/** ss's state groups (`ss state connected`), as ss defines them in scan_state(). */
const GROUPS = new Map<string, readonly TcpState[]>([
  ['all', STATES],
  ['connected', CONNECTED],
  ['synchronized', CONNECTED.filter((s) => s !== 'SYN_SENT')],
  ['bucket', ['SYN_RECV', 'TIME_WAIT']],
  ['big', STATES.filter((s) => s !== 'SYN_RECV' && s !== 'TIME_WAIT')],
]);

/** Every accepted spelling, normalised (lower case, no `-` or `_`), to its state. */
const ALIASES = new Map<string, TcpState>([
  ['established', 'ESTABLISHED'],
  ['estab', 'ESTABLISHED'],
  ['synsent', 'SYN_SENT'],
  ['synrecv', 'SYN_RECV'],
  ['synrcv', 'SYN_RECV'],
  ['finwait1', 'FIN_WAIT1'],
  ['finwait2', 'FIN_WAIT2'],
  ['timewait', 'TIME_WAIT'],
  ['close', 'CLOSE'],
  ['closed', 'CLOSE'],
  ['unconnected', 'CLOSE'],
  ['unconn', 'CLOSE'],
  ['closewait', 'CLOSE_WAIT'],
  ['lastack', 'LAST_ACK'],
  ['listen', 'LISTEN'],
  ['listening', 'LISTEN'],
  ['closing', 'CLOSING'],
]);

/** The names `--state` accepts, for help and error messages. */
export const STATE_CHOICES: readonly string[] = [
  ...STATES,
  'ss names such as close-wait, estab, listening, unconnected',
  `groups ${[...GROUPS.keys()].join(', ')}`,
];

function normalise(name: string): string {
  return name.toLowerCase().replace(/[-_\s]/g, '');
}

/**
 * Parses `--state` values: each may hold several names separated by commas.
 * Accepts kernel names (`CLOSE_WAIT`), ss names (`close-wait`, `estab`,
 * `listening`), dashes or underscores, any case, and ss's groups (`all`,
 * `connected`, `synchronized`, `bucket`, `big`). Throws
 * GW_ERR_CONNS_UNKNOWN_STATE (exit 2) on anything else.
 */
export function parseStates(values: readonly string[]): ReadonlySet<TcpState> {
  const states = new Set<TcpState>();
  for (const value of values) {
    for (const part of value.split(',')) {
      const key = normalise(part.trim());
      const group = GROUPS.get(key);
      const one = ALIASES.get(key);
      if (group !== undefined) for (const s of group) states.add(s);
      else if (one !== undefined) states.add(one);
      else throw unknownState(part.trim(), STATE_CHOICES);
    }
  }
  return states;
}
