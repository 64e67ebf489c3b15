/**
 * Child processes of the proxy benchmark: started pinned to a CPU with
 * `taskset`, their output sent to files in the run's temporary folder, their
 * CPU time read from /proc, and every one of them stopped by its pid (and any
 * process it forked, such as nginx's worker, by that process's pid) at the
 * end, on error and on Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { accepts, freePort } from '../lib/free-port.js';

export { freePort };

export const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 15_000;
/** Longer than gw's own shutdown grace (5 s), so a slow graceful exit is seen as such. */
const STOP_TIMEOUT_MS = 10_000;

/** Which side of the machine a process runs on. */
export type Side = 'proxy' | 'load';

/** Whether processes are pinned, and to which CPU each side goes. */
export interface Pinning {
  readonly enabled: boolean;
  /** The proxy under test. */
  readonly proxyCpu: number;
  /** Load generators and backends. */
  readonly loadCpu: number;
  /** Why pinning is off, or what it does. */
  readonly note: string;
}

/** Pins the proxy to CPU 1 and the rest to CPU 0 when there are 2+ CPUs and taskset exists. */
export function pinning(disabled: boolean): Pinning {
  const off = (note: string): Pinning => ({ enabled: false, proxyCpu: -1, loadCpu: -1, note });
  if (disabled) return off('pinning off (--no-pin)');
  if (os.cpus().length < 2) return off(`pinning skipped: only ${os.cpus().length} CPU`);
  if (spawnSync('taskset', ['--version']).status !== 0) {
    return off('pinning skipped: taskset (util-linux) not found');
  }
  return {
    enabled: true,
    proxyCpu: 1,
    loadCpu: 0,
    note: 'proxy under test on CPU 1 (taskset -c 1); load generator and backend on CPU 0 (taskset -c 0)',
  };
}

/** A process started by this benchmark. */
export interface Managed {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The command line as run, taskset included, for the report. */
  readonly command: string;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  /** The exit code (or the signal's name) once it has exited. */
  readonly exited: Promise<number | string | null>;
  /** Signal that stops it gracefully. */
  readonly stopSignal: NodeJS.Signals;
}

export interface StartOptions {
  side?: Side;
  stopSignal?: NodeJS.Signals;
  cwd?: string;
}

/** Quotes one argument for display, as a shell would need it. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(file: string, args: readonly string[]): string {
  return [file, ...args].map(shellQuote).join(' ');
}

/** The set of processes of one run. */
export class Processes {
  private readonly live = new Set<Managed>();
  private counter = 0;

  /**
   * @param dir where output files go
   * @param cwd the working directory of every child (the repository root, so `--import tsx` resolves)
   */
  readonly dir: string;
  readonly pin: Pinning;
  readonly cwd: string;

  constructor(dir: string, pin: Pinning, cwd: string) {
    this.dir = dir;
    this.pin = pin;
    this.cwd = cwd;
  }

  /** `taskset -c N` for `side`, or nothing when pinning is off. */
  prefix(side: Side | undefined): string[] {
    if (!this.pin.enabled || side === undefined) return [];
    return ['taskset', '-c', String(side === 'proxy' ? this.pin.proxyCpu : this.pin.loadCpu)];
  }

  /** Starts `file args` (pinned to `side`), stdout and stderr to files. */
  start(name: string, file: string, args: readonly string[], options: StartOptions = {}): Managed {
    const argv = [...this.prefix(options.side), file, ...args];
    const [exe = file, ...rest] = argv;
    const base = path.join(this.dir, `${String(++this.counter).padStart(2, '0')}-${name}`);
    const stdoutPath = `${base}.out`;
    const stderrPath = `${base}.err`;
    const out = openSync(stdoutPath, 'w');
    const err = openSync(stderrPath, 'w');
    let child: ChildProcess;
    try {
      child = spawn(exe, rest, {
        cwd: options.cwd ?? this.cwd,
        stdio: ['ignore', out, err],
        env: { ...process.env, NO_COLOR: '1' },
      });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    if (child.pid === undefined) throw new Error(`${name}: could not start ${exe}`);
    const exited = new Promise<number | string | null>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? signal));
      child.once('error', () => resolve('spawn-error'));
    });
    const managed: Managed = {
      name,
      pid: child.pid,
      child,
      command: commandLine(exe, rest),
      stdoutPath,
      stderrPath,
      exited,
      stopSignal: options.stopSignal ?? 'SIGTERM',
    };
    this.live.add(managed);
    return managed;
  }

  /** Seconds each stopped process took to exit after its stop signal. */
  readonly stopSeconds = new Map<Managed, number>();

  /** Stops `m` by its pid (SIGKILL after a timeout), then any process it forked that is left. */
  async stop(m: Managed): Promise<number | string | null> {
    if (!this.live.has(m)) return m.exited;
    this.live.delete(m);
    const started = performance.now();
    const forked = descendantsOf(m.pid);
    if (isRunning(m)) signal(m.pid, m.stopSignal);
    const timedOut = Symbol('timeout');
    let code = await Promise.race([m.exited, sleep(STOP_TIMEOUT_MS, timedOut)]);
    if (code === timedOut) {
      signal(m.pid, 'SIGKILL');
      code = await m.exited;
    }
    this.stopSeconds.set(m, (performance.now() - started) / 1000);
    for (const pid of forked) if (alive(pid)) signal(pid, 'SIGKILL');
    return code;
  }

  /** Stops every process still running, most recent first. */
  async stopAll(): Promise<void> {
    for (const m of [...this.live].reverse()) await this.stop(m);
  }

  /** For Ctrl-C and exit: kills every process left, and what it forked, at once. */
  killAllSync(): void {
    for (const m of this.live) {
      const forked = descendantsOf(m.pid);
      signal(m.pid, 'SIGKILL');
      for (const pid of forked) signal(pid, 'SIGKILL');
    }
    this.live.clear();
  }
}

