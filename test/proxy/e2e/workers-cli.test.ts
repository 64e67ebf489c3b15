import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseWorkers } from '../../../src/cli/proxy-actions.js';
import { GwProcess, runGw } from '../../helpers/cli.js';
import { freePort } from '../../helpers/sockets.js';
import { sleep, until } from '../../helpers/wait.js';

// `gw proxy --workers N`: a primary that handles no traffic, N workers sharing the listeners,
// one prober whose verdicts every worker follows, restarts, reloads and shutdown. Real
// processes and sockets; which process owns a socket is read from /proc (as ss -p does).

let dir: string;
const processes: GwProcess[] = [];
const servers: http.Server[] = [];
/** Plain sockets holding an address, to make it busy. */
const holders: net.Server[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-workers-'));
});

after(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await Promise.all(
    servers.map((s) => {
      s.closeAllConnections();
      return new Promise((resolve) => s.close(resolve));
    }),
  );
  for (const h of holders) h.close();
  await rm(dir, { recursive: true, force: true });
});

/** The inodes of 127.0.0.1 TCP sockets in state ESTABLISHED whose local port is `port`. */
function establishedInodes(port: number): Set<string> {
  return inodesAt(port, '01');
}

/** The inodes of the TCP sockets listening (state 0A) on `port`. */
function listeningInodes(port: number): Set<string> {
  return inodesAt(port, '0A');
}

function inodesAt(port: number, state: string): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (f[1]?.endsWith(`:${hexPort}`) === true && f[3] === state && f[9] !== undefined)
      inodes.add(f[9]);
  }
  return inodes;
}

/** Which of `pids` holds each socket of `inodes`: a count per pid. */
function ownersOf(inodes: Set<string>, pids: readonly number[]): Map<number, number> {
  const owners = new Map<number, number>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode !== undefined && inodes.has(inode)) owners.set(pid, (owners.get(pid) ?? 0) + 1);
    }
  }
  return owners;
}

/** The pid among `pids` that holds the TCP socket whose local port is `port`, or 0. */
function ownerOfPort(port: number, pids: readonly number[]): number {
  const owners = ownersOf(establishedInodes(port), pids);
  return [...owners.keys()][0] ?? 0;
}

interface Gw {
  readonly proc: GwProcess;
  readonly port: number;
  readonly primary: number;
  /** Worker pids at start. */
  readonly workers: number[];
  readonly file: string;
}

/** Starts `gw proxy --workers 2` on a config with one http listener to `upstreamYaml`. */
async function startGw(name: string, upstreamYaml: string, extra = ''): Promise<Gw> {
  const port = await freePort();
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, configText(port, upstreamYaml, extra));
  const proc = new GwProcess(['proxy', '--config', file, '--workers', '2', '--quiet']);
  processes.push(proc);
  const line = await proc.waitForLine((l) => l.startsWith('config sha256:'), 20_000);
  const pids = /\(pids (\d+), (\d+)\)/.exec(line);
  assert.ok(pids, line);
  const workers = [Number(pids[1]), Number(pids[2])];
  return { proc, port, primary: proc.child.pid ?? 0, workers, file };
}

function configText(port: number, upstreamYaml: string, extra: string): string {
  return `shutdownTimeoutMs: 3000
${extra}
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:${port}
    routes: [{ match: { pathPrefix: / }, upstream: app }]
upstreams:
${upstreamYaml}
`;
}

/** A hand-made backend that notes, for each request, the gateway process that sent it. */
interface Backend {
  readonly port: number;
  readonly name: string;
  /** Pids that sent traffic (anything but /healthz), one entry per request. */
  readonly traffic: number[];
  /** Pids that probed /healthz, one entry per probe. */
  readonly probes: number[];
  /** /healthz answers 503 while set. */
  failing: boolean;
  /** Each response waits this long. */
  latencyMs: number;
}

