/**
 * End-to-end echo throughput over loopback: what framing costs on a real socket.
 *
 * Starts one `gw tcp-echo server --quiet` per framing on 127.0.0.1 (raw, the
 * reference with no framing at all, plus length, line and fixed), then runs
 * `gw tcp-echo client --burst 100000 --size 16 --json` against each in turn,
 * round after round, so drift in machine load hits every framing alike. The
 * client sends the burst as back-to-back writes, waits for every echo and
 * verifies it; its JSON line gives messages/s over the burst (process
 * start-up excluded). Reports the median of each framing and its ratio to
 * raw. Goal: length / raw >= 0.70. Every server is stopped by its pid with
 * SIGINT and awaited.
 *
 *   npm run build && node --import tsx bench/tcp-echo-e2e.ts [--reps N] [--burst N] [--size BYTES]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describeEnvironment, environment } from './lib/environment.js';
import { intFlag } from './lib/int-flag.js';
import { median, round } from './lib/median.js';
import { table, thousands, verdict } from './lib/table.js';
import { accepts, freePort } from './lib/free-port.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/gw.js', import.meta.url));
const DIST_MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const HOST = '127.0.0.1';

/** Framings measured; raw first, as the reference. The goal applies to length. */
const FRAMINGS = ['raw', 'length', 'line', 'fixed'] as const;
type Framing = (typeof FRAMINGS)[number];
const GOAL_FRAMING: Framing = 'length';
const GOAL_RATIO = 0.7;

const READY_TIMEOUT_MS = 10_000;
const CLIENT_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;

interface Server {
  framing: Framing;
  port: number;
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

/** What the client prints with `--burst --json` (the fields used here). */
interface BurstLine {
  /** 'burst'; checked, since this is parsed from another process's output. */
  type: string;
  framing: string;
  messagesSent: number;
  messagesReceived: number;
  mismatches: number;
  reads: number;
  elapsedMs: number;
  messagesPerSecond: number;
}

/** Collects a stream's text, line by line. */
function collect(stream: NodeJS.ReadableStream | null, into: string[]): void {
  let rest = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (text: string) => {
    const lines = (rest + text).split('\n');
    rest = lines.pop() ?? '';
    into.push(...lines);
  });
  stream?.on('end', () => {
    if (rest !== '') into.push(rest);
  });
}

function spawnGw(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [BIN, 'tcp-echo', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
}

/** Resolves with the exit code once the child has exited and its pipes are drained ('close'). Call right after spawn. */
function closedOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once('close', (code: number | null) => resolve(code)));
}

/**
 * Starts a quiet echo server for `framing` on a free port and waits until it
 * accepts connections. The port is picked here, so readiness is probed by
 * connecting rather than by parsing output; a lost race for the port is
 * retried on another.
 */
async function startServer(framing: Framing): Promise<Server> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const child = spawnGw([
      'server',
      '--host',
      HOST,
      '--port',
      String(port),
      '--framing',
      framing,
      '--quiet',
    ]);
    const server: Server = {
      framing,
      port,
      child,
      stdout: [],
      stderr: [],
      exited: closedOf(child),
    };
    collect(child.stdout, server.stdout);
    collect(child.stderr, server.stderr);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await accepts(port)) return server;
      await sleep(50);
    }
    await stopServer(server);
    if (!server.stderr.join('\n').includes('GW_ERR_PORT_IN_USE')) {
      throw new Error(
        `the ${framing} server did not start: ${server.stderr.join(' ') || 'no output'}`,
      );
    }
  }
  throw new Error(`the ${framing} server found no free port in 3 attempts`);
}

/** Stops a server by its pid with SIGINT and waits for it to exit (SIGKILL after a timeout). */
async function stopServer(server: Server): Promise<number | null> {
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    process.kill(child.pid, 'SIGINT');
  }
  const timedOut = Symbol('timeout');
  const first = await Promise.race([server.exited, sleep(STOP_TIMEOUT_MS, timedOut)]);
  if (first !== timedOut) return first;
  if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  return server.exited;
}

/** Runs one client burst against `server`; returns its verified JSON result. */
async function runClient(server: Server, burst: number, size: number): Promise<BurstLine> {
  const args = [
    'client',
    '--host',
    HOST,
    '--port',
    String(server.port),
    '--framing',
    server.framing,
  ];
  const child = spawnGw([...args, '--burst', String(burst), '--size', String(size), '--json']);
  const stdout: string[] = [];
  const stderr: string[] = [];
  collect(child.stdout, stdout);
  collect(child.stderr, stderr);
  const closed = closedOf(child);
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, CLIENT_TIMEOUT_MS);
  const code = await closed;
  clearTimeout(timer);
  const what = `client --framing ${server.framing}`;
  if (code !== 0) throw new Error(`${what} exited with ${String(code)}: ${stderr.join(' ')}`);
  const last = stdout.filter((l) => l.trim() !== '').at(-1) ?? '';
  const result = JSON.parse(last) as BurstLine;
  if (result.type !== 'burst' || result.messagesReceived !== burst || result.mismatches !== 0) {
    throw new Error(`${what}: unexpected result ${last}`);
  }
  return result;
}