function isRunning(m: Managed): boolean {
  return m.child.exitCode === null && m.child.signalCode === null;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Fields of /proc/PID/stat after the command name: [state, ppid, ...]. */
function statFields(pid: number | string): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The pids of every live process below `root` (children, grandchildren, ...). */
export function descendantsOf(root: number): number[] {
  const parentOf = new Map<number, number>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  for (const entry of entries) {
    const fields = statFields(entry);
    if (fields?.[1] !== undefined) parentOf.set(Number(entry), Number(fields[1]));
  }
  const found: number[] = [];
  let frontier = [root];
  // Bounded: a process tree is at most as deep as there are processes.
  for (let depth = 0; depth < parentOf.size && frontier.length > 0; depth++) {
    const next: number[] = [];
    for (const [pid, ppid] of parentOf) if (frontier.includes(ppid)) next.push(pid);
    found.push(...next);
    frontier = next;
  }
  return found;
}

let clockTicks: number | undefined;

/** Clock ticks per second, the unit of /proc/PID/stat's CPU times. */
function ticksPerSecond(): number {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
  return clockTicks;
}

/** CPU seconds used so far by `root` and its live descendants (and its reaped children). */
export function cpuSeconds(root: number): number {
  let ticks = 0;
  const own = statFields(root);
  // utime, stime, cutime, cstime are stat fields 14-17 (indexes 11-14 here).
  if (own !== undefined) for (const i of [11, 12, 13, 14]) ticks += Number(own[i] ?? 0);
  for (const pid of descendantsOf(root)) {
    const f = statFields(pid);
    if (f !== undefined) ticks += Number(f[11] ?? 0) + Number(f[12] ?? 0);
  }
  return ticks / ticksPerSecond();
}

/** CPU seconds used by this process's children that have exited and been reaped. */
export function childrenCpuSeconds(): number {
  const own = statFields('self');
  return own === undefined ? 0 : (Number(own[13] ?? 0) + Number(own[14] ?? 0)) / ticksPerSecond();
}

/**
 * CPU seconds that CPU `cpu` has spent in user and system mode since boot,
 * from /proc/stat, whoever ran there; undefined when unreadable.
 */
export function cpuBusySeconds(cpu: number): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`cpu${cpu} `));
    if (line === undefined) return undefined;
    const [, user = '0', nice = '0', system = '0'] = line.trim().split(/\s+/);
    return (Number(user) + Number(nice) + Number(system)) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function failure(m: Managed, what: string): Error {
  const output = `${readText(m.stderrPath)}\n${readText(m.stdoutPath)}`.trim().slice(0, 2000);
  return new Error(`${m.name} ${what} (${m.command}): ${output || 'no output'}`);
}

/** Waits until something accepts connections on `port`; throws if `m` exits first. */
export async function waitForPort(m: Managed, port: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!isRunning(m)) throw failure(m, 'exited before it was ready');
    if (await accepts(port)) return;
    await sleep(50);
  }
  throw failure(m, `did not accept connections on port ${port}`);
}

/** Waits until `m` prints a line matching `pattern` on stdout; returns the match. */
export async function waitForLine(m: Managed, pattern: RegExp): Promise<RegExpMatchArray> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const match = pattern.exec(readText(m.stdoutPath));
    if (match !== null) return match;
    if (!isRunning(m)) throw failure(m, 'exited before it was ready');
    await sleep(50);
  }
  throw failure(m, `printed no line matching ${String(pattern)}`);
}

/** Counts the lines of a file that match `pattern` (read in one go: access logs here are tens of MB). */
export function countLines(file: string, pattern: RegExp): number {
  let n = 0;
  for (const line of readText(file).split('\n')) if (pattern.test(line)) n++;
  return n;
}

/**
 * Runs a load generator to completion (pinned to the load CPU), with a hard
 * timeout; returns its stdout and the command line. Throws on a non-zero exit.
 */
export async function runToEnd(
  procs: Processes,
  name: string,
  file: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<{ stdout: string; command: string }> {
  const m = procs.start(name, file, args, { side: 'load' });
  const timedOut = Symbol('timeout');
  const code = await Promise.race([m.exited, sleep(timeoutMs, timedOut)]);
  if (code === timedOut) {
    await procs.stop(m);
    throw failure(m, `did not finish in ${timeoutMs / 1000} s`);
  }
  await procs.stop(m);
  if (code !== 0) throw failure(m, `exited with ${String(code)}`);
  return { stdout: readText(m.stdoutPath), command: m.command };
}
