/**
 * The five workloads of the proxy benchmark. Each starts its backend and its
 * candidates (direct, gw and the references), and knows how to load one
 * candidate for a number of seconds and what one measurement yields.
 */
import { countLines, HOST, runToEnd, type Managed } from './procs.js';
import {
  baseline,
  withVariant,
  GW_VARIANTS,
  isGw,
  multiCore,
  reference,
  startGw,
  startGwBackend,
  startHaproxy,
  startHttpBackend,
  startHttpProxy,
  startNginx,
  startSocat,
  startTsScript,
  startUndiciMin,
  type Candidate,
  type Context,
  type Skipped,
} from './candidates.js';
import { runWrk } from './wrk.js';
import { lastJson } from '../lib/last-json.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SECTION_IDS = ['http-small', 'http-64k', 'tcp', 'ws', 'grpc'] as const;
export type SectionId = (typeof SECTION_IDS)[number];

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** wrk's connections, the WebSocket messages and gRPC calls kept in flight. */
export const WRK_CONNECTIONS = 50;
export const WS_INFLIGHT = 100;
export const WS_MESSAGE_BYTES = 1024;
export const GRPC_CONCURRENCY = 50;

/** One measurement of one candidate. */
export interface Sample {
  /** In the section's unit. */
  value: number;
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number;
  /** How much work the measurement completed (requests, messages, calls, bytes). */
  count: number;
  /** Work done, in the unit of the section's `cpuPer` (requests, calls, messages, GB). */
  work: number;
  /** How long the load ran (the transfer time for TCP), to turn CPU seconds into a share. */
  activeSeconds: number;
  /** The load generator's command line. */
  command: string;
}

/** A section whose processes are running. */
export interface Running {
  readonly candidates: readonly Candidate[];
  readonly skipped: readonly Skipped[];
  /** The backend (or TCP source) processes: their CPU use per unit of work is reported too. */
  readonly backends: readonly Managed[];
  /** Loads `c` for `seconds` (the TCP case moves `bytes` instead). */
  measure(c: Candidate, seconds: number, warmUp: boolean): Promise<Sample>;
  /** What gw's access log should hold after all the measurements: one line per this. */
  readonly logUnit: string;
}

export interface SectionSpec {
  readonly id: SectionId;
  readonly title: string;
  readonly unit: string;
  /** What p50/p99 mean here. */
  readonly latency: string;
  /** The proxy's CPU time per unit of work: its column's label, and seconds -> that unit. */
  readonly cpuPer: { readonly label: string; readonly scale: number };
  /** Candidates the ratio columns compare with. */
  readonly references: readonly string[];
  start(ctx: Context, options: { tcpBytes: number; pingSeconds: number }): Promise<Running>;
}

async function httpSection(ctx: Context, bytes: number): Promise<Running> {
  const backend = await startHttpBackend(ctx, bytes);
  const skipped: Skipped[] = [];
  const direct: Candidate = { name: 'direct', port: backend.port, proc: undefined };
  const variants: (Candidate | undefined)[] = [];
  for (const name of GW_VARIANTS)
    variants.push(await withVariant(ctx, skipped, 'http', backend.port, name));
  const list = [
    direct,
    await startGw(ctx, 'http', backend.port),
    await baseline(ctx, skipped, 'http', backend.port),
    ...variants,
    await reference(ctx, 'nginx', skipped, () => startNginx(ctx, 'http', backend.port)),
    await multiCore(ctx, skipped, 'http', backend.port, 'gw-w2'),
    await multiCore(ctx, skipped, 'http', backend.port, 'nginx-w2'),
    await reference(ctx, 'haproxy', skipped, () => startHaproxy(ctx, 'http', backend.port)),
    await reference(ctx, 'undici-min', skipped, () => startUndiciMin(ctx, backend.port)),
    await reference(ctx, 'http-proxy', skipped, () => startHttpProxy(ctx, backend.port)),
  ];
  const candidates: Candidate[] = [];
  for (const c of list) {
    if (c === undefined) continue;
    // Check the answer once: a proxy answering errors fast must not pass as fast.
    const problem = await checkHttp(c, backend.path, bytes);
    if (problem === undefined) candidates.push(c);
    else if (isGw(c.name) || c.name === 'direct') throw new Error(`${c.name}: ${problem}`);
    else skipped.push({ name: c.name, reason: problem });
  }
  return {
    candidates,
    skipped,
    backends: [backend.proc],
    logUnit: 'request',
    async measure(c, seconds) {
      const url = `http://${HOST}:${c.port}${backend.path}`;
      const r = await runWrk(ctx.procs, url, seconds, WRK_CONNECTIONS, c.headers);
      return {
        value: r.requestsPerSecond,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        errors: r.errors,
        count: r.requests,
        work: r.requests,
        activeSeconds: seconds,
        command: r.command,
      };
    },
  };
}

