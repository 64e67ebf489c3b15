/**
 * Starting the proxies under test and the backends behind them. Each start
 * function writes its config into the run's folder, starts the process pinned
 * to its side, waits until it accepts connections and returns where to send
 * the load. Reference proxies that cannot start are skipped with the reason;
 * gw and the backends failing is an error.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import {
  gwConfig,
  haproxyConfig,
  nginxProxyConfig,
  nginxStaticConfig,
  type NginxInfo,
  type Protocol,
} from './configs.js';
import {
  freePort,
  HOST,
  waitForLine,
  waitForPort,
  type Managed,
  type Processes,
  type Side,
} from './procs.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const GW_BIN = path.join(ROOT, 'bin/gw.js');
/** The node flags on bin/gw.js's `#!` line, so gw runs here as it does when called as `gw`. */
const GW_NODE_FLAGS = (readFileSync(GW_BIN, 'utf8').split('\n', 1)[0] ?? '')
  .split(/\s+/)
  .filter((word) => word.startsWith('--'));
const HERE = fileURLToPath(new URL('.', import.meta.url));

/** What every section needs to start its processes. */
export interface Context {
  readonly procs: Processes;
  /** The run's temporary folder. */
  readonly dir: string;
  readonly nginx: NginxInfo;
  /** HAProxy's version, or undefined when it is not installed. */
  readonly haproxy: string | undefined;
  /** Where `http-proxy` was installed (`npm install --prefix DIR http-proxy`), or undefined. */
  readonly httpProxyDeps: string | undefined;
  /** The HTTP backend: nginx serving static files, or bench/proxy/tiny-backend.mjs. */
  readonly httpBackend: 'nginx' | 'node';
  /**
   * Another checkout's `bin/gw.js` (`--baseline DIR`), run as candidate `gw-base` beside
   * this one: old build against new, side by side in one run. Undefined: not run.
   */
  readonly gwBaseline: string | undefined;
  /** `--candidates LIST`: the only reference candidates started (gw and direct always are). */
  readonly only: ReadonlySet<string> | undefined;
}

/** A proxy (or the backend itself, for `direct`) that load is sent to. */
export interface Candidate {
  readonly name: string;
  readonly port: number;
  /** The proxy's process (undefined for direct): its CPU use is measured. */
  readonly proc: Managed | undefined;
  /** Request fields (`name: value`) every request to it needs: `gw-jwt`'s bearer token. */
  readonly headers?: readonly string[];
}

/** A candidate that could not be started, and why. */
export interface Skipped {
  readonly name: string;
  readonly reason: string;
}

function folder(ctx: Context, name: string): string {
  const dir = path.join(ctx.dir, name);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

/** `node bench/proxy/SCRIPT args...` (plain Node, no tsx), waiting for its port. */
async function startNodeScript(
  ctx: Context,
  name: string,
  side: Side,
  script: string,
  args: (port: number) => string[],
): Promise<{ proc: Managed; port: number }> {
  const port = await freePort();
  const proc = ctx.procs.start(name, process.execPath, [path.join(HERE, script), ...args(port)], {
    side,
  });
  await waitForPort(proc, port);
  return { proc, port };
}

/** `node --import tsx bench/proxy/SCRIPT.ts args...`, waiting for its port. */
export async function startTsScript(
  ctx: Context,
  name: string,
  script: string,
  args: (port: number) => string[],
): Promise<{ proc: Managed; port: number }> {
  const port = await freePort();
  const file = path.join(HERE, script);
  const proc = ctx.procs.start(name, process.execPath, ['--import', 'tsx', file, ...args(port)], {
    side: 'load',
  });
  await waitForPort(proc, port);
  return { proc, port };
}

/** A gw demo backend (`gw backend ws|grpc|tcp --quiet`) on the load CPU. */
export async function startGwBackend(
  ctx: Context,
  kind: 'ws' | 'grpc' | 'tcp' | 'http',
): Promise<{ proc: Managed; port: number }> {
  const port = await freePort();
  const args = [GW_BIN, 'backend', kind, '--port', String(port), '--name', 'bench', '--quiet'];
  const proc = ctx.procs.start(`gw-backend-${kind}`, process.execPath, args, {
    side: 'load',
    stopSignal: 'SIGINT',
  });
  await waitForPort(proc, port);
  return { proc, port };
}

/** The HTTP backend: a `bytes`-long body at `path` on the returned port. */
export async function startHttpBackend(
  ctx: Context,
  bytes: number,
): Promise<{ proc: Managed; port: number; path: string }> {
  const file = `${bytes}.bin`;
  if (ctx.httpBackend === 'node') {
    const started = await startNodeScript(ctx, 'tiny-backend', 'load', 'tiny-backend.mjs', (p) => [
      String(p),
      String(bytes),
    ]);
    return { ...started, path: `/${file}` };
  }
  if (ctx.nginx.path === undefined)
    throw new Error('nginx is not installed (--backend node avoids it)');
  const dir = folder(ctx, `backend-nginx-${bytes}`);
  const www = folder(ctx, `backend-nginx-${bytes}/www`);
  writeFileSync(path.join(www, file), Buffer.alloc(bytes, 0x78), { mode: 0o644 });
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, nginxStaticConfig(dir, port, www));
  const proc = ctx.procs.start('backend-nginx', ctx.nginx.path, nginxArgs(dir, conf), {
    side: 'load',
  });
  await waitForPort(proc, port);
  return { proc, port, path: `/${file}` };
}

