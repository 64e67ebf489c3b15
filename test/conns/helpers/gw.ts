import { spawn } from 'node:child_process';
import { GW_BIN, type RunResult } from '../../helpers/cli.js';

export interface GwOptions {
  env?: NodeJS.ProcessEnv;
  /** Run as this user id (root only). */
  uid?: number;
  timeoutMs?: number;
}

/** Runs `gw ARGS` to completion with extra environment or as another user. */
export function gw(args: readonly string[], options: GwOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GW_BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A socket as `gw conns --json` writes it. */
export interface JsonSocket {
  proto: 'tcp' | 'udp';
  family: 4 | 6;
  state: string;
  local: { address: string; port: number };
  remote: { address: string; port: number };
  recvQ: number;
  sendQ: number;
  timer: { kind: string; remainingMs: number } | null;
  retransmits: number;
  probes: number;
  uid: number;
  user?: string;
  inode: number;
  pid?: number;
  process?: string;
  owners?: { pid: number; process: string; fd: number }[];
}

/** `gw conns --json ARGS`, parsed; throws with stderr when it fails. */
export async function connsJson(
  args: readonly string[],
  options: GwOptions = {},
): Promise<JsonSocket[]> {
  const { code, stdout, stderr } = await gw(['conns', '--json', ...args], options);
  if (code !== 0) throw new Error(`gw conns exited ${String(code)}: ${stderr}`);
  return JSON.parse(stdout) as JsonSocket[];
}
