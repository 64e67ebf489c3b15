/**
 * One cell pair of the attack table: one attack against one proxy, on
 * fresh processes (backend, proxy, legitimate client), so no attack's
 * leftovers weigh on the next. The proxy's RSS, descriptors and upstream
 * sockets are sampled during the attack; its CPU time is read at the start
 * and at the end; the legitimate client runs through the whole attack.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { lastJson } from '../lib/last-json.js';
import { round } from '../lib/median.js';
import {
  startGw,
  startGwBackend,
  startHttpBackend,
  startNginx,
  type Candidate,
  type Context,
} from '../proxy/candidates.js';
import { cpuSeconds, waitForLine, type Managed } from '../proxy/procs.js';
import type { Attack, AttackOutcome, Target } from './attacks/index.js';
import { processTree, rssKib, Sampler, type Peaks } from './sampler.js';

const LEGIT = fileURLToPath(new URL('legit.ts', import.meta.url));
/** The HTTP backend's file: small, as most API answers are. */
const HTTP_BODY_BYTES = 100;
/** nginx's worker_connections here: above what the attackers hold, so nginx's own cap does not decide. */
export const NGINX_WORKER_CONNECTIONS = 16_384;
/** How long after the attack the legitimate client may take to report. */
const LEGIT_REPORT_MS = 15_000;

export type ProxyName = 'gw' | 'nginx';

/** What the legitimate client reported. */
export interface LegitResult {
  ok: number;
  failed: number;
  failedBy: Record<string, number>;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** Every figure of one attack against one proxy. */
export interface Measured {
  proxy: ProxyName;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssGrowthMb: number;
  /** utime + stime over the attack, as % of one core (nginx: master and worker). */
  cpuPercent: number;
  fdsPeak: number;
  /** The proxy's sockets to the backend, any state but TIME-WAIT, at their peak. */
  upstreamPeak: number;
  upstreamEstablishedPeak: number;
  legit: LegitResult | null;
  attacker: AttackOutcome;
  /** False when the proxy was no longer running at the end of the attack. */
  proxyAlive: boolean;
  seconds: number;
}

async function startBackend(ctx: Context, attack: Attack): Promise<{ port: number; path: string }> {
  if (attack.family === 'http' && attack.backend !== 'echo') {
    return startHttpBackend(ctx, HTTP_BODY_BYTES);
  }
  const started = await startGwBackend(ctx, attack.family);
  return { port: started.port, path: '/' };
}

async function startProxy(
  ctx: Context,
  name: ProxyName,
  attack: Attack,
  backendPort: number,
): Promise<Candidate> {
  if (name === 'gw') return startGw(ctx, attack.family, backendPort);
  const started = await startNginx(ctx, attack.family, backendPort, NGINX_WORKER_CONNECTIONS);
  if (typeof started === 'string') throw new Error(started);
  return started;
}

function startLegit(
  ctx: Context,
  attack: Attack,
  port: number,
  urlPath: string,
  o: MeasureOptions,
): Managed {
  const args = ['--import', 'tsx', LEGIT, '--kind', attack.family, '--port', String(port)];
  args.push(
    '--path',
    urlPath,
    '--seconds',
    String(o.seconds),
    '--interval-ms',
    String(o.intervalMs),
  );
  return ctx.procs.start('legit', process.execPath, args, { side: 'load' });
}

async function legitResult(m: Managed): Promise<LegitResult | null> {
  await Promise.race([m.exited, sleep(LEGIT_REPORT_MS)]);
  const json = lastJson(readFileSync(m.stdoutPath, 'utf8'));
  return json === null ? null : (json as LegitResult);
}

export interface MeasureOptions {
  seconds: number;
  intervalMs: number;
}

const mb = (kib: number): number => round(kib / 1024, 3);

/** What the proxy did during the attack window. */
interface Window {
  attacker: AttackOutcome;
  rssBeforeKib: number;
  peaks: Peaks;
  cpuPercent: number;
  elapsedS: number;
}

/**
 * Runs the attack for `seconds` while sampling the proxy: CPU time is read
 * when the attack starts and when it is told to stop (before the attacker
 * closes its connections), RSS just before and throughout.
 */
async function attackWindow(
  attack: Attack,
  target: Target,
  proc: Managed,
  seconds: number,
): Promise<Window> {
  const pids = processTree(proc.pid);
  const rssBeforeKib = rssKib(pids);
  const sampler = new Sampler(pids, target.backendPort);
  const cpuBefore = cpuSeconds(proc.pid);
  const started = performance.now();
  let cpuAfter = cpuBefore;
  let elapsedS = seconds;
  const ac = new AbortController();
  ac.signal.addEventListener('abort', () => {
    cpuAfter = cpuSeconds(proc.pid);
    elapsedS = (performance.now() - started) / 1000;
  });
  const timer = setTimeout(() => ac.abort(), seconds * 1000);
  sampler.start();
  try {
    const attacker = await attack.run(target, ac.signal);
    const cpuPercent = ((cpuAfter - cpuBefore) / elapsedS) * 100;
    return { attacker, rssBeforeKib, peaks: sampler.stop(), cpuPercent, elapsedS };
  } finally {
    clearTimeout(timer);
    ac.abort();
    sampler.stop();
  }
}

/** Runs `attack` against `proxy` for `o.seconds` on fresh processes and stops them all after. */
export async function measure(
  ctx: Context,
  attack: Attack,
  proxy: ProxyName,
  o: MeasureOptions,
): Promise<Measured> {
  const t0 = performance.now();
  const since = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  try {
    const backend = await startBackend(ctx, attack);
    const candidate = await startProxy(ctx, proxy, attack, backend.port);
    const proc = candidate.proc;
    if (proc === undefined) throw new Error(`${proxy} has no process`);
    const legit = startLegit(ctx, attack, candidate.port, backend.path, o);
    await waitForLine(legit, /^ready$/m);
    process.stderr.write(`  ${proxy} and its legitimate client ready after ${since()}\n`);
    const target = { port: candidate.port, path: backend.path, backendPort: backend.port };
    const w = await attackWindow(attack, target, proc, o.seconds);
    return {
      proxy,
      rssBeforeMb: mb(w.rssBeforeKib),
      rssPeakMb: mb(w.peaks.rssKib),
      rssGrowthMb: mb(Math.max(0, w.peaks.rssKib - w.rssBeforeKib)),
      cpuPercent: round(w.cpuPercent, 3),
      fdsPeak: w.peaks.fds,
      upstreamPeak: w.peaks.upstream,
      upstreamEstablishedPeak: w.peaks.upstreamEstablished,
      legit: await legitResult(legit),
      attacker: w.attacker,
      proxyAlive: proc.child.exitCode === null && proc.child.signalCode === null,
      seconds: round(w.elapsedS, 3),
    };
  } finally {
    await ctx.procs.stopAll();
    process.stderr.write(`  ${proxy}: processes stopped after ${since()}\n`);
  }
}
