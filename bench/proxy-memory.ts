/**
 * Streaming with bounded memory: a 1 GiB download and a 1 GiB upload pass
 * through one `gw proxy` process, and its peak RSS (VmHWM from
 * /proc/PID/status) is reported against the goal of 150 MB. curl is the
 * client; `gw backend http` is the target (it generates and counts bodies
 * without holding them). Everything on 127.0.0.1; every process started here
 * is stopped by its pid.
 *
 *   npm run build && node --import tsx bench/proxy-memory.ts [--gib N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intFlag } from './lib/int-flag.js';
import { freePort } from './lib/free-port.js';

const BIN = fileURLToPath(new URL('../bin/gw.js', import.meta.url));
const GOAL_MB = 150;

function startGw(args: string[], ready: RegExp): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (ready.test(out)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`gw ${args.join(' ')} exited ${code}: ${out}`)));
  });
}

/** Peak resident set size of a process so far, in MB (VmHWM). */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

function run(
  command: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, ms: performance.now() - started }));
  });
}

async function main(): Promise<void> {
  const gib = intFlag('--gib', 1);
  const bytes = gib * 1024 ** 3;
  const dir = await mkdtemp(join(tmpdir(), 'gw-bench-mem-'));
  const children: ChildProcess[] = [];
  try {
    const backendPort = await freePort();
    const proxyPort = await freePort();
    children.push(
      await startGw(
        ['backend', 'http', '--port', `${backendPort}`, '--name', 'big', '--quiet'],
        /listening/,
      ),
    );
    const config = join(dir, 'gw.yaml');
    await writeFile(
      config,
      `listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:${proxyPort}
    limits: { maxBodyBytes: 0 }
    routes: [ { match: { pathPrefix: / }, upstream: big } ]
upstreams:
  - { name: big, targets: ["127.0.0.1:${backendPort}"] }
`,
    );
    const proxy = await startGw(['proxy', '--config', config], /listener web/);
    children.push(proxy);
    const pid = proxy.pid ?? 0;
    const base = `http://127.0.0.1:${proxyPort}`;
    const baseline = peakRssMb(pid);

    const down = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{size_download}',
      `${base}/down?bytes=${bytes}`,
    ]);
    const afterDown = peakRssMb(pid);
    const up = await run('sh', [
      '-c',
      `head -c ${bytes} /dev/zero | curl -sS -T - -H 'content-type: application/octet-stream' ${base}/up`,
    ]);
    const afterUp = peakRssMb(pid);
    const counted = (JSON.parse(up.stdout) as { bodyBytes: number }).bodyBytes;

    const rows = [
      ['start', '-', '-', baseline],
      [
        'download',
        `${down.stdout} B`,
        `${(((bytes / down.ms) * 1000) / 1e9).toFixed(2)} GB/s`,
        afterDown,
      ],
      ['upload', `${counted} B`, `${(((bytes / up.ms) * 1000) / 1e9).toFixed(2)} GB/s`, afterUp],
    ] as const;
    process.stdout.write(
      `proxy-memory: ${gib} GiB each way through one gw proxy process (peak RSS = VmHWM)\n`,
    );
    for (const [what, size, rate, rss] of rows) {
      process.stdout.write(
        `  ${what.padEnd(9)} ${size.padStart(14)} ${rate.padStart(10)}   peak RSS ${rss.toFixed(1)} MB\n`,
      );
    }
    const ok = Number(down.stdout) === bytes && counted === bytes;
    process.stdout.write(
      `  goal: peak RSS < ${GOAL_MB} MB: ${afterUp < GOAL_MB ? 'PASS' : 'MISS'}; bytes intact: ${ok ? 'yes' : 'NO'}\n`,
    );
    process.stdout.write(
      `${JSON.stringify({ bench: 'proxy-memory', gib, peakRssMb: Number(afterUp.toFixed(1)), downloadBytes: Number(down.stdout), uploadBytes: counted })}\n`,
    );
    if (!ok) process.exitCode = 1;
  } finally {
    for (const child of children) child.kill('SIGINT');
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
