/**
 * What bench/attack watches on the proxy during an attack, from /proc and
 * ss(8): resident memory (VmRSS of the process and its children, such as
 * nginx's worker), open descriptors, and the proxy's sockets towards the
 * backend (every state but TIME-WAIT: an upstream connection held by a slow
 * client, or one left in FIN-WAIT-2, counts). CPU time comes from
 * bench/proxy/procs.ts (cpuSeconds).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { descendantsOf } from '../proxy/procs.js';

const run = promisify(execFile);
const RSS_EVERY_MS = 200;
const SOCKETS_EVERY_MS = 1000;

/** The pid and every live descendant (nginx's master and worker, gw alone). */
export function processTree(pid: number): number[] {
  return [pid, ...descendantsOf(pid)];
}

/** VmRSS of `pids`, summed, in KiB (a process that is gone counts 0). */
export function rssKib(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      kib += Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // Gone.
    }
  }
  return kib;
}

/** Open descriptors of `pids`, summed. */
export function descriptors(pids: readonly number[]): number {
  let n = 0;
  for (const pid of pids) {
    try {
      n += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // Gone, or not readable.
    }
  }
  return n;
}

/** Sockets to 127.0.0.1:`port` in any state but TIME-WAIT (and how many are ESTABLISHED). */
export async function socketsTo(port: number): Promise<{ all: number; established: number }> {
  try {
    const { stdout } = await run('ss', [
      '-Htan',
      'state',
      'all',
      'exclude',
      'time-wait',
      'dst',
      `127.0.0.1:${port}`,
    ]);
    const lines = stdout.split('\n').filter((l) => l.trim() !== '');
    return { all: lines.length, established: lines.filter((l) => l.startsWith('ESTAB')).length };
  } catch {
    return { all: -1, established: -1 };
  }
}

/** Peaks seen while sampling. */
export interface Peaks {
  rssKib: number;
  fds: number;
  /** Upstream sockets (not TIME-WAIT), and of those ESTABLISHED, at their peak. */
  upstream: number;
  upstreamEstablished: number;
}

/** Samples `pids` every RSS_EVERY_MS and sockets to `backendPort` every second until stopped. */
export class Sampler {
  readonly peaks: Peaks = { rssKib: 0, fds: 0, upstream: 0, upstreamEstablished: 0 };
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private readonly pids: readonly number[];
  private readonly backendPort: number;

  constructor(pids: readonly number[], backendPort: number) {
    this.pids = pids;
    this.backendPort = backendPort;
  }

  start(): void {
    this.sampleProc();
    this.timers.push(setInterval(() => this.sampleProc(), RSS_EVERY_MS));
    let busy = false;
    const sockets = (): void => {
      if (busy) return;
      busy = true;
      void socketsTo(this.backendPort).then((s) => {
        busy = false;
        this.peaks.upstream = Math.max(this.peaks.upstream, s.all);
        this.peaks.upstreamEstablished = Math.max(this.peaks.upstreamEstablished, s.established);
      });
    };
    sockets();
    this.timers.push(setInterval(sockets, SOCKETS_EVERY_MS));
  }

  /** Takes a last sample and stops (once; later calls only return the peaks). */
  stop(): Peaks {
    if (this.stopped) return this.peaks;
    this.stopped = true;
    this.sampleProc();
    for (const timer of this.timers) clearInterval(timer);
    return this.peaks;
  }

  private sampleProc(): void {
    this.peaks.rssKib = Math.max(this.peaks.rssKib, rssKib(this.pids));
    this.peaks.fds = Math.max(this.peaks.fds, descriptors(this.pids));
  }
}
