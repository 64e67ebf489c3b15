/**
 * `gw conns` with 50,000 sockets open on loopback, side by side with
 * `ss -tan` and `netstat -tan`.
 *
 * Opens the sockets in holder processes (each raises its soft fd limit to
 * the hard limit and keeps both ends of its connections; as many holders as
 * the limit requires): mostly ESTABLISHED pairs, some CLOSE_WAIT/FIN_WAIT2
 * pairs (so `--summary` has owners to look up) and some TIME_WAIT. Then runs
 * `ss -tan`, `netstat -tan`, `gw conns --summary` and `gw conns --json`
 * interleaved, one of each per round, stdout piped into this process and
 * counted (then, fewer times, the table and the `-p` owner scan against
 * `ss -tanp`, for information). Reports medians and gw's ratios. Goals
 * (issue 5): each gw command within 3x `ss -tan` and faster than
 * `netstat -tan`.
 *
 * As root (with unshare) everything runs in a private network namespace, so
 * the 50,000 sockets neither disturb other work on the machine nor get mixed
 * with its sockets; without root it runs in the current namespace.
 * Everything it starts is stopped by pid at the end.
 *
 *   npm run build && node --import tsx bench/conns.ts [--sockets N] [--rounds N] [--warmups N] [--close-wait N]
 *
 * `--close-wait N` adds N half-closed connections: the summary then names
 * the owners of their CLOSE_WAIT sockets, which means walking every
 * process's /proc/PID/fd, as `ss -p` does.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describeEnvironment, environment } from './lib/environment.js';
import { intFlag } from './lib/int-flag.js';
import { median, quantile, round } from './lib/median.js';
import { table, thousands, verdict } from './lib/table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const BIN = fileURLToPath(new URL('../bin/gw.js', import.meta.url));
const DIST_MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/** Goals: gw within this multiple of `ss -tan`, and below 1x `netstat -tan`. */
const SS_GOAL = 3;

// --- holder mode: one process keeping its share of the sockets open ---------

interface HolderPlan {
  established: number;
  closeWait: number;
  timeWait: number;
}

/** Every socket the holder accepted. */
const accepted: net.Socket[] = [];

async function listeners(count: number): Promise<net.Server[]> {
  const servers: net.Server[] = [];
  for (let i = 0; i < count; i++) {
    // Accepted sockets are kept referenced: one that has read its EOF is no longer active
    // in libuv and, unreferenced, would be garbage-collected and closed.
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => undefined);
      accepted.push(s);
    });
    await new Promise<void>((resolve) =>
      server.listen({ port: 0, host: i % 2 === 0 ? '127.0.0.1' : '::1', backlog: 4096 }, resolve),
    );
    servers.push(server);
  }
  return servers;
}

function connectTo(server: net.Server): Promise<net.Socket> {
  const { port, address } = server.address() as net.AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: address, allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Runs `make(i)` for i < n, `batch` at a time. */
async function inBatches(
  n: number,
  batch: number,
  make: (i: number) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => make(i + j)));
  }
}

async function holder(plan: HolderPlan): Promise<void> {
  const servers = await listeners(LISTENERS);
  const keep: net.Socket[] = [];
  const pick = (i: number): net.Server => {
    const server = servers[i % servers.length];
    if (server === undefined) throw new Error('no listener');
    return server;
  };
  await inBatches(plan.established, 500, async (i) => {
    keep.push(await connectTo(pick(i)));
  });
  await inBatches(plan.closeWait, 200, async (i) => {
    const s = await connectTo(pick(i));
    keep.push(s);
    s.end(); // FIN: we go to FIN_WAIT2, the accepted side (half-open) to CLOSE_WAIT
  });
  // The server accepts on a later turn of the event loop than the client connects: wait for
  // every accept, or the TIME_WAIT handler below would close half-closed connections too.
  for (let i = 0; i < 1000 && accepted.length < plan.established + plan.closeWait; i++) {
    await sleep(10);
  }
  // TIME_WAIT last (it lasts 60 s): the client closes first, the server answers with its FIN.
  for (const server of servers) {
    server.on('connection', (s: net.Socket) => {
      s.on('end', () => s.end());
      s.resume();
    });
  }
  await inBatches(plan.timeWait, 200, async (i) => {
    const s = await connectTo(pick(i));
    s.resume();
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.end();
    });
  });
  process.stdout.write('ready\n');
  process.stdin.resume();
  process.stdin.once('end', () => process.exit(0));
}

