import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';
import http from 'node:http';

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` every 50 ms until it returns true or `ms` pass. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > ms)
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stops a child by pid: SIGTERM (or `signal`), then waits for its exit. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const pid = child.pid;
  if (child.exitCode !== null || child.signalCode !== null || pid === undefined) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    process.kill(pid, signal);
  });
}

/** A real etcd 3.4 (Debian etcd-server) on free loopback ports in a temp data dir. */
export interface TestEtcd {
  readonly endpoint: string;
  readonly port: number;
  /** SIGKILLs the server (its data dir stays, for restart). */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data. */
  restart(): Promise<void>;
  /** Stops it and removes its data. */
  close(): Promise<void>;
}

export async function startEtcd(): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-etcd-'));
  const port = await freePort();
  const peer = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let output = '';
  const launch = async (): Promise<void> => {
    child = spawn(
      'etcd',
      [
        '--name',
        'gw-test',
        '--data-dir',
        join(dir, 'data'),
        '--listen-client-urls',
        endpoint,
        '--advertise-client-urls',
        endpoint,
        '--listen-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${peer}`,
        '--initial-cluster',
        `gw-test=http://127.0.0.1:${peer}`,
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    const started = child;
    await waitFor(
      async () => {
        if (started.exitCode !== null) throw new Error(`etcd exited: ${output}`);
        try {
          const res = await fetch(`${endpoint}/health`);
          return res.ok && ((await res.json()) as { health?: string }).health === 'true';
        } catch {
          return false;
        }
      },
      15_000,
      'etcd to be healthy',
    );
  };
  await launch();
  return {
    endpoint,
    port,
    kill: async () => {
      if (child !== undefined) await stopChild(child, 'SIGKILL');
    },
    restart: launch,
    close: async () => {
      if (child !== undefined) await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A real dnsmasq on a free loopback port, serving `hosts` lines and `--srv-host` records. */
export interface TestDns {
  readonly server: string;
  /** Replaces the hosts file and makes dnsmasq read it again (SIGHUP). */
  setHosts(lines: readonly string[]): Promise<void>;
  /** Restarts dnsmasq with other SRV records (and the current hosts). */
  setSrv(records: readonly string[]): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startDnsmasq(
  hosts: readonly string[],
  srv: readonly string[] = [],
  extra: readonly string[] = [],
): Promise<TestDns> {
  const dir = mkdtempSync(join(tmpdir(), 'gw-dns-'));
  const hostsFile = join(dir, 'hosts');
  writeFileSync(hostsFile, hosts.join('\n') + '\n');
  const port = await freePort();
  let records = srv;
  let child: ChildProcess | undefined;
  const resolver = new Resolver({ timeout: 300, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const launch = async (): Promise<void> => {
    child = spawn(
      'dnsmasq',
      [
        '--no-daemon',
        '--port',
        String(port),
        '--listen-address',
        '127.0.0.1',
        '--bind-interfaces',
        '--conf-file=/dev/null',
        '--no-resolv',
        '--no-hosts',
        '--addn-hosts',
        hostsFile,
        ...records.map((r) => `--srv-host=${r}`),
        ...extra,
      ],
      { stdio: 'ignore' },
    );
    const started = child;
    await waitFor(
      async () => {
        if (started.exitCode !== null) throw new Error('dnsmasq exited');
        try {
          // Any answer (even "no such name") means it is serving.
          await resolver.resolve4('ready.invalid');
          return true;
        } catch (err) {
          const code = (err as { code?: string }).code;
          return code === 'ENOTFOUND' || code === 'ENODATA' || code === 'EREFUSED';
        }
      },
      5000,
      'dnsmasq to answer',
    );
  };
  await launch();
  return {
    server: `127.0.0.1:${port}`,
    async setHosts(lines) {
      writeFileSync(hostsFile, lines.join('\n') + '\n');
      if (child?.pid !== undefined) process.kill(child.pid, 'SIGHUP');
      await new Promise((r) => setTimeout(r, 100));
    },
    async setSrv(next) {
      records = next;
      if (child !== undefined) await stopChild(child);
      await launch();
    },
    stop: async () => {
      if (child !== undefined) await stopChild(child);
    },
    start: launch,
    async close() {
      if (child !== undefined) await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One request of a {@link Load}: when it started and ended, and how it went. */
export interface LoadSample {
  readonly startMs: number;
  readonly endMs: number;
  /** HTTP status, or 0 when the request failed without an answer. */
  readonly status: number;
  /** The `x-backend` header of the answer. */
  readonly backend: string;
}

/** Light steady load: `concurrency` loops of keep-alive GETs through the gateway. */
export interface Load {
  readonly samples: LoadSample[];
  stop(): Promise<void>;
}

export function startLoad(port: number, concurrency = 4, path = '/'): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const samples: LoadSample[] = [];
  let running = true;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const startMs = performance.now();
      const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          const backend = String(res.headers['x-backend'] ?? '');
          samples.push({ startMs, endMs: performance.now(), status: res.statusCode ?? 0, backend });
          resolve();
        });
        res.on('error', () => {
          samples.push({ startMs, endMs: performance.now(), status: 0, backend: '' });
          resolve();
        });
      });
      req.on('error', () => {
        samples.push({ startMs, endMs: performance.now(), status: 0, backend: '' });
        resolve();
      });
    });
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      await one();
      // Light load: a few hundred requests a second in all.
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  return {
    samples,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/** Samples that failed: no answer or not 200. */
export function failures(samples: readonly LoadSample[]): LoadSample[] {
  return samples.filter((s) => s.status !== 200);
}
