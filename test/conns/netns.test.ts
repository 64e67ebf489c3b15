import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { GW_BIN } from '../helpers/cli.js';
import { dropSynAcksFrom } from './helpers/drop-syn-acks.js';
import { parseSs } from './helpers/ss-output.js';
import type { JsonSocket } from './helpers/gw.js';

/**
 * SYN_RECV and port exhaustion need what a shared host should not be given:
 * a rule that drops a listener's SYN+ACKs and a narrowed ephemeral port
 * range. Both live in a private network namespace made for this test and
 * deleted with everything in it in after(), even when a test fails. Root,
 * `ip` and `tc` are needed; otherwise the suite is skipped.
 */
const NS = `gw-conns-test-${process.pid}`;
const SYN_PORT = 40022;
const TW_PORT = 40021;
const LAB = fileURLToPath(new URL('./helpers/netns-lab.ts', import.meta.url));

function canRun(): string | false {
  if (process.getuid?.() !== 0) return 'needs root for a network namespace';
  for (const tool of ['ip', 'tc']) {
    if (spawnSync(tool, ['-V']).error !== undefined) return `needs ${tool}`;
  }
  return false;
}
const SKIP = canRun();

function inNs(cmd: string, args: readonly string[]): string {
  return execFileSync('ip', ['netns', 'exec', NS, cmd, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe(
  'gw conns in a private namespace: SYN_RECV, SYN_SENT and port exhaustion',
  { skip: SKIP },
  () => {
    let lab: ChildProcess | undefined;

    before(async () => {
      execFileSync('ip', ['netns', 'add', NS]);
      execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
      dropSynAcksFrom([SYN_PORT], inNs);
      inNs('sh', ['-c', 'echo 41000 41039 > /proc/sys/net/ipv4/ip_local_port_range']);
      lab = spawn(
        'ip',
        [
          'netns',
          'exec',
          NS,
          process.execPath,
          '--import',
          'tsx',
          LAB,
          String(SYN_PORT),
          String(TW_PORT),
        ],
        {
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      );
      await new Promise<void>((resolve, reject) => {
        lab?.stdout?.on('data', (d: Buffer) => {
          if (d.toString().includes('ready')) resolve();
        });
        lab?.once('close', (code) => reject(new Error(`netns lab exited ${String(code)}`)));
      });
    });

    after(async () => {
      if (lab?.exitCode === null) {
        const done = new Promise((resolve) => lab?.once('close', resolve));
        lab.stdin?.end();
        const timer = setTimeout(() => lab?.kill('SIGKILL'), 5000);
        await done;
        clearTimeout(timer);
      }
      // Deleting the namespace removes its tc rules, its sysctl and any socket left in it.
      spawnSync('ip', ['netns', 'del', NS]);
    });

    it('lists SYN_RECV and SYN_SENT over IPv4 and IPv6 exactly as ss does', () => {
      const gw = JSON.parse(
        inNs(process.execPath, [GW_BIN, 'conns', '--json', '--port', String(SYN_PORT)]),
      ) as JsonSocket[];
      const ss = parseSs(
        inNs('ss', ['-tan', `( sport = :${SYN_PORT} or dport = :${SYN_PORT} )`]),
        'tcp',
      );
      const count = (list: readonly { state: string }[], state: string) =>
        list.filter((s) => s.state === state).length;
      assert.equal(count(gw, 'SYN_RECV'), 24);
      assert.equal(count(gw, 'SYN_SENT'), 24);
      assert.equal(count(ss, 'SYN-RECV'), 24);
      assert.equal(count(ss, 'SYN-SENT'), 24);
      assert.ok(
        gw
          .filter((s) => s.state === 'SYN_RECV')
          .every((s) => s.inode === 0 && s.timer?.kind === 'on'),
      );
    });

    it('diagnoses the SYN_RECV pile-up on each listener and TIME_WAIT filling the narrowed port range', () => {
      const out = JSON.parse(inNs(process.execPath, [GW_BIN, 'conns', '--summary', '--json'])) as {
        diagnoses: {
          code: string;
          listener?: string;
          destination?: string;
          count: number;
          rangeSize?: number;
        }[];
      };
      const syn = out.diagnoses
        .filter((d) => d.code === 'syn-recv-pileup')
        .map((d) => [d.listener, d.count]);
      assert.deepEqual(syn.sort(), [
        [`127.0.0.1:${SYN_PORT}`, 12],
        [`[::1]:${SYN_PORT}`, 12],
      ]);
      const tw = out.diagnoses.find((d) => d.code === 'time-wait-exhaustion');
      assert.deepEqual(
        [tw?.destination, tw?.count, tw?.rangeSize],
        [`127.0.0.1:${TW_PORT}`, 30, 40],
      );
      const text = inNs(process.execPath, [GW_BIN, 'conns', '--state', 'syn-recv', '--lang', 'zh']);
      assert.match(text, /SYN_RECV 堆积在 127\.0\.0\.1:40022：12 个半连接/);
    });
  },
);
