/**
 * Parses the kernel's socket tables, /proc/net/tcp, tcp6, udp and udp6, into
 * {@link ConnSocket} records. Pure: takes the text, returns records and the
 * lines it could not read (counted, never silently dropped).
 *
 * One line per socket (net/ipv4/tcp_ipv4.c, get_tcp4_sock):
 *
 *    sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
 *     0: 0100007F:908B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 147972 ...
 *
 * Addresses are hex words in host byte order (see procHexBytes), ports
 * plain hex, `st` the state code, `tr` the timer kind (0 none, 1
 * retransmit, 2 keepalive, 3 TIME_WAIT, 4 zero-window probe) and `tm->when`
 * the time left on it in USER_HZ ticks (1/100 s). `retrnsmt` counts
 * retransmissions, `timeout` unanswered probes. TIME_WAIT and SYN_RECV lines
 * are shorter (their sockets are minisockets); UDP lines end with a drops
 * count. Only the first ten fields are read, which every kind of line has.
 *
 * Tables run to tens of thousands of lines, so the scanner works on offsets
 * into the whole text (no string per line or field), reuses one array for
 * field positions and caches decoded addresses; {@link scanProcNet} hands
 * each socket to a visitor so callers can keep only the ones they need.
 */
import { decodeProcAddress, hexDigit } from './ip-address.js';
import { stateFromCode, type TcpState } from './states.js';
import type { ConnSocket, Endpoint, Family, Proto, SocketTimer, TimerKind } from './types.js';

/** A line that could not be parsed, kept so it can be reported. */
export interface MalformedLine {
  /** 1-based line number in the file. */
  line: number;
  text: string;
  reason: string;
}

export interface ParsedTable {
  sockets: ConnSocket[];
  malformed: MalformedLine[];
}

const TIMER_KINDS: readonly (TimerKind | null)[] = [null, 'on', 'keepalive', 'timewait', 'probe'];

/** Milliseconds per USER_HZ tick: /proc reports clock_t, 100 per second on Linux. */
const MS_PER_TICK = 10;

/** How many fields every line has: sl, local, remote, st, queues, timer, retrnsmt, uid, timeout, inode. */
const FIELDS = 10;

class BadLine extends Error {}

/** Start and end offsets of the fields of the line being parsed (reused: one parse at a time). */
const F = new Int32Array(FIELDS * 2);

/** Offsets of the `:` inside fields 1, 2, 4 and 5 (local, remote, queues, timer); -1 to search. */
const C = new Int32Array(6);

/** Fills {@link F} with fields `first`..9 of `text`, scanning from `from` to `end`. */
function findFields(text: string, from: number, end: number, first = 0): void {
  let i = from;
  for (let field = first; field < FIELDS; field++) {
    while (i < end && text.charCodeAt(i) <= 32) i++;
    if (i >= end) throw new BadLine(`expected at least ${FIELDS} fields`);
    F[field * 2] = i;
    while (i < end && text.charCodeAt(i) > 32) i++;
    F[field * 2 + 1] = i;
  }
}

const SPACE = 32;
const COLON = 58;

/**
 * Fills fields 1–6 of {@link F} from the kernel's fixed layout
 * (`%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X`, with 32 hex
 * digits per IPv6 address) and tokenises the rest. Returns false, leaving
 * the general tokeniser to it, for any line that does not follow the layout
 * (a negative 16-digit timer, a hand-edited snapshot).
 */
function fixedFields(text: string, start: number, end: number, hexLength: number): boolean {
  const colon = text.indexOf(':', start);
  if (colon < 0 || colon - start > 12 || text.charCodeAt(colon + 1) !== SPACE) return false;
  const local = colon + 2;
  const remote = local + hexLength + 6;
  const st = remote + hexLength + 6;
  if (
    st + 42 > end ||
    text.charCodeAt(local + hexLength) !== COLON ||
    text.charCodeAt(remote - 1) !== SPACE ||
    text.charCodeAt(remote + hexLength) !== COLON ||
    text.charCodeAt(st - 1) !== SPACE ||
    text.charCodeAt(st + 2) !== SPACE ||
    text.charCodeAt(st + 11) !== COLON ||
    text.charCodeAt(st + 20) !== SPACE ||
    text.charCodeAt(st + 23) !== COLON ||
    text.charCodeAt(st + 32) !== SPACE ||
    text.charCodeAt(st + 41) !== SPACE
  ) {
    return false;
  }
  F[2] = local;
  F[3] = remote - 1;
  F[4] = remote;
  F[5] = st - 1;
  F[6] = st;
  F[7] = st + 2;
  F[8] = st + 3;
  F[9] = st + 20;
  F[10] = st + 21;
  F[11] = st + 32;
  F[12] = st + 33;
  F[13] = st + 41;
  C[1] = local + hexLength;
  C[2] = remote + hexLength;
  C[4] = st + 11;
  C[5] = st + 23;
  findFields(text, st + 41, end, 7);
  return true;
}