async function startBackend(name: string, pids: () => readonly number[]): Promise<Backend> {
  const backend: Backend = {
    port: 0,
    name,
    traffic: [],
    probes: [],
    failing: false,
    latencyMs: 0,
  };
  const server = http.createServer((req, res) => {
    // Looked up while the gateway's side of the connection is surely open. Before the
    // gateway's pids are known (it is starting), requests are answered and not noted.
    const known = pids();
    const owner = known.length === 0 ? 0 : ownerOfPort(req.socket.remotePort ?? 0, known);
    if (req.url === '/healthz') {
      if (known.length > 0) backend.probes.push(owner);
      res.writeHead(backend.failing ? 503 : 200).end();
      return;
    }
    if (known.length > 0) backend.traffic.push(owner);
    const answer = (): void => void res.writeHead(200, { 'x-backend': name }).end(name);
    if (backend.latencyMs > 0) setTimeout(answer, backend.latencyMs);
    else answer();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(backend, { port: (server.address() as net.AddressInfo).port });
}

/** One GET on a connection of its own; the status, or 0 when the connection failed. */
function get(port: number, path = '/'): Promise<number> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      })
      .on('error', () => resolve(0));
  });
}

/** Sends requests (8 at a time) until `done`, at most `rounds` rounds. */
async function sendUntil(port: number, done: () => boolean, rounds = 50): Promise<void> {
  for (let i = 0; i < rounds && !done(); i++) {
    const statuses = await Promise.all(Array.from({ length: 8 }, () => get(port)));
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );
  }
  assert.ok(done(), `not done after ${rounds} rounds`);
}

/** The worker pids of the log's `worker N (pid P) serving` lines, the latest per worker. */
function workerPids(proc: GwProcess): number[] {
  const latest = new Map<string, number>();
  for (const line of proc.lines) {
    const m = /^worker (\d+) \(pid (\d+)\) serving/.exec(line);
    if (m?.[1] !== undefined) latest.set(m[1], Number(m[2]));
  }
  return [...latest.values()];
}

