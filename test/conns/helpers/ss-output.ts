/**
 * Reads what ss and netstat print, so tests can hold gw's view against the
 * real tools: `ss -tuanoe` / `ss -tano` and `netstat -tuanoe`.
 */
import { spawn } from 'node:child_process';

export interface SsRow {
  netid: 'tcp' | 'udp';
  /** ss's state name: ESTAB, CLOSE-WAIT, UNCONN, ... */
  state: string;
  recvQ: number;
  sendQ: number;
  /** As printed, minus any %interface: `127.0.0.1:80`, `[::1]:80`, `*:*`. */
  local: string;
  remote: string;
  timer?: { kind: string; count: number };
  inode?: number;
}

const STATES = new Set([
  'ESTAB',
  'SYN-SENT',
  'SYN-RECV',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'TIME-WAIT',
  'UNCONN',
  'CLOSE-WAIT',
  'LAST-ACK',
  'LISTEN',
  'CLOSING',
]);

function stripInterface(endpoint: string): string {
  return endpoint.replace(/%[^:\]]+(?=:[^:]*$)/, '');
}

/** Parses ss's table; `netid` fills in for `ss -t` output, which has no Netid column. */
export function parseSs(text: string, netid: 'tcp' | 'udp' = 'tcp'): SsRow[] {
  const rows: SsRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 5) continue;
    const hasNetid = fields[0] === 'tcp' || fields[0] === 'udp';
    const f = hasNetid ? fields.slice(1) : fields;
    const [state, recvQ, sendQ, local, remote] = f;
    if (state === undefined || !STATES.has(state) || local === undefined || remote === undefined)
      continue;
    const row: SsRow = {
      netid: hasNetid ? (fields[0] as 'tcp' | 'udp') : netid,
      state,
      recvQ: Number(recvQ),
      sendQ: Number(sendQ),
      local: stripInterface(local),
      remote: stripInterface(remote),
    };
    const rest = f.slice(5).join(' ');
    const timer = /timer:\((\w+),[^,]*,(\d+)\)/.exec(rest);
    if (timer) row.timer = { kind: timer[1] ?? '', count: Number(timer[2]) };
    const inode = /ino:(\d+)/.exec(rest);
    if (inode) row.inode = Number(inode[1]);
    rows.push(row);
  }
  return rows;
}

export interface NetstatRow {
  proto: string;
  state: string;
  inode: number;
  timer: string;
}

/** Parses `netstat -tuanoe`: protocol, state, inode and the timer's name (`off`, `on`, `probe`, ...). */
export function parseNetstat(text: string): NetstatRow[] {
  const rows: NetstatRow[] = [];
  for (const line of text.split('\n')) {
    const m = /^(tcp6?|udp6?)\s+\d+\s+\d+\s+\S+\s+\S+\s+([A-Z_0-9]*)\s+\d+\s+(\d+)\s+(\w+)/.exec(
      line,
    );
    if (!m) continue;
    rows.push({ proto: m[1] ?? '', state: m[2] ?? '', inode: Number(m[3]), timer: m[4] ?? '' });
  }
  return rows;
}

/** Runs a command to completion and returns its stdout (rejects on a non-zero exit). */
export function capture(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`)),
    );
  });
}
