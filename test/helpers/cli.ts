import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI, as users run it (`npm test` builds first). */
export const GW_BIN = fileURLToPath(new URL('../../bin/gw.js', import.meta.url));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Standard input (none: closed at once). */
  input?: string;
  /** Killed after this long (default 20 s). */
  timeoutMs?: number;
  /** Added to the environment (which has NO_COLOR=1). */
  env?: NodeJS.ProcessEnv;
  /** Run as this user id, and the group of the same number (root only). */
  uid?: number;
  /** Another copy of bin/gw.js (see gw-for-user.ts), and a working directory for it. */
  bin?: string;
  cwd?: string;
}

/** Runs `gw ARGS` to completion, with optional stdin, killing it after `timeoutMs`. */
export function runGw(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [options.bin ?? GW_BIN, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** A long-running `gw` process whose output lines can be awaited. */
export class GwProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  private waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** Starts `gw ARGS`, with `env` added to this process's environment. */
  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [GW_BIN, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...env },
    });
    let partial = '';
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) this.addLine(line);
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => resolve({ code, signal })),
    );
  }

  private addLine(line: string): void {
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** Resolves with the first line (already seen or to come) that passes `test`. */
  waitForLine(test: (line: string) => boolean, timeoutMs = 10_000): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no matching line within ${timeoutMs} ms; got:\n${this.lines.join('\n')}\n${this.stderr}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  /** Sends a signal (default SIGINT) and waits for the exit; SIGKILL after `timeoutMs`. */
  async stop(
    signal: NodeJS.Signals = 'SIGINT',
    timeoutMs = 5000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

/** Starts `gw tcp-echo server --port 0 --json ...` and resolves with it and its port. */
export async function startEchoServerProcess(
  extra: readonly string[] = [],
): Promise<{ server: GwProcess; port: number }> {
  const server = new GwProcess(['tcp-echo', 'server', '--port', '0', '--json', ...extra]);
  const line = await server.waitForLine((l) => l.includes('"listening"'));
  const event = JSON.parse(line) as { port: number };
  return { server, port: event.port };
}