async function checkHttp(
  c: Candidate,
  urlPath: string,
  bytes: number,
): Promise<string | undefined> {
  try {
    const headers = Object.fromEntries(
      (c.headers ?? []).map((h) => [
        h.slice(0, h.indexOf(':')),
        h.slice(h.indexOf(':') + 1).trim(),
      ]),
    );
    const res = await fetch(`http://${HOST}:${c.port}${urlPath}`, { headers });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) return `answered ${res.status} ${body.toString('utf8', 0, 200)}`;
    if (body.length !== bytes) return `answered ${body.length} bytes instead of ${bytes}`;
    return undefined;
  } catch (err) {
    return `request failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

async function tcpSection(ctx: Context, tcpBytes: number): Promise<Running> {
  const source = await startTsScript(ctx, 'tcp-source', 'tcp-source.ts', (p) => [
    '--port',
    String(p),
    '--bytes',
    String(tcpBytes),
  ]);
  const skipped: Skipped[] = [];
  const list = [
    { name: 'direct', port: source.port, proc: undefined },
    await startGw(ctx, 'tcp', source.port),
    await baseline(ctx, skipped, 'tcp', source.port),
    await reference(ctx, 'nginx', skipped, () => startNginx(ctx, 'tcp', source.port)),
    await reference(ctx, 'haproxy', skipped, () => startHaproxy(ctx, 'tcp', source.port)),
    await reference(ctx, 'socat', skipped, () => startSocat(ctx, source.port)),
  ];
  return {
    candidates: list.filter((c) => c !== undefined),
    skipped,
    backends: [source.proc],
    logUnit: 'connection',
    async measure(c, _seconds, warmUp) {
      // The source sends tcpBytes on every connection; the warm-up reads the same amount.
      const sink = path.join(HERE, 'tcp-sink.ts');
      const args = ['--import', 'tsx', sink, '--port', String(c.port), '--bytes', String(tcpBytes)];
      const { stdout, command } = await runToEnd(
        ctx.procs,
        warmUp ? 'tcp-sink-warm' : 'tcp-sink',
        process.execPath,
        args,
        180_000,
      );
      const r = lastJsonOf(stdout) as { bytes: number; seconds: number; gbPerSecond: number };
      return {
        value: r.gbPerSecond,
        p50Ms: null,
        p99Ms: null,
        errors: 0,
        count: 1,
        work: r.bytes / 1e9,
        activeSeconds: r.seconds,
        command,
      };
    },
  };
}

async function wsSection(ctx: Context, pingSeconds: number): Promise<Running> {
  const backend = await startGwBackend(ctx, 'ws');
  const ping = (warmUp: boolean): number => (warmUp ? 1 : pingSeconds);
  const skipped: Skipped[] = [];
  const list = [
    { name: 'direct', port: backend.port, proc: undefined },
    await startGw(ctx, 'ws', backend.port),
    await baseline(ctx, skipped, 'ws', backend.port),
    await reference(ctx, 'nginx', skipped, () => startNginx(ctx, 'ws', backend.port)),
    await reference(ctx, 'haproxy', skipped, () => startHaproxy(ctx, 'ws', backend.port)),
    await reference(ctx, 'http-proxy', skipped, () => startHttpProxy(ctx, backend.port)),
  ];
  return {
    candidates: list.filter((c) => c !== undefined),
    skipped,
    backends: [backend.proc],
    logUnit: 'connection',
    async measure(c, seconds, warmUp) {
      const args = [
        '--import',
        'tsx',
        path.join(HERE, 'ws-load.ts'),
        '--url',
        `ws://${HOST}:${c.port}/bench`,
        '--seconds',
        String(seconds),
        '--inflight',
        String(WS_INFLIGHT),
        '--size',
        String(WS_MESSAGE_BYTES),
        '--pingpong-seconds',
        String(ping(warmUp)),
      ];
      const timeoutMs = (seconds + pingSeconds + 60) * 1000;
      const { stdout, command } = await runToEnd(
        ctx.procs,
        'ws-load',
        process.execPath,
        args,
        timeoutMs,
      );
      const r = lastJsonOf(stdout) as {
        messagesPerSecond: number;
        echoes: number;
        pingPongs: number;
        p50Ms: number;
        p99Ms: number;
        errors: number;
      };
      return {
        value: r.messagesPerSecond,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        errors: r.errors,
        count: 1,
        work: r.echoes + r.pingPongs,
        // CPU is averaged over both phases: the in-flight one and the ping-pong one.
        activeSeconds: seconds + ping(warmUp),
        command,
      };
    },
  };
}

