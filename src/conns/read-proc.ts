/**
 * Reads what `gw conns` analyses, either live from /proc (the socket tables
 * of the current network namespace, the kernel's counters and the sysctls
 * the diagnoses cite) or from a saved snapshot directory (`--from DIR`).
 * This is an edge: it does the file I/O and hands text to the pure parsers.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  connsReadFailed,
  connsSnapshot,
  connsUnsupported,
  errnoOf,
  isGwError,
} from '../shared/errors.js';
import {
  parseCounters,
  parsePasswd,
  parsePortRange,
  parseSysctlInt,
  type Counters,
  type PortRange,
  type Sysctls,
} from './proc-text.js';
import type { Family, Proto } from './types.js';

/** One socket table's text and where it came from. */
export interface SocketTable {
  name: TableName;
  proto: Proto;
  family: Family;
  text: string;
  /** The file it was read from, for messages. */
  source: string;
}

export type TableName = 'tcp' | 'tcp6' | 'udp' | 'udp6';

/** Everything read at one moment. */
export interface Snapshot {
  origin: 'live' | 'snapshot';
  /** The /proc root or the snapshot directory. */
  where: string;
  tables: SocketTable[];
  /** Tables being copied by other processes (big live tables; read-parallel.ts), by name. */
  pending?: ReadonlyMap<TableName, PendingTable>;
  /** Tables asked for that the snapshot does not hold. */
  missing: TableName[];
  /** TcpExt.* and Tcp.* counters; empty when unavailable. */
  counters: Counters;
  portRange?: PortRange;
  sysctls: Sysctls;
  users: ReadonlyMap<number, string>;
  takenAtMs: number;
}

/** Which tables to read. */
export interface TableChoice {
  protos: readonly Proto[];
  families: readonly Family[];
}

const SYSCTL_FILES: readonly [keyof Sysctls, string][] = [
  ['somaxconn', 'core/somaxconn'],
  ['tcpMaxSynBacklog', 'ipv4/tcp_max_syn_backlog'],
  ['tcpSyncookies', 'ipv4/tcp_syncookies'],
  ['tcpTwReuse', 'ipv4/tcp_tw_reuse'],
  ['tcpMaxTwBuckets', 'ipv4/tcp_max_tw_buckets'],
  ['tcpFinTimeout', 'ipv4/tcp_fin_timeout'],
];

/** The table files a choice of protocols and families needs, in reading order. */
export function tableNames(
  choice: TableChoice,
): { name: TableName; proto: Proto; family: Family }[] {
  return choice.protos.flatMap((proto) =>
    choice.families.map((family) => ({
      name: `${proto}${family === 6 ? '6' : ''}` as TableName,
      proto,
      family,
    })),
  );
}

/**
 * Reads a whole socket table with synchronous reads into one buffer. /proc
 * files report size 0 and hand out about a page per read, so readFileSync's
 * stat-sized buffer does not apply. The buffer starts at 8 MiB (enough for
 * some fifty thousand sockets; memory the kernel only commits as it is
 * written) and doubles when full. Each read asks for at most 1 MiB: some
 * /proc files (the sysctls) allocate the size asked for and fail on more.
 */
export function readWhole(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    let buffer = Buffer.allocUnsafe(1 << 23);
    let length = 0;
    for (;;) {
      if (buffer.length - length < 1 << 20) {
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      const n = fs.readSync(fd, buffer, length, 1 << 20, null);
      if (n === 0) break;
      length += n;
    }
    return buffer.toString('latin1', 0, length);
  } finally {
    fs.closeSync(fd);
  }
}

