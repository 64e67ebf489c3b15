/**
 * Reads big socket tables on other cores. The kernel spends about two
 * microseconds per socket generating /proc/net/tcp text, hands it out a
 * page per read(), and walks every socket of the host for each of tcp and
 * tcp6; with fifty thousand sockets that is some 50 ms per table, all of
 * it in this process's read() calls when it reads them itself.
 *
 * So each table is copied by a `cat` of its own into an unlinked temporary
 * file (in /dev/shm when it has room): the kernel then generates the tables
 * on other cores, in parallel, while this process loads its modules and
 * parses whatever has arrived so far. A child costs about 2 ms to start
 * here; a worker thread costs 20 ms and slows the main thread while it
 * boots. A file rather than a pipe, because a pipe holds 64 KiB and would
 * stall `cat` while this thread is busy. An edge (processes and files).
 *
 * `gw conns` starts the copies before it even loads its options parser
 * ({@link startEarlyCopies}); what the options then do not want is stopped.
 * Wherever a child cannot be had (no `cat`, no temporary directory with
 * room, a permission model that forbids children), or a copy fails before
 * any of it was used, the table is read on this thread instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connsReadFailed } from '../shared/errors.js';
import {
  readOptional,
  tableNames,
  type PendingTable,
  type TableChoice,
  type TableName,
  type TablePrefetch,
} from './read-proc.js';

/** From this many TCP sockets in use (and TIME_WAIT) on, tables are copied by other processes. */
export const PARALLEL_MIN_SOCKETS = 5000;

/** Bytes of /proc/net/tcp6 text per socket, rounded up (tcp lines are shorter). */
const BYTES_PER_SOCKET = 180;

/** How often a growing copy is looked at while this thread has nothing else to do. */
const POLL_MS = 1;

/** A table being copied, with a way to stop the copy. */
export interface TableCopy {
  /**
   * The table's text in pieces of whole lines, as the copy grows; nothing
   * when it cannot be read (tcp6 without IPv6). Iterate it once.
   */
  chunks: () => AsyncGenerator<string>;
  /** The copying process, while it runs (none once it exited, or when read on this thread). */
  child?: ChildProcess;
  /** Stops the copy (by its pid) and frees its file. */
  cancel: () => void;
}

/** /dev/shm when it is a writable directory with room (memory, never a disk), else the OS temp dir. */
function scratchDir(room: number): string | undefined {
  for (const dir of ['/dev/shm', os.tmpdir()]) {
    try {
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
      const stats = fs.statfsSync(dir);
      if (stats.bavail * stats.bsize >= room) return dir;
    } catch {
      // Not there, not writable, or no statfs: try the next.
    }
  }
  return undefined;
}

/** The table read here and now, as one piece. */
function readHere(file: string): TableCopy {
  return {
    chunks: async function* () {
      const text = readOptional(file);
      if (text !== undefined) yield text;
      await Promise.resolve();
    },
    cancel: () => undefined,
  };
}

/** Copies still running; stopped by pid should gw exit before they finish (`gw conns | head`). */
const running = new Set<ChildProcess>();
let stopsOnExit = false;

function stopRunning(): void {
  for (const child of running) if (child.exitCode === null) child.kill();
}

/**
 * Copies `file` with `cat` into a temporary file that is unlinked as soon
 * as it is open (nothing is left behind, whatever happens next). Its
 * {@link TableCopy.chunks} reads the copy as it grows. `room` is the space
 * the copy may need. `cat` failing before anything was read means the file
 * is read here instead (which is also how a missing tcp6 comes out as
 * nothing); failing after some was read is GW_ERR_CONNS_READ.
 */
export function copyInChild(file: string, room = 64 << 20): TableCopy {
  const dir = scratchDir(room);
  if (dir === undefined) return readHere(file);
  let fd: number;
  try {
    const name = path.join(dir, `gw-conns-${process.pid}-${Math.random().toString(36).slice(2)}`);
    fd = fs.openSync(name, 'wx+', 0o600);
    fs.unlinkSync(name);
  } catch {
    return readHere(file);
  }
  let child: ChildProcess;
  try {
    child = spawn('cat', ['--', file], { stdio: ['ignore', fd, 'ignore'] });
    // A copy never keeps gw alive by itself (its reader's poll timer does while it is read):
    // gw leaving early, on an error or a usage mistake, stops it by pid on the way out.
    child.unref();
    if (!stopsOnExit) process.once('exit', stopRunning);
    stopsOnExit = true;
  } catch {
    // A permission model without child processes throws here.
    fs.closeSync(fd);
    return readHere(file);
  }
  let open = true;
  const close = (): void => {
    if (open) fs.closeSync(fd);
    open = false;
  };
  /** How the copy ended: its exit code (null: killed), or 'error' when it never ran. */
  let ended: number | null | 'error' | undefined;
  let wake: (() => void) | undefined;
  const copy: TableCopy = { child, chunks: () => readAll(), cancel: () => undefined };
  child.once('error', () => {
    ended ??= 'error';
    wake?.();
  });
  running.add(child);
  child.once('exit', (code) => {
    ended ??= code;
    delete copy.child;
    running.delete(child);
    wake?.();
  });
  copy.cancel = () => {
    if (copy.child?.exitCode === null) copy.child.kill();
    close();
  };

  async function* readAll(): AsyncGenerator<string> {
    const window = Buffer.allocUnsafe(1 << 20);
    let offset = 0;
    let carry = '';
    try {
      for (;;) {
        // Whether it had ended is looked at before reading, so that the last read sees all of it.
        const end = ended;
        for (;;) {
          const n = fs.readSync(fd, window, 0, window.length, offset);
          if (n === 0) break;
          offset += n;
          const text = carry + window.toString('latin1', 0, n);
          const cut = text.lastIndexOf('\n') + 1;
          carry = text.slice(cut);
          if (cut > 0) yield text.slice(0, cut);
        }
        if (end !== undefined) {
          if (end !== 0 && offset === 0) {
            // Never copied a byte (no such file, no cat): read it here, or find it unreadable.
            const text = readOptional(file);
            if (text !== undefined) yield text;
          } else if (end !== 0) {
            throw connsReadFailed(
              file,
              end === 'error'
                ? 'its copy could not go on'
                : `its copy stopped after ${offset} bytes (cat ${end === null ? 'was killed' : `exited with ${end}`})`,
            );
          } else if (carry !== '') yield carry;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, POLL_MS);
        });
        wake = undefined;
      }
    } finally {
      // Done, failed, or abandoned half-way by its reader: the copy is over either way.
      copy.cancel();
    }
  }
  return copy;
}