async function grpcSection(ctx: Context): Promise<Running> {
  const backend = await startGwBackend(ctx, 'grpc');
  const skipped: Skipped[] = [];
  const list = [
    { name: 'direct', port: backend.port, proc: undefined },
    await startGw(ctx, 'grpc', backend.port),
    await baseline(ctx, skipped, 'grpc', backend.port),
    await reference(ctx, 'nginx', skipped, () => startNginx(ctx, 'grpc', backend.port)),
    await reference(ctx, 'haproxy', skipped, () => startHaproxy(ctx, 'grpc', backend.port)),
  ];
  return {
    candidates: list.filter((c) => c !== undefined),
    skipped,
    backends: [backend.proc],
    logUnit: 'call',
    async measure(c, seconds) {
      const args = [
        '--import',
        'tsx',
        path.join(HERE, 'grpc-load.ts'),
        '--address',
        `${HOST}:${c.port}`,
        '--seconds',
        String(seconds),
        '--concurrency',
        String(GRPC_CONCURRENCY),
      ];
      const timeoutMs = (seconds + 60) * 1000;
      const { stdout, command } = await runToEnd(
        ctx.procs,
        'grpc-load',
        process.execPath,
        args,
        timeoutMs,
      );
      const r = lastJsonOf(stdout) as {
        callsPerSecond: number;
        ok: number;
        errors: number;
        p50Ms: number;
        p99Ms: number;
      };
      return {
        value: r.callsPerSecond,
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        errors: r.errors,
        count: r.ok + r.errors,
        work: r.ok,
        activeSeconds: seconds,
        command,
      };
    },
  };
}

function lastJsonOf(stdout: string): unknown {
  const json = lastJson(stdout);
  if (json === null) throw new Error(`no JSON line in:\n${stdout}`);
  return json;
}

/** gw's access-log lines in its stdout file (`CLIENT-IP bench ...`). */
export function gwLogLines(file: string): number {
  return countLines(file, /^\d+\.\d+\.\d+\.\d+ bench /);
}

export const SECTIONS: readonly SectionSpec[] = [
  {
    id: 'http-small',
    title: `HTTP keep-alive GET, 100-byte body (wrk -t1 -c${WRK_CONNECTIONS})`,
    unit: 'req/s',
    cpuPer: { label: 'CPU us/req', scale: 1e6 },
    latency: 'wrk latency under load',
    references: ['direct', 'nginx', 'undici-min'],
    start: (ctx) => httpSection(ctx, 100),
  },
  {
    id: 'http-64k',
    title: `HTTP keep-alive GET, 64 KiB body (wrk -t1 -c${WRK_CONNECTIONS})`,
    unit: 'req/s',
    cpuPer: { label: 'CPU us/req', scale: 1e6 },
    latency: 'wrk latency under load',
    references: ['direct', 'nginx', 'undici-min'],
    start: (ctx) => httpSection(ctx, 65_536),
  },
  {
    id: 'tcp',
    title: 'TCP bulk transfer, source -> proxy -> counting sink',
    unit: 'GB/s',
    cpuPer: { label: 'CPU s/GB', scale: 1 },
    latency: '-',
    references: ['direct', 'nginx', 'socat'],
    start: (ctx, { tcpBytes }) => tcpSection(ctx, tcpBytes),
  },
  {
    id: 'ws',
    title: `WebSocket echo, ${WS_INFLIGHT} x ${WS_MESSAGE_BYTES}-byte messages in flight`,
    unit: 'msgs/s',
    cpuPer: { label: 'CPU us/msg', scale: 1e6 },
    latency: 'ping-pong round trip, one message at a time',
    references: ['direct', 'nginx'],
    start: (ctx, { pingSeconds }) => wsSection(ctx, pingSeconds),
  },
  {
    id: 'grpc',
    title: `gRPC unary echo, ${GRPC_CONCURRENCY} calls in flight (@grpc/grpc-js)`,
    unit: 'calls/s',
    cpuPer: { label: 'CPU us/call', scale: 1e6 },
    latency: 'call latency under load',
    references: ['direct', 'nginx'],
    start: (ctx) => grpcSection(ctx),
  },
];