/** A small file (a sysctl, a counter file, passwd) whole, or undefined when unreadable. */
function readSmall(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

/**
 * A table's text, or undefined when there is no such file (tcp6 without
 * IPv6, a snapshot without udp). A table that is there but cannot be read
 * is GW_ERR_CONNS_READ: leaving it out would show a partial picture as if
 * it were whole.
 */
export function readOptional(file: string): string | undefined {
  try {
    return readWhole(file);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT') return undefined;
    throw connsReadFailed(
      file,
      code ?? String(err),
      'check that the file is readable by this user (a snapshot directory must hold plain files)',
      err,
    );
  }
}

function mtimeMs(file: string | undefined): number | undefined {
  try {
    return file === undefined ? undefined : fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

function readExtras(read: (name: string) => string | undefined) {
  const sysctls: Sysctls = {};
  for (const [key, name] of SYSCTL_FILES) {
    const value = read(name);
    const parsed = value === undefined ? undefined : parseSysctlInt(value);
    if (parsed !== undefined) sysctls[key] = parsed;
  }
  const range = read('ipv4/ip_local_port_range');
  const portRange = range === undefined ? undefined : parsePortRange(range);
  return { sysctls, ...(portRange === undefined ? {} : { portRange }) };
}

/** A table being read elsewhere, handed over in pieces of whole lines as they arrive. */
export interface PendingTable extends Omit<SocketTable, 'text'> {
  /** The pieces (none when the table cannot be read); iterate once. */
  chunks: () => AsyncIterable<string>;
}

/** Tables already being read elsewhere (see read-parallel.ts). */
export interface TablePrefetch {
  tables: ReadonlyMap<TableName, PendingTable>;
}

/**
 * Reads the live tables of this machine's current network namespace under
 * `procRoot` (normally /proc), except those `prefetch` is reading, which
 * come as `pending`. Not Linux, or no `procRoot/net/tcp`:
 * GW_ERR_CONNS_UNSUPPORTED (exit 1). tcp6/udp6 absent (IPv6 off) are skipped.
 */
export function readLiveSnapshot(
  choice: TableChoice,
  procRoot = '/proc',
  platform = process.platform,
  prefetch?: TablePrefetch,
): Snapshot {
  if (platform !== 'linux')
    throw connsUnsupported(`this is ${platform}, not Linux, and has no /proc/net`);
  const tables: SocketTable[] = [];
  try {
    fs.accessSync(path.join(procRoot, 'net', 'tcp'), fs.constants.R_OK);
  } catch (err) {
    throw connsUnsupported(
      `cannot read ${path.join(procRoot, 'net', 'tcp')} (${errnoOf(err) ?? 'error'}; is /proc mounted?)`,
      err,
    );
  }
  for (const t of tableNames(choice)) {
    if (prefetch?.tables.has(t.name) === true) continue;
    const source = path.join(procRoot, 'net', t.name);
    const text = readOptional(source);
    if (text !== undefined) tables.push({ ...t, text, source });
  }
  const net = (name: string) => readSmall(path.join(procRoot, 'net', name));
  return {
    origin: 'live',
    where: procRoot,
    tables,
    ...(prefetch === undefined ? {} : { pending: prefetch.tables }),
    missing: [],
    counters: parseCounters(net('netstat') ?? '', net('snmp') ?? ''),
    ...readExtras((name) => readSmall(path.join(procRoot, 'sys', 'net', name))),
    users: parsePasswd(readSmall('/etc/passwd') ?? ''),
    takenAtMs: Date.now(),
  };
}

/**
 * Reads a saved snapshot: `DIR/tcp`, `tcp6`, `udp`, `udp6` (copies of the
 * /proc/net files), and if present `netstat`, `snmp`, `passwd` and the
 * sysctls by their file names (`ip_local_port_range`, `somaxconn`,
 * `tcp_syncookies`, ...). GW_ERR_CONNS_SNAPSHOT (exit 2) when DIR is not a
 * directory or holds none of the tables asked for.
 */
export function readSavedSnapshot(dir: string, choice: TableChoice): Snapshot {
  try {
    if (!fs.statSync(dir).isDirectory()) throw connsSnapshot(dir, 'not a directory');
  } catch (err) {
    if (isGwError(err)) throw err;
    throw connsSnapshot(
      dir,
      errnoOf(err) === 'ENOENT' ? 'no such directory' : String(errnoOf(err)),
      err,
    );
  }
  const tables: SocketTable[] = [];
  const missing: TableName[] = [];
  for (const t of tableNames(choice)) {
    const source = path.join(dir, t.name);
    const text = readOptional(source);
    if (text === undefined) missing.push(t.name);
    else tables.push({ ...t, text, source });
  }
  if (tables.length === 0) {
    throw connsSnapshot(dir, `none of ${missing.join(', ')} is there`);
  }
  const file = (name: string) => readSmall(path.join(dir, name));
  return {
    origin: 'snapshot',
    where: dir,
    tables,
    missing,
    counters: parseCounters(file('netstat') ?? '', file('snmp') ?? ''),
    ...readExtras((name) => file(path.basename(name))),
    users: parsePasswd(file('passwd') ?? ''),
    takenAtMs: mtimeMs(tables[0]?.source) ?? Date.now(),
  };
}