function nginxArgs(dir: string, conf: string): string[] {
  return ['-e', path.join(dir, 'error.log'), '-p', `${dir}/`, '-c', conf, '-g', 'daemon off;'];
}

/**
 * gw proxy (one process, access log on: no --quiet) on the proxy CPU;
 * `gw-w2` is `--workers 2` and pinned to no CPU (see {@link MULTI_CORE}).
 */
export async function startGw(
  ctx: Context,
  protocol: Protocol,
  backendPort: number,
  name: 'gw' | 'gw-base' | 'gw-w2' | GwVariant = 'gw',
): Promise<Candidate> {
  const bin = name === 'gw-base' ? (ctx.gwBaseline ?? GW_BIN) : GW_BIN;
  const dir = folder(ctx, `${name}-${protocol}`);
  const conf = path.join(dir, 'gw.json');
  const jwt = name === 'gw-jwt' ? await benchJwt(dir) : undefined;
  const redis =
    name === 'gw-rl-redis' || name === 'gw-rl-redis-wait'
      ? { url: await startBenchRedis(ctx, dir), variant: name }
      : undefined;
  writeFileSync(
    conf,
    gwConfig(
      protocol,
      backendPort,
      name === 'gw-feat',
      name === 'gw-health',
      name === 'gw-cb',
      name === 'gw-rl',
      jwt?.keyFile,
      redis,
    ),
  );
  const check = spawnSync(process.execPath, [bin, 'proxy', '--config', conf, '--check'], {
    encoding: 'utf8',
    cwd: ROOT,
  });
  if (check.status !== 0) {
    throw new Error(`gw proxy --check refused ${conf}:\n${check.stderr}${check.stdout}`);
  }
  const proc = ctx.procs.start(
    `${name}-proxy`,
    process.execPath,
    [
      ...GW_NODE_FLAGS,
      bin,
      'proxy',
      '--config',
      conf,
      ...(name === 'gw-w2' ? ['--workers', '2'] : []),
    ],
    {
      ...(name === 'gw-w2' ? {} : { side: 'proxy' as const }),
      stopSignal: 'SIGINT',
    },
  );
  const match = await waitForLine(proc, /^listener bench \(\w+\) on 127\.0\.0\.1:(\d+)$/m);
  const port = Number(match[1]);
  await waitForPort(proc, port);
  return jwt === undefined
    ? { name, port, proc }
    : { name, port, proc, headers: [`authorization: Bearer ${jwt.token}`] };
}

/**
 * An RSA key pair for `gw-jwt`: the public key as `key.pem` in `dir` (the
 * route's publicKeyFile) and one RS256 token valid for a day, which every
 * request carries (so after the first, gw answers from its verified-token
 * cache, as it would for a client reusing its token).
 */
