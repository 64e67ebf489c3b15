/**
 * Which process holds which socket: the `-p` view of ss and netstat. Every
 * open socket appears in its owners' `/proc/PID/fd` as a symbolic link to
 * `socket:[INODE]`, the inode the socket tables list. This is an edge (it
 * reads /proc); the file-system calls are injectable so tests can make
 * processes vanish or refuse mid-scan.
 *
 * What cannot be read is skipped and counted, never an error: another user's
 * processes (EACCES without root), and processes that exit during the scan
 * (ENOENT). Their sockets show no owner.
 */
import fs from 'node:fs';
import { errnoOf } from '../shared/errors.js';
import type { ConnSocket, Owner } from './types.js';

/** The three calls the scan makes; node:fs by default. */
export interface ProcFs {
  readdir(dir: string): string[];
  readlink(link: string): string;
  readFile(file: string): string;
}

const nodeFs: ProcFs = {
  readdir: (dir) => fs.readdirSync(dir),
  readlink: (link) => fs.readlinkSync(link),
  readFile: (file) => fs.readFileSync(file, 'utf8'),
};

/** Owners by socket inode, and how complete the picture is. */
export interface OwnerMap {
  owners: Map<number, Owner[]>;
  /** Processes whose descriptors were read. */
  inspected: number;
  /** Processes whose descriptors could not be read (permissions). */
  denied: number;
  /** Processes that exited while being scanned. */
  vanished: number;
}

export interface ScanOptions {
  procRoot?: string;
  /** Stop as soon as every one of these inodes has an owner (all sockets when absent). */
  wanted?: ReadonlySet<number>;
  fs?: ProcFs;
}

function isGone(err: unknown): boolean {
  const code = errnoOf(err);
  return code === 'ENOENT' || code === 'ESRCH';
}

/** C0 and C1 control characters and DEL, which a process may put in its own name. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * A process's name from /proc/PID/comm, '?' when it cannot be read. A
 * process sets its own name (prctl, /proc/self/comm), so control characters
 * are shown as `?`, as ps does: they would otherwise break the table's rows
 * or reach the terminal of whoever runs gw conns as escape sequences.
 */
function commandOf(io: ProcFs, procRoot: string, pid: string): string {
  try {
    const comm = io.readFile(`${procRoot}/${pid}/comm`);
    // The kernel ends the name with one newline.
    const name = comm.endsWith('\n') ? comm.slice(0, -1) : comm;
    return name.replace(CONTROL, '?') || '?';
  } catch {
    return '?';
  }
}

/** Adds one process's sockets to `map`, or counts it as denied or vanished. */
function scanProcess(
  io: ProcFs,
  procRoot: string,
  pid: string,
  map: OwnerMap,
  wanted?: ReadonlySet<number>,
): void {
  const fdDir = `${procRoot}/${pid}/fd`;
  let fds: string[];
  try {
    fds = io.readdir(fdDir);
  } catch (err) {
    if (isGone(err)) map.vanished++;
    else map.denied++;
    return;
  }
  map.inspected++;
  let command: string | undefined;
  for (const fd of fds) {
    let target: string;
    try {
      target = io.readlink(`${fdDir}/${fd}`);
    } catch {
      continue; // closed between readdir and readlink
    }
    if (!target.startsWith('socket:[')) continue;
    const inode = Number(target.slice(8, -1));
    if (wanted !== undefined && !wanted.has(inode)) continue;
    command ??= commandOf(io, procRoot, pid);
    const owner: Owner = { pid: Number(pid), process: command, fd: Number(fd) };
    const list = map.owners.get(inode);
    if (list === undefined) map.owners.set(inode, [owner]);
    else list.push(owner);
  }
}

/**
 * Scans `/proc/PID/fd` of every process for sockets. With `wanted`, stops
 * once each wanted inode has been found (a socket shared after fork may then
 * list only its first owner).
 */
export function scanOwners(options: ScanOptions = {}): OwnerMap {
  const io = options.fs ?? nodeFs;
  const procRoot = options.procRoot ?? '/proc';
  const map: OwnerMap = { owners: new Map(), inspected: 0, denied: 0, vanished: 0 };
  let pids: string[];
  try {
    pids = io.readdir(procRoot).filter((name) => /^\d+$/.test(name));
  } catch {
    return map;
  }
  const wanted = options.wanted;
  for (const pid of pids) {
    scanProcess(io, procRoot, pid, map, wanted);
    if (wanted !== undefined && map.owners.size >= wanted.size) break;
  }
  return map;
}

/** Sets `pid`, `process` and `owners` on the sockets whose inode has owners. */
export function attachOwners(sockets: readonly ConnSocket[], map: OwnerMap): void {
  for (const socket of sockets) {
    if (socket.inode === 0) continue;
    const owners = map.owners.get(socket.inode);
    if (owners === undefined) continue;
    const first = owners[0];
    if (first === undefined) continue;
    socket.owners = owners;
    socket.pid = first.pid;
    socket.process = first.process;
  }
}
