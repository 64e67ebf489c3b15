/**
 * The attack bench: each attack of the issue against gw proxy and nginx, side
 * by side in one run, on fresh processes per attack and proxy. Prints one
 * table line per attack and proxy (the proxy's RSS growth, CPU, descriptors
 * and upstream sockets; a legitimate client's p50/p99 and failures during the
 * attack; what became of the attacker's connections) and, last, one JSON line
 * with every figure. See bench/attack/README.md.
 *
 *   npm run build && node --import tsx bench/attack/run.ts [--seconds 10]
 *     [--only slowloris,h2-ping-flood] [--proxies gw,nginx] [--interval-ms 20] [--no-pin] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeEnvironment, environment } from '../lib/environment.js';
import { intFlag } from '../lib/int-flag.js';
import { ROOT, type Context } from '../proxy/candidates.js';
import { nginxInfo, type NginxInfo } from '../proxy/configs.js';
import { boolFlag, stringFlag } from '../proxy/flags.js';
import { pinning, Processes, type Pinning } from '../proxy/procs.js';
import { ATTACKS, type Attack } from './attacks/index.js';
import {
  measure,
  NGINX_WORKER_CONNECTIONS,
  type MeasureOptions,
  type ProxyName,
} from './measure.js';
import { attackJson, attackTable, LEGEND, type RowResult } from './report.js';

const PROXIES: readonly ProxyName[] = ['gw', 'nginx'];

function listFlag<T>(name: string, all: readonly T[], pick: (t: T) => string): T[] {
  const wanted = stringFlag(name, all.map(pick).join(','))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = wanted.filter((w) => !all.some((t) => pick(t) === w));
  if (unknown.length > 0 || wanted.length === 0) {
    process.stderr.write(
      `bench/attack: unknown ${name} ${unknown.join(',')}; choose from ${all.map(pick).join(',')}\n`,
    );
    process.exit(2);
  }
  return all.filter((t) => wanted.includes(pick(t)));
}

/** Runs the attackers (this process) on the load CPU, beside the backends and the legitimate client. */
function pinSelf(pin: Pinning): void {
  if (!pin.enabled) return;
  spawnSync('taskset', ['-a', '-p', '-c', String(pin.loadCpu), String(process.pid)], {
    stdio: 'ignore',
  });
}

async function runAll(
  ctx: Context,
  attacks: readonly Attack[],
  proxies: readonly ProxyName[],
  o: MeasureOptions,
): Promise<RowResult[]> {
  const rows: RowResult[] = [];
  for (const attack of attacks) {
    const row: RowResult = { attack, byProxy: {} };
    for (const proxy of proxies) {
      process.stderr.write(`[${attack.id}] ${proxy}: ${o.seconds} s\n`);
      try {
        row.byProxy[proxy] = await measure(ctx, attack, proxy, o);
      } catch (err) {
        const error = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
        process.stderr.write(`[${attack.id}] ${proxy}: ${error}\n`);
        row.byProxy[proxy] = { error };
      }
    }
    rows.push(row);
  }
  return rows;
}

/** The run's processes and folder; every process is killed on Ctrl-C and at exit. */
function setUp(nginx: NginxInfo): Context {
  const pin = pinning(boolFlag('--no-pin'));
  pinSelf(pin);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-bench-attack-'));
  // nginx workers run as an unprivileged user and must reach their files here.
  chmodSync(dir, 0o755);
  const procs = new Processes(dir, pin, ROOT);
  const onSignal = (): void => {
    procs.killAllSync();
    process.stderr.write('\nbench/attack: interrupted; every process it started was killed\n');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => procs.killAllSync());
  return {
    procs,
    dir,
    nginx,
    haproxy: undefined,
    httpProxyDeps: undefined,
    httpBackend: 'nginx',
    gwBaseline: undefined,
    only: undefined,
  };
}

/** What must be there before anything starts; a reason when something is missing. */
function missing(attacks: readonly Attack[], proxies: readonly ProxyName[], nginx: NginxInfo) {
  if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) {
    return 'dist/ is missing; run `npm run build` first';
  }
  const needsNginx = proxies.includes('nginx') || attacks.some((a) => a.family === 'http');
  if (needsNginx && nginx.path === undefined) {
    return 'nginx is not installed (apt-get install nginx-light)';
  }
  return undefined;
}

function report(attacks: readonly Attack[], rows: readonly RowResult[], runSeconds: number): void {
  console.log();
  console.log(attackTable(rows));
  console.log();
  for (const a of attacks) console.log(`${a.id}: ${a.summary}`);
  console.log();
  console.log(LEGEND);
  console.log(`\nthe run took ${runSeconds} s`);
}

async function main(): Promise<void> {
  const attacks = listFlag('--only', ATTACKS, (a) => a.id);
  const proxies = listFlag('--proxies', PROXIES, (p) => p);
  const o: MeasureOptions = {
    seconds: intFlag('--seconds', 10),
    intervalMs: intFlag('--interval-ms', 20),
  };
  const nginx = nginxInfo();
  const reason = missing(attacks, proxies, nginx);
  if (reason !== undefined) {
    process.stderr.write(`bench/attack: ${reason}\n`);
    process.exitCode = 1;
    return;
  }
  const ctx = setUp(nginx);
  const pin = ctx.procs.pin;
  const env = environment();
  console.log('# bench/attack: gw proxy and nginx under attack, side by side');
  console.log(describeEnvironment(env));
  console.log(pin.note + (pin.enabled ? '; attackers in this process on the load CPU' : ''));
  console.log(
    `nginx ${nginx.version || 'missing'} (worker_connections ${NGINX_WORKER_CONNECTIONS}); ${o.seconds} s per attack and proxy; legitimate client every ${o.intervalMs} ms; files in ${ctx.dir}`,
  );
  const started = performance.now();
  let rows: RowResult[];
  try {
    rows = await runAll(ctx, attacks, proxies, o);
  } finally {
    await ctx.procs.stopAll();
    if (!boolFlag('--keep')) rmSync(ctx.dir, { recursive: true, force: true });
  }
  const runSeconds = Math.round((performance.now() - started) / 1000);
  report(attacks, rows, runSeconds);
  if (boolFlag('--keep')) console.log(`configs and logs kept in ${ctx.dir}`);
  console.log();
  console.log(
    JSON.stringify({
      bench: 'attack',
      ...env,
      pinned: pin.enabled,
      seconds: o.seconds,
      runSeconds,
      intervalMs: o.intervalMs,
      nginx: nginx.version,
      nginxWorkerConnections: NGINX_WORKER_CONNECTIONS,
      attacks: attackJson(rows),
    }),
  );
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench/attack: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