interface Summary {
  framing: Framing;
  description: string;
  medianMessagesPerSecond: number;
  minMessagesPerSecond: number;
  maxMessagesPerSecond: number;
  medianElapsedMs: number;
  medianReads: number;
  ratioToRaw: number;
}

function summarize(framing: Framing, results: readonly BurstLine[], rawMedian: number): Summary {
  const rates = results.map((r) => r.messagesPerSecond);
  const rate = median(rates);
  return {
    framing,
    description: results[0]?.framing ?? framing,
    medianMessagesPerSecond: rate,
    minMessagesPerSecond: Math.min(...rates),
    maxMessagesPerSecond: Math.max(...rates),
    medianElapsedMs: median(results.map((r) => r.elapsedMs)),
    medianReads: median(results.map((r) => r.reads)),
    ratioToRaw: rate / rawMedian,
  };
}

async function measure(
  servers: readonly Server[],
  reps: number,
  burst: number,
  size: number,
): Promise<Map<Framing, BurstLine[]>> {
  const results = new Map<Framing, BurstLine[]>(FRAMINGS.map((f) => [f, []]));
  // One warm-up round (JIT of both ends), then `reps` rounds; the order flips each
  // round so that no framing always runs right after the same neighbour.
  for (let rep = -1; rep < reps; rep++) {
    const order = rep % 2 === 0 ? [...servers] : [...servers].reverse();
    for (const server of order) {
      const result = await runClient(server, burst, size);
      if (rep >= 0) results.get(server.framing)?.push(result);
    }
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  return results;
}

async function main(): Promise<void> {
  if (!existsSync(DIST_MAIN)) {
    process.stderr.write(
      `bench/tcp-echo-e2e: ${DIST_MAIN} is missing; run \`npm run build\` first (this benchmark runs the built CLI)\n`,
    );
    process.exitCode = 1;
    return;
  }
  const reps = intFlag('--reps', 7);
  const burst = intFlag('--burst', 100_000);
  const size = intFlag('--size', 16);
  const env = environment();
  console.log(
    `tcp-echo-e2e: ${burst.toLocaleString('en-US')} messages of ${size} bytes per burst, median of ${reps} rounds over ${HOST}`,
  );
  console.log(describeEnvironment(env));

  const servers: Server[] = [];
  const stopped: { framing: Framing; code: number | null; summary: string }[] = [];
  let results: Map<Framing, BurstLine[]>;
  try {
    for (const framing of FRAMINGS) servers.push(await startServer(framing));
    results = await measure(servers, reps, burst, size);
  } finally {
    for (const server of servers) {
      const code = await stopServer(server);
      const summary = server.stdout.find((l) => l.startsWith('summary:')) ?? '(no summary)';
      stopped.push({ framing: server.framing, code, summary });
    }
  }

  const rawMedian = median((results.get('raw') ?? []).map((r) => r.messagesPerSecond));
  const summaries = FRAMINGS.map((f) => summarize(f, results.get(f) ?? [], rawMedian));
  const rows = summaries.map((s) => [
    s.description,
    thousands(s.medianMessagesPerSecond),
    `${thousands(s.minMessagesPerSecond)}-${thousands(s.maxMessagesPerSecond)}`,
    s.medianElapsedMs.toFixed(1),
    String(s.medianReads),
    `${s.ratioToRaw.toFixed(2)}x`,
    s.framing === 'raw'
      ? 'reference'
      : s.framing === GOAL_FRAMING
        ? `${verdict(s.ratioToRaw >= GOAL_RATIO)} (>= ${GOAL_RATIO.toFixed(2)}x)`
        : '',
  ]);
  console.log();
  console.log(
    table(
      ['framing', 'msgs/s (median)', 'min-max', 'burst ms', 'client reads', 'vs raw', 'goal'],
      rows,
      ['left', 'right', 'right', 'right', 'right', 'right', 'left'],
    ),
  );
  console.log();
  for (const s of stopped) {
    console.log(`server ${s.framing.padEnd(6)} exit ${String(s.code)}; ${s.summary}`);
  }
  if (stopped.some((s) => s.code !== 0)) process.exitCode = 1;
  console.log();
  console.log(
    JSON.stringify({
      bench: 'tcp-echo-e2e',
      ...env,
      reps,
      burst,
      size,
      goal: { framing: GOAL_FRAMING, ratioToRaw: GOAL_RATIO },
      results: summaries.map((s) => ({
        framing: s.framing,
        medianMessagesPerSecond: Math.round(s.medianMessagesPerSecond),
        minMessagesPerSecond: Math.round(s.minMessagesPerSecond),
        maxMessagesPerSecond: Math.round(s.maxMessagesPerSecond),
        medianElapsedMs: round(s.medianElapsedMs),
        ratioToRaw: round(s.ratioToRaw, 3),
      })),
    }),
  );
}

await main();