/** TCP sockets in use plus TIME_WAIT in this namespace (/proc/net/sockstat), 0 when unknown. */
export function socketsInUse(procRoot: string): number {
  try {
    const text = fs.readFileSync(path.join(procRoot, 'net', 'sockstat'), 'latin1');
    const tcp = /^TCP: inuse (\d+).* tw (\d+)/m.exec(text);
    return tcp === null ? 0 : Number(tcp[1]) + Number(tcp[2]);
  } catch {
    return 0;
  }
}

type TableSpec = ReturnType<typeof tableNames>[number];

function asPrefetch(copies: Map<TableSpec, TableCopy>, procRoot: string): TablePrefetch {
  const tables = new Map<TableName, PendingTable>();
  for (const [t, copy] of copies) {
    tables.set(t.name, { ...t, source: path.join(procRoot, 'net', t.name), chunks: copy.chunks });
  }
  return { tables };
}

/** Starts a copy of each of `specs`, each with room for all `sockets`. */
function copyAll(
  specs: readonly TableSpec[],
  procRoot: string,
  sockets: number,
): Map<TableSpec, TableCopy> {
  const room = sockets * BYTES_PER_SOCKET + (8 << 20);
  return new Map(specs.map((t) => [t, copyInChild(path.join(procRoot, 'net', t.name), room)]));
}

/**
 * Starts copying every table of `choice` but the first (which the caller
 * reads itself meanwhile) when the tables are big enough for that to pay;
 * undefined otherwise.
 */
export function prefetchTables(choice: TableChoice, procRoot: string): TablePrefetch | undefined {
  const rest = tableNames(choice).slice(1);
  const sockets = rest.length === 0 ? 0 : socketsInUse(procRoot);
  if (sockets < PARALLEL_MIN_SOCKETS) return undefined;
  return asPrefetch(copyAll(rest, procRoot, sockets), procRoot);
}

/** The copies started before the options were parsed, by table. */
let early: { procRoot: string; copies: Map<TableSpec, TableCopy> } | undefined;

/**
 * Starts copying the default tables (tcp and tcp6) for `gw conns ARGS`
 * before its options are parsed, when this is a live reading of a big
 * table (not `--from`, not `--help`).
 */
export function startEarlyCopies(
  args: readonly string[],
  procRoot = process.env.GW_PROC_ROOT ?? '/proc',
): void {
  if (process.platform !== 'linux' || early !== undefined) return;
  const skip = (a: string) =>
    a === '-h' || a === '--help' || a === '--from' || a.startsWith('--from=');
  if (args.some(skip)) return;
  const sockets = socketsInUse(procRoot);
  if (sockets < PARALLEL_MIN_SOCKETS) return;
  const copies = copyAll(tableNames({ protos: ['tcp'], families: [4, 6] }), procRoot, sockets);
  early = { procRoot, copies };
}

/**
 * The early copies `choice` wants, as a prefetch for its first reading
 * (undefined when none were started or none fit); the others are stopped.
 */
export function takeEarlyCopies(choice: TableChoice): TablePrefetch | undefined {
  if (early === undefined) return undefined;
  const { procRoot, copies } = early;
  early = undefined;
  const wanted = new Set(tableNames(choice).map((t) => t.name));
  const taken = new Map<TableSpec, TableCopy>();
  for (const [t, copy] of copies) {
    if (wanted.has(t.name)) taken.set(t, copy);
    else copy.cancel();
  }
  return taken.size === 0 ? undefined : asPrefetch(taken, procRoot);
}

/** Stops the early copies: the options asked for no live reading (`--from`). */
export function cancelEarlyCopies(): void {
  takeEarlyCopies({ protos: [], families: [] });
}