describe('gw proxy --workers', () => {
  it('takes a whole number from 1 to 64, or auto for one per core', async () => {
    assert.equal(parseWorkers('2'), 2);
    assert.equal(parseWorkers(undefined), 1);
    assert.equal(parseWorkers('auto'), availableParallelism());
    for (const bad of ['0', '65', '1.5', 'many'])
      assert.throws(() => parseWorkers(bad), { code: 'GW_ERR_INVALID_ARGUMENT' });
    const run = await runGw(['proxy', '--config', 'gw.yaml', '--workers', '0']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /GW_ERR_INVALID_ARGUMENT/);
  });

  it('serves from both workers, and the primary accepts no connection', async () => {
    let pids: number[] = [];
    const app = await startBackend('app', () => pids);
    const gw = await startGw('spread', `  - { name: app, targets: ["127.0.0.1:${app.port}"] }`);
    pids = [gw.primary, ...gw.workers];
    assert.match(
      gw.proc.lines.join('\n'),
      /2 workers \(pids \d+, \d+\), (shared socket|reusePort)/,
    );
    // Each worker holds a listening socket and accepts on it itself (with Node's round-robin
    // mode only the primary would hold one, accept every connection and pass it on).
    const listening = ownersOf(listeningInodes(gw.port), pids);
    for (const w of gw.workers)
      assert.ok(listening.has(w), `worker ${w} holds no listening socket`);
    // Connections held open, 16 at a time, until each worker has accepted some.
    const accepted = new Map<number, number>();
    for (let round = 0; round < 20; round++) {
      const sockets = await Promise.all(Array.from({ length: 16 }, () => answered(gw.port)));
      const owners = ownersOf(establishedInodes(gw.port), pids);
      for (const s of sockets) s.destroy();
      assert.equal(owners.get(gw.primary), undefined, 'the primary accepted a connection');
      assert.equal(
        [...owners.values()].reduce((a, b) => a + b, 0),
        16,
      );
      for (const [pid, n] of owners) accepted.set(pid, (accepted.get(pid) ?? 0) + n);
      if (gw.workers.every((w) => accepted.has(w))) break;
    }
    assert.deepEqual([...accepted.keys()].sort(), [...gw.workers].sort());
    // Upstream traffic came from the workers only.
    assert.ok(
      app.traffic.every((pid) => gw.workers.includes(pid)),
      String(app.traffic),
    );
  });

  it('probes each target from the primary only, and every worker follows its verdicts', async () => {
    let pids: number[] = [];
    const a = await startBackend('a', () => pids);
    const b = await startBackend('b', () => pids);
    const gw = await startGw(
      'health',
      `  - name: app
    balance: round-robin
    targets: ["127.0.0.1:${a.port}", "127.0.0.1:${b.port}"]
    healthCheck: { type: http, path: /healthz, intervalMs: 200, unhealthyIntervalMs: 200, unhealthyThreshold: 2 }`,
    );
    pids = [gw.primary, ...gw.workers];
    // Both workers send to both targets.
    const seen = (backend: Backend, pid: number) => backend.traffic.includes(pid);
    await sendUntil(gw.port, () => gw.workers.every((w) => seen(a, w) && seen(b, w)));
    await until(() => b.probes.length >= 4, 5000, 'four probes of b');
    // One prober: the primary, never a worker.
    assert.deepEqual(new Set([...a.probes, ...b.probes]), new Set([gw.primary]));
    // b fails its checks: the primary's verdict reaches both workers.
    b.failing = true;
    await gw.proc.waitForLine((l) => l.includes(`127.0.0.1:${b.port} unhealthy`), 5000);
    await sleep(300);
    const before = b.traffic.length;
    a.traffic.length = 0;
    await sendUntil(gw.port, () => gw.workers.every((w) => seen(a, w)));
    assert.equal(b.traffic.length - before, 0, 'a worker still sent to the unhealthy target');
    assert.deepEqual(new Set([...a.probes, ...b.probes]), new Set([gw.primary]));
    // A worker started now gets the verdict before it serves: its first requests avoid b.
    const [, second] = gw.workers;
    assert.ok(second !== undefined);
    process.kill(second, 'SIGKILL');
    const line = await gw.proc.waitForLine(
      (l) => /^worker 2 \(pid \d+\) serving/.test(l) && !l.includes(`(pid ${second})`),
    );
    const replacement = Number(/pid (\d+)/.exec(line)?.[1]);
    pids = [gw.primary, ...workerPids(gw.proc)];
    await sendUntil(gw.port, () => a.traffic.includes(replacement));
    assert.equal(b.traffic.length - before, 0, 'the new worker sent to the unhealthy target');
  });

  it('replaces a worker killed with SIGKILL under load; only its in-flight requests fail', async () => {
    let pids: number[] = [];
    const app = await startBackend('app', () => pids);
    app.latencyMs = 20;
    const gw = await startGw('kill', `  - { name: app, targets: ["127.0.0.1:${app.port}"] }`);
    pids = [gw.primary, ...gw.workers];
    const [victim] = gw.workers;
    assert.ok(victim !== undefined);
    let ok = 0;
    let failed = 0;
    let okAfterRestart = 0;
    let restarted = false;
    let running = true;
    const concurrency = 6;
    const loops = Array.from({ length: concurrency }, async () => {
      while (running) {
        const status = await get(gw.port);
        if (status === 200) {
          ok++;
          if (restarted) okAfterRestart++;
        } else failed++;
      }
    });
    await until(() => ok >= 30, 10_000, 'requests before the kill');
    process.kill(victim, 'SIGKILL');
    await gw.proc.waitForLine((l) =>
      new RegExp(`^worker 1 \\(pid ${victim}\\) exited with SIGKILL; restarting in 100 ms$`).test(
        l,
      ),
    );
    const line = await gw.proc.waitForLine(
      (l) => /^worker 1 \(pid \d+\) serving/.test(l) && !l.includes(`(pid ${victim})`),
    );
    restarted = true;
    const replacement = Number(/pid (\d+)/.exec(line)?.[1]);
    assert.notEqual(replacement, victim);
    pids = [gw.primary, ...workerPids(gw.proc)];
    await until(() => okAfterRestart >= 30, 10_000, 'requests after the restart');
    running = false;
    await Promise.all(loops);
    // At most the requests the victim held when it died (one per client loop).
    assert.ok(failed <= concurrency, `${failed} failed`);
    // The replacement serves too.
    await sendUntil(gw.port, () => app.traffic.includes(replacement));
    // Dying again soon after its start, it waits twice as long before the next restart.
    process.kill(replacement, 'SIGKILL');
    await gw.proc.waitForLine(
      (l) => l === `worker 1 (pid ${replacement}) exited with SIGKILL; restarting in 200 ms`,
    );
  });

  it('hands a reloaded config to every worker, and the log says how many took it', async () => {
    let pids: number[] = [];
    const a = await startBackend('a', () => pids);
    const b = await startBackend('b', () => pids);
    const gw = await startGw('reload', `  - { name: app, targets: ["127.0.0.1:${a.port}"] }`);
    pids = [gw.primary, ...gw.workers];
    await writeFile(
      gw.file,
      configText(gw.port, `  - { name: app, targets: ["127.0.0.1:${b.port}"] }`, ''),
    );
    gw.proc.child.kill('SIGHUP');
    const applied = await gw.proc.waitForLine((l) => / applied by \d+ of 2 workers$/.test(l));
    assert.match(applied, /^config sha256:[0-9a-f]{12} applied by 2 of 2 workers$/);
    await gw.proc.waitForLine((l) => l.startsWith('config reloaded: sha256:'));
    const aBefore = a.traffic.length;
    await sendUntil(gw.port, () => gw.workers.every((w) => b.traffic.includes(w)));
    assert.equal(a.traffic.length, aBefore, 'a worker still routes by the old config');
    const serving = /^config (sha256:\w+) applied/.exec(applied)?.[1] ?? '';
    // A revision no worker can put in force (a new listener on an address in use): each worker
    // is named, the reload is rejected, and the revision in force keeps serving.
    const holder = net.createServer();
    holders.push(holder);
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const busy = (holder.address() as net.AddressInfo).port;
    const extraListener = `  - { name: more, protocol: http, listen: 127.0.0.1:${busy}, routes: [{ upstream: app }] }`;
    const text = configText(gw.port, `  - { name: app, targets: ["127.0.0.1:${a.port}"] }`, '');
    await writeFile(gw.file, text.replace('upstreams:\n', `${extraListener}\nupstreams:\n`));
    gw.proc.child.kill('SIGHUP');
    const rejected = await gw.proc.waitForLine((l) => l.startsWith('config rejected'));
    assert.match(rejected, /worker \d: listener more: cannot listen on .*already in use/);
    assert.ok(rejected.endsWith(`still serving ${serving}`), rejected);
    for (const id of [1, 2])
      assert.ok(
        gw.proc.lines.some((l) => l.startsWith(`worker ${id} (pid `) && l.includes(' rejected ')),
      );
    const bBefore = b.traffic.length;
    await sendUntil(gw.port, () => b.traffic.length >= bBefore + 16);
    assert.equal(a.traffic.length, aBefore, 'a rejected revision took effect');
  });

  it('on SIGTERM, lets every worker finish the requests it accepted, then exits 0', async () => {
    let pids: number[] = [];
    const app = await startBackend('app', () => pids);
    const gw = await startGw('stop', `  - { name: app, targets: ["127.0.0.1:${app.port}"] }`);
    pids = [gw.primary, ...gw.workers];
    app.latencyMs = 400;
    const inFlight = Array.from({ length: 12 }, () => get(gw.port));
    await until(() => app.traffic.length >= 12, 5000, 'twelve requests at the backend');
    gw.proc.child.kill('SIGTERM');
    assert.deepEqual(await Promise.all(inFlight), Array(12).fill(200));
    const exit = await gw.proc.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(gw.proc.lines.includes('all workers stopped'), gw.proc.lines.join('\n'));
    for (const pid of gw.workers) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  });

  it('exits 1 naming the worker and the address when a listener cannot bind', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    const file = join(dir, 'busy.yaml');
    await writeFile(file, configText(port, `  - { name: app, targets: ["127.0.0.1:1"] }`, ''));
    const run = await runGw(['proxy', '--config', file, '--workers', '2']);
    holder.close();
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /worker \d: .*already in use.*GW_ERR_PORT_IN_USE/);
  });
});

/** A connection that sent one keep-alive request and has its answer's first bytes. */
function answered(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write('GET / HTTP/1.1\r\nhost: gw.test\r\n\r\n');
    });
    socket.once('data', () => resolve(socket));
    socket.once('error', reject);
  });
}