// --- measuring ----------------------------------------------------------------

interface Subject {
  name: string;
  cmd: string;
  args: readonly string[];
  /** Held to the goals (the others are shown for information). */
  goal: boolean;
}

const gwSubject = (name: string, args: readonly string[], goal: boolean): Subject => ({
  name,
  cmd: process.execPath,
  args: [BIN, ...args],
  goal,
});

/** The references, the two commands with goals, and for information the table and -p. */
const SUBJECTS: readonly Subject[] = [
  { name: 'ss -tan', cmd: 'ss', args: ['-tan'], goal: false },
  { name: 'netstat -tan', cmd: 'netstat', args: ['-tan'], goal: false },
  gwSubject('gw conns --summary', ['conns', '--summary'], true),
  gwSubject('gw conns --json', ['conns', '--json'], true),
  gwSubject('gw conns (table)', ['conns'], false),
  { name: 'ss -tanp', cmd: 'ss', args: ['-tanp'], goal: false },
  gwSubject('gw conns -p --json', ['conns', '-p', '--json'], false),
];

/** Runs one subject, draining its stdout; wall time in ms and the lines it printed. */
function timeOnce(subject: Subject): Promise<{ ms: number; lines: number }> {
  const started = process.hrtime.bigint();
  const child = spawn(subject.cmd, subject.args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let lines = 0;
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${subject.name} exited ${String(code)}: ${err.trim()}`));
      else resolve({ ms, lines });
    });
  });
}

function fdLimit(): number {
  const out = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? 1 << 20 : Number(out);
}

/** Listeners per holder. */
const LISTENERS = 8;

/**
 * How the sockets are split: 3% TIME_WAIT (client side only, no
 * descriptor), `closeWait` half-closed connections (a CLOSE_WAIT and a
 * FIN_WAIT2 socket each), the rest ESTABLISHED pairs; over as many holders
 * as the fd limit needs.
 */
function plan(
  sockets: number,
  limit: number,
  closeWait: number,
): { holders: number; each: HolderPlan } {
  const timeWait = Math.round(sockets * 0.03);
  const pairsPerHolder = Math.floor((limit - 100 - LISTENERS) / 2);
  let holders = 1;
  for (;;) {
    const established = Math.round((sockets - timeWait - 2 * closeWait - LISTENERS * holders) / 2);
    if (Math.ceil((established + closeWait) / holders) <= pairsPerHolder) {
      const share = (n: number) => Math.ceil(n / holders);
      return {
        holders,
        each: {
          established: share(established),
          closeWait: share(closeWait),
          timeWait: share(timeWait),
        },
      };
    }
    holders++;
  }
}

/** Starts holders that together keep about `sockets` sockets; resolves once all are ready. */
async function startHolders(sockets: number, closeWait: number): Promise<ChildProcess[]> {
  const limit = Math.min(fdLimit(), 1 << 20);
  const { holders: count, each } = plan(sockets, limit, closeWait);
  console.log(
    `holders: ${count} (fd limit ${thousands(limit)}), each: ${LISTENERS} listeners, ${thousands(each.established)} ` +
      `ESTABLISHED pairs, ${thousands(each.closeWait)} CLOSE_WAIT/FIN_WAIT2 pairs, ${thousands(each.timeWait)} TIME_WAIT`,
  );
  const holders: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(
      'sh',
      [
        '-c',
        `ulimit -n ${limit} && exec "$0" --import tsx "$1" --holder "$2"`,
        process.execPath,
        SELF,
        JSON.stringify(each),
      ],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    holders.push(child);
  }
  try {
    await Promise.all(
      holders.map(
        (h) =>
          new Promise<void>((resolve, reject) => {
            h.stdout?.on('data', (d: Buffer) => {
              if (d.toString().includes('ready')) resolve();
            });
            h.once('close', (code) =>
              reject(new Error(`a holder exited ${String(code)} before it was ready`)),
            );
          }),
      ),
    );
  } catch (err) {
    // The others would keep this process alive, holding their sockets: stop them first.
    await stopHolders(holders);
    throw err;
  }
  return holders;
}

async function stopHolders(holders: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    holders.map(async (h) => {
      if (h.exitCode !== null || h.signalCode !== null) return;
      const closed = new Promise((resolve) => h.once('close', resolve));
      h.stdin?.end();
      const timer = setTimeout(() => h.kill('SIGKILL'), 5000);
      await closed;
      clearTimeout(timer);
    }),
  );
}

async function measure(): Promise<void> {
  const sockets = intFlag('--sockets', 50_000);
  const closeWait = intFlag('--close-wait', 0);
  const rounds = intFlag('--rounds', 10);
  const warmups = intFlag('--warmups', 2);
  const env = environment();
  console.log(
    `conns: ${thousands(sockets)} sockets, ${rounds} rounds after ${warmups} warm-ups, interleaved`,
  );
  console.log(describeEnvironment(env));
  const holders = await startHolders(sockets, closeWait);
  try {
    await sleep(500);
    const times = SUBJECTS.map((): number[] => []);
    const lines = SUBJECTS.map(() => 0);
    // The goal rows first and quickly: the TIME_WAIT sockets last 60 s. Then the slower
    // rows shown for information, fewer times.
    const groups = [
      { subjects: SUBJECTS.filter((s) => s.goal || s.name.endsWith(' -tan')), rounds },
      {
        subjects: SUBJECTS.filter((s) => !s.goal && !s.name.endsWith(' -tan')),
        rounds: Math.min(rounds, 5),
      },
    ];
    for (const group of groups) {
      for (let r = 0; r < warmups + group.rounds; r++) {
        const order = r % 2 === 0 ? group.subjects : [...group.subjects].reverse();
        for (const subject of order) {
          const i = SUBJECTS.indexOf(subject);
          const result = await timeOnce(subject);
          if (r >= warmups) times[i]?.push(result.ms);
          lines[i] = result.lines;
        }
      }
    }
    report(times, lines, env);
  } finally {
    await stopHolders(holders);
  }
}

function report(
  times: readonly number[][],
  lines: readonly number[],
  env: ReturnType<typeof environment>,
): void {
  const med = times.map((t) => median(t));
  const ss = med[0] ?? 1;
  const netstat = med[1] ?? 1;
  const rows = SUBJECTS.map((s, i) => {
    const m = med[i] ?? 0;
    return [
      s.name,
      thousands(lines[i] ?? 0),
      m.toFixed(0),
      `${quantile(times[i] ?? [], 0.1).toFixed(0)}-${quantile(times[i] ?? [], 0.9).toFixed(0)}`,
      `${(m / ss).toFixed(2)}x`,
      `${(m / netstat).toFixed(2)}x`,
      s.goal ? verdict(m <= ss * SS_GOAL && m < netstat) : '',
    ];
  });
  console.log();
  console.log(
    table(['command', 'lines', 'median ms', 'p10-p90', 'vs ss', 'vs netstat', 'goal'], rows, [
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'left',
    ]),
  );
  console.log(`\ngoal: each gw command <= ${SS_GOAL}x ss -tan and < 1x netstat -tan`);
  console.log(
    JSON.stringify({
      bench: 'conns',
      env,
      results: SUBJECTS.map((s, i) => ({
        name: s.name,
        lines: lines[i],
        medianMs: round(med[i] ?? 0),
        vsSs: round((med[i] ?? 0) / ss),
        vsNetstat: round((med[i] ?? 0) / netstat),
      })),
    }),
  );
}

function main(): void {
  if (!existsSync(DIST_MAIN)) {
    process.stderr.write('bench/conns: dist/ is not built; run `npm run build` first\n');
    process.exitCode = 1;
    return;
  }
  // Checked before fifty thousand sockets are opened: netstat comes with net-tools, ss with iproute2.
  for (const [tool, pkg] of [
    ['ss', 'iproute2'],
    ['netstat', 'net-tools'],
  ] as const) {
    if (spawnSync(tool, ['--version']).error !== undefined) {
      process.stderr.write(`bench/conns: ${tool} is not installed (apt-get install ${pkg})\n`);
      process.exitCode = 1;
      return;
    }
  }
  const isolated = process.argv.includes('--inside-netns');
  if (!isolated && process.getuid?.() === 0 && spawnSync('unshare', ['--version']).status === 0) {
    // Re-run in a private network namespace; it disappears with the process.
    const inner = [
      '--net',
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      '--import',
      'tsx',
      SELF,
      '--inside-netns',
      ...process.argv.slice(2),
    ];
    const result = spawnSync('unshare', inner, { cwd: ROOT, stdio: 'inherit' });
    process.exitCode = result.status ?? 1;
    return;
  }
  measure().catch((err: unknown) => {
    process.stderr.write(`bench/conns: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}

const at = process.argv.indexOf('--holder');
if (at >= 0) await holder(JSON.parse(process.argv[at + 1] ?? '{}') as HolderPlan);
else main();