async function benchJwt(dir: string): Promise<{ keyFile: string; token: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = path.join(dir, 'key.pem');
  writeFileSync(keyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const token = await new SignJWT({ sub: 'bench', aud: 'gw-bench', iss: 'bench' })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuedAt()
    .setExpirationTime('1d')
    .sign(privateKey);
  return { keyFile, token };
}

/**
 * A redis-server for a `gw-rl-redis` candidate, on the load CPU beside the
 * backend (an outside service, like the backend: its CPU is not gw's), with
 * no persistence, in the candidate's folder; stopped with the run. Returns
 * its URL.
 */
async function startBenchRedis(ctx: Context, dir: string): Promise<string> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('redis-server is not installed (apt-get install redis-server)');
  }
  const port = await freePort();
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'];
  const proc = ctx.procs.start('redis', 'redis-server', [...args, '--dir', dir], { side: 'load' });
  await waitForPort(proc, port);
  return `redis://${HOST}:${port}`;
}

/**
 * Runs `start`; a reference that fails to start is skipped with its reason, and one
 * left out by `--candidates` is not started at all.
 */
export async function reference(
  ctx: Context,
  name: string,
  skipped: Skipped[],
  start: () => Promise<Candidate | string>,
): Promise<Candidate | undefined> {
  if (ctx.only !== undefined && !ctx.only.has(name)) return undefined;
  try {
    const result = await start();
    if (typeof result === 'string') {
      skipped.push({ name, reason: result });
      return undefined;
    }
    return result;
  } catch (err) {
    skipped.push({ name, reason: err instanceof Error ? err.message : String(err) });
    return undefined;
  }
}

/**
 * The two-process candidates, `gw-w2` (gw --workers 2) and `nginx-w2` (nginx
 * worker_processes 2), started only when `--candidates` names them. They
 * are pinned to no CPU: on a 2-core machine their two processes share both
 * cores with the load generator and the backend, where the one-process
 * candidates have a core to themselves. Their figures say what a second
 * process buys on this machine, not what it would on an idle one.
 */
export const MULTI_CORE = ['gw-w2', 'nginx-w2'] as const;

/** A {@link MULTI_CORE} candidate, when `--candidates` names it. */
export async function multiCore(
  ctx: Context,
  skipped: Skipped[],
  protocol: Protocol,
  backendPort: number,
  name: (typeof MULTI_CORE)[number],
): Promise<Candidate | undefined> {
  if (!ctx.only?.has(name)) return undefined;
  return reference(ctx, name, skipped, () =>
    name === 'gw-w2'
      ? startGw(ctx, protocol, backendPort, 'gw-w2')
      : startNginx(ctx, protocol, backendPort, undefined, 2),
  );
}

/**
 * nginx (1 worker, on the proxy CPU; 2 workers unpinned as `nginx-w2`) as a
 * proxy for `protocol`; a reason string when it cannot run.
 */
export async function startNginx(
  ctx: Context,
  protocol: Protocol,
  backendPort: number,
  workerConnections?: number,
  workerProcesses = 1,
): Promise<Candidate | string> {
  if (ctx.nginx.path === undefined) return 'nginx is not installed (apt-get install nginx-light)';
  if (protocol === 'tcp' && ctx.nginx.streamModule === undefined) {
    return 'nginx has no stream module (apt-get install libnginx-mod-stream)';
  }
  const name = workerProcesses === 1 ? 'nginx' : `nginx-w${workerProcesses}`;
  const dir = folder(ctx, `${name}-${protocol}`);
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    nginxProxyConfig(
      dir,
      protocol,
      port,
      backendPort,
      ctx.nginx.streamModule,
      workerConnections,
      workerProcesses,
    ),
  );
  const side = workerProcesses === 1 ? { side: 'proxy' as const } : {};
  const proc = ctx.procs.start(name, ctx.nginx.path, nginxArgs(dir, conf), side);
  await waitForPort(proc, port);
  return { name, port, proc };
}