/** The state code of a line in the fixed layout, or -1 when it does not follow it. */
export function stateCodeAt(text: string, start: number, end: number, hexLength: number): number {
  const colon = text.indexOf(':', start);
  if (colon < 0 || colon - start > 12) return -1;
  const st = colon + 2 * hexLength + 14;
  if (st + 3 > end || text.charCodeAt(st - 1) !== SPACE || text.charCodeAt(st + 2) !== SPACE) {
    return -1;
  }
  const hi = HEX[text.charCodeAt(st)] ?? -1;
  const lo = HEX[text.charCodeAt(st + 1)] ?? -1;
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/** Hex digit values by character code, -1 for anything else (a table beats branches here). */
const HEX = Int8Array.from({ length: 128 }, (_, c) => hexDigit(c));

/**
 * A hex number from `text[start, end)`, up to 13 digits exactly. Only the
 * timer's time left (`%08lX` of a signed long) may be longer: with `signed`,
 * 14 to 16 digits are read as a signed 64-bit value; any other longer field
 * is malformed.
 */
function hexField(text: string, start: number, end: number, what: string, signed = false): number {
  if (end === start) throw new BadLine(`empty ${what}`);
  if (end - start > 13) {
    const digits = text.slice(start, end);
    if (!signed || !/^[0-9A-Fa-f]{1,16}$/.test(digits)) throw new BadLine(`bad ${what} ${digits}`);
    return Number(BigInt.asIntN(64, BigInt(`0x${digits}`)));
  }
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = HEX[text.charCodeAt(i)] ?? -1;
    if (d < 0) throw new BadLine(`bad ${what} ${text.slice(start, end)}`);
    value = value * 16 + d;
  }
  return value;
}

function decField(text: string, start: number, end: number, what: string): number {
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw new BadLine(`bad ${what} ${text.slice(start, end)}`);
    value = value * 10 + d;
  }
  return value;
}

/**
 * Decodes hex addresses through a cache: a table repeats few distinct
 * addresses many times. The last few addresses are compared in place
 * (startsWith at an offset makes no string), so most lines decode their
 * addresses without allocating anything.
 */
class AddressCache {
  private readonly map = new Map<string, string>();
  private readonly recentHex: string[] = [];
  private readonly recentText: string[] = [];
  private next = 0;
  private readonly hexLength: number;

  constructor(family: Family) {
    this.hexLength = family === 4 ? 8 : 32;
  }

  decode(text: string, start: number, end: number): string {
    if (end - start !== this.hexLength) throw new BadLine(`bad address ${text.slice(start, end)}`);
    const recent = this.recentHex;
    for (let i = 0; i < recent.length; i++) {
      if (text.startsWith(recent[i] ?? '', start)) return this.recentText[i] ?? '';
    }
    const hex = text.slice(start, end);
    let address = this.map.get(hex);
    if (address === undefined) {
      address = decodeProcAddress(hex);
      if (address === undefined) throw new BadLine(`bad address ${hex}`);
      this.map.set(hex, address);
    }
    this.recentHex[this.next] = hex;
    this.recentText[this.next] = address;
    this.next = (this.next + 1) % RECENT;
    return address;
  }
}

/** How many recent addresses {@link AddressCache} compares in place. */
const RECENT = 4;

/** Offset of the `:` that splits a field `[start, end)` into two halves. */
function colonIn(text: string, start: number, end: number, what: string): number {
  const colon = text.indexOf(':', start);
  if (colon < 0 || colon >= end) throw new BadLine(`bad ${what} ${text.slice(start, end)}`);
  return colon;
}

/** The `:` inside field `field`: known from the fixed layout, or searched for. */
function colonOf(text: string, field: number, what: string): number {
  const known = C[field] ?? -1;
  return known >= 0 ? known : colonIn(text, F[field * 2] ?? 0, F[field * 2 + 1] ?? 0, what);
}

/** A port: at most 0xFFFF. */
function portField(text: string, start: number, end: number): number {
  const port = hexField(text, start, end, 'port');
  if (port > 0xffff) throw new BadLine(`bad port ${text.slice(start, end)}`);
  return port;
}

