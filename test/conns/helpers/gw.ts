import { runGw, type RunOptions, type RunResult } from '../../helpers/cli.js';

/** Runs `gw ARGS` to completion (30 s at most unless told), with extra environment or as another user. */
export function gw(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return runGw(args, { timeoutMs: 30_000, ...options });
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
  options: RunOptions = {},
): Promise<JsonSocket[]> {
  const { code, stdout, stderr } = await gw(['conns', '--json', ...args], options);
  if (code !== 0) throw new Error(`gw conns exited ${String(code)}: ${stderr}`);
  return JSON.parse(stdout) as JsonSocket[];
}