/** HAProxy (nbthread 1) for `protocol`. */
export async function startHaproxy(
  ctx: Context,
  protocol: Protocol,
  backendPort: number,
): Promise<Candidate | string> {
  if (ctx.haproxy === undefined) return 'haproxy is not installed (apt-get install haproxy)';
  const dir = folder(ctx, `haproxy-${protocol}`);
  const port = await freePort();
  const conf = path.join(dir, 'haproxy.cfg');
  writeFileSync(conf, haproxyConfig(protocol, port, backendPort));
  const proc = ctx.procs.start('haproxy', 'haproxy', ['-f', conf, '-db'], { side: 'proxy' });
  await waitForPort(proc, port);
  return { name: 'haproxy', port, proc };
}

/** bench/proxy/minimal-undici-proxy.mjs: the floor for a Node proxy. */
export async function startUndiciMin(ctx: Context, backendPort: number): Promise<Candidate> {
  const { proc, port } = await startNodeScript(
    ctx,
    'undici-min',
    'proxy',
    'minimal-undici-proxy.mjs',
    (p) => [String(p), `${HOST}:${backendPort}`],
  );
  return { name: 'undici-min', port, proc };
}

/** node-http-proxy with a keep-alive agent, when it was installed outside the project. */
export async function startHttpProxy(
  ctx: Context,
  backendPort: number,
): Promise<Candidate | string> {
  const deps = ctx.httpProxyDeps;
  if (deps === undefined) {
    return 'http-proxy not found; install it outside the project: npm install --prefix /tmp/gw-bench-deps http-proxy@1.18.1';
  }
  const { proc, port } = await startNodeScript(
    ctx,
    'http-proxy',
    'proxy',
    'http-proxy-server.mjs',
    (p) => [String(p), `${HOST}:${backendPort}`, deps],
  );
  return { name: 'http-proxy', port, proc };
}

/** socat forking one child per connection, default options. */
export async function startSocat(ctx: Context, backendPort: number): Promise<Candidate | string> {
  if (spawnSync('socat', ['-V']).status !== 0)
    return 'socat is not installed (apt-get install socat)';
  const port = await freePort();
  const args = [`TCP-LISTEN:${port},bind=${HOST},reuseaddr,fork`, `TCP:${HOST}:${backendPort}`];
  const proc = ctx.procs.start('socat', 'socat', args, { side: 'proxy' });
  await waitForPort(proc, port);
  return { name: 'socat', port, proc };
}

/** The gw variants `--candidates` may name, beside plain gw: each configures one feature. */
export const GW_VARIANTS = [
  'gw-feat',
  'gw-health',
  'gw-cb',
  'gw-rl',
  'gw-rl-redis',
  'gw-rl-redis-wait',
  'gw-jwt',
] as const;
export type GwVariant = (typeof GW_VARIANTS)[number];

/** gw itself, its baseline or one of its variants: a failure of theirs stops the run. */
export function isGw(name: string): boolean {
  return (
    name === 'gw' ||
    name === 'gw-base' ||
    name === 'gw-w2' ||
    (GW_VARIANTS as readonly string[]).includes(name)
  );
}

/**
 * gw with one feature configured so that it lets everything through
 * (configs.ts): `gw-feat` route features (allowFrom, responseHeaders),
 * `gw-health` active health checks, `gw-cb` a circuit breaker that never
 * opens, `gw-rl` a rate limit never reached (`gw-rl-redis` the same kept in
 * a redis-server started for the run, `gw-rl-redis-wait` one that waits for
 * Redis on every request). What the feature costs per
 * request, side by side with plain gw. Started only when `--candidates` names it.
 */
export async function withVariant(
  ctx: Context,
  skipped: Skipped[],
  protocol: Protocol,
  backendPort: number,
  name: GwVariant,
): Promise<Candidate | undefined> {
  if (!ctx.only?.has(name)) return undefined;
  return reference(ctx, name, skipped, () => startGw(ctx, protocol, backendPort, name));
}

/** The baseline gw (`--baseline DIR`) as candidate `gw-base`, or undefined when none was given. */
export async function baseline(
  ctx: Context,
  skipped: Skipped[],
  protocol: Protocol,
  backendPort: number,
): Promise<Candidate | undefined> {
  if (ctx.gwBaseline === undefined) return undefined;
  return reference(ctx, 'gw-base', skipped, () => startGw(ctx, protocol, backendPort, 'gw-base'));
}