function endpoint(text: string, field: number, addresses: AddressCache): Endpoint {
  const start = F[field * 2] ?? 0;
  const end = F[field * 2 + 1] ?? 0;
  const colon = colonOf(text, field, 'endpoint');
  return {
    address: addresses.decode(text, start, colon),
    port: portField(text, colon + 1, end),
  };
}

function timerOf(kindCode: number, ticks: number): SocketTimer | null {
  const kind = TIMER_KINDS[kindCode];
  if (kind === undefined) throw new BadLine(`unknown timer kind ${kindCode}`);
  return kind === null ? null : { kind, remainingMs: Math.max(0, ticks) * MS_PER_TICK };
}

function parseLine(
  text: string,
  start: number,
  end: number,
  proto: Proto,
  family: Family,
  addresses: AddressCache,
): ConnSocket {
  if (!fixedFields(text, start, end, family === 4 ? 8 : 32)) {
    C.fill(-1);
    findFields(text, start, end);
  }
  const at = (i: number): number => F[i] ?? 0;
  const state = stateFromCode(hexField(text, at(6), at(7), 'state')) ?? 'UNKNOWN';
  const queues = colonOf(text, 4, 'queues');
  const timer = colonOf(text, 5, 'timer');
  return {
    proto,
    family,
    state,
    local: endpoint(text, 1, addresses),
    remote: endpoint(text, 2, addresses),
    recvQ: hexField(text, queues + 1, at(9), 'queues'),
    sendQ: hexField(text, at(8), queues, 'queues'),
    timer: timerOf(
      hexField(text, at(10), timer, 'timer'),
      hexField(text, timer + 1, at(11), 'timer', true),
    ),
    retransmits: hexField(text, at(12), at(13), 'retransmits'),
    probes: decField(text, at(16), at(17), 'probes'),
    uid: decField(text, at(14), at(15), 'uid'),
    inode: decField(text, at(18), at(19), 'inode'),
  };
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (text.charCodeAt(i) > 32) return false;
  return true;
}

/**
 * A shortcut for callers that only count most sockets: it sees each line's
 * state (read from the fixed layout, without parsing the rest) and says
 * whether to parse the socket and visit it, only count it, or skip it.
 */
export interface Triage {
  decide: (state: TcpState) => 'parse' | 'count' | 'skip';
  count: (state: TcpState) => void;
}

/** Where a table read in pieces has got to: lines scanned so far (see {@link scanProcNet}). */
export interface ScanPosition {
  line: number;
}

/**
 * Parses one socket table and hands each socket to `visit`; returns the
 * lines it could not read. `family` says which file the text came from (4
 * for tcp/udp, 6 for tcp6/udp6); a header line is recognised and skipped.
 * With `triage`, lines it only counts or skips are not parsed further. A
 * table that arrives in pieces of whole lines is scanned piece by piece
 * with one `position`, which numbers the lines across pieces.
 */
export function scanProcNet(
  text: string,
  proto: Proto,
  family: Family,
  visit: (socket: ConnSocket) => void,
  triage?: Triage,
  position: ScanPosition = { line: 0 },
): MalformedLine[] {
  const malformed: MalformedLine[] = [];
  const addresses = new AddressCache(family);
  const hexLength = family === 4 ? 8 : 32;
  let lineNo = position.line;
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const lineStart = start;
    start = end + 1;
    if (lineNo === 1 && text.slice(lineStart, end).includes('local_address')) continue;
    if (triage !== undefined) {
      const code = stateCodeAt(text, lineStart, end, hexLength);
      const state = code < 0 ? undefined : stateFromCode(code);
      if (state !== undefined) {
        const decision = triage.decide(state);
        if (decision === 'count') triage.count(state);
        if (decision !== 'parse') continue;
      }
    }
    if (isBlank(text, lineStart, end)) continue;
    try {
      visit(parseLine(text, lineStart, end, proto, family, addresses));
    } catch (err) {
      if (!(err instanceof BadLine)) throw err;
      malformed.push({
        line: lineNo,
        text: text.slice(lineStart, end).trim(),
        reason: err.message,
      });
    }
  }
  position.line = lineNo;
  return malformed;
}

/** Parses one socket table into an array (see {@link scanProcNet}). */
export function parseProcNet(text: string, proto: Proto, family: Family): ParsedTable {
  const sockets: ConnSocket[] = [];
  const malformed = scanProcNet(text, proto, family, (s) => sockets.push(s));
  return { sockets, malformed };
}
