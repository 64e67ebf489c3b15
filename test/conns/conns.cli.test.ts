import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { GW_BIN } from '../helpers/cli.js';
import { connsJson, gw } from './helpers/gw.js';

const PILEUPS = fileURLToPath(new URL('../../fixtures/proc/pileups', import.meta.url));
const STATES = fileURLToPath(new URL('../../fixtures/proc/states', import.meta.url));

/** The dist/ modules `gw ARGS` loads (NODE_DEBUG=esm logs each one). */
async function loadedModules(args: readonly string[]): Promise<string[]> {
  const { stderr } = await gw(args, { env: { NODE_DEBUG: 'esm' } });
  return [...new Set(stderr.match(/dist\/[\w/-]+\.js/g) ?? [])];
}

interface SummaryJson {
  total: number;
  states: { state: string; total: number }[];
  closeWait: { count: number; topOwners: { key: string; count: number }[] };
  timeWait: { count: number };
  diagnoses: { code: string; severity: string; count: number; text: { title: string } }[];
}

describe('gw conns (CLI)', () => {
  it('is listed in gw --help, which loads none of its modules; gw conns --help loads only its flags', async () => {
    const help = await gw(['--help']);
    assert.match(help.stdout, /conns\s+netstat\/ss-style socket table/);
    const top = await loadedModules(['--help']);
    assert.deepEqual(
      top.filter((m) => m.includes('conns')),
      [],
    );
    const own = await loadedModules(['conns', '--help']);
    assert.ok(own.includes('dist/cli/conns.js'));
    assert.deepEqual(
      own.filter((m) => m.startsWith('dist/conns/') || m.includes('conns-actions')),
      [],
    );
    const text = await gw(['conns', '--help']);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /Examples:\n\s+gw conns /);
    assert.match(text.stdout, /--state <states>/);
  });

  it('refuses an unknown state with exit 2 and one line listing the valid names', async () => {
    const { code, stdout, stderr } = await gw(['conns', '--state', 'close_wiat']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(
      stderr,
      /unknown TCP state "close_wiat" \[GW_ERR_CONNS_UNKNOWN_STATE\]; use one or more of LISTEN, .*CLOSE_WAIT/,
    );
  });

  it('says in one line, exit 1, when there is no /proc to read', async () => {
    const { code, stderr } = await gw(['conns'], { env: { GW_PROC_ROOT: '/nonexistent/proc' } });
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(stderr, /GW_ERR_CONNS_UNSUPPORTED.*--from DIR/);
  });

  it('refuses a missing snapshot, and -p with --from, with exit 2', async () => {
    const missing = await gw(['conns', '--from', '/nonexistent/snap']);
    assert.deepEqual([missing.code, missing.stderr.includes('GW_ERR_CONNS_SNAPSHOT')], [2, true]);
    const both = await gw(['conns', '--from', STATES, '-p']);
    assert.deepEqual([both.code, both.stderr.includes('GW_ERR_USAGE')], [2, true]);
    const flag = await gw(['conns', '--frobnicate']);
    assert.deepEqual([flag.code, flag.stderr.includes('GW_ERR_USAGE')], [2, true]);
  });

  it('reads a snapshot with --from and filters it: -tan like ss, --state close-wait, -6', async () => {
    const all = await connsJson(['-tan', '--from', STATES]);
    assert.equal(all.length, 55);
    const closeWait = await connsJson(['--from', STATES, '--state', 'close-wait']);
    assert.deepEqual(closeWait.map((s) => `${s.local.address}:${s.local.port}`).sort(), [
      '127.0.0.1:40002',
      '::1:40002',
    ]);
    const v6 = await connsJson(['--from', STATES, '-6', '--sport', '40010']);
    assert.deepEqual(v6.map((s) => s.state).sort(), ['ESTABLISHED', 'LISTEN']);
    const udp = await connsJson(['--from', STATES, '-u', '--listen']);
    assert.equal(udp.length, 3);
  });

  it('prints the table sorted by state with the diagnoses under it, in English or Chinese, or none with --no-diagnoses', async () => {
    const en = await gw(['conns', '--from', PILEUPS]);
    assert.equal(en.code, 0, en.stderr);
    const lines = en.stdout.split('\n');
    assert.match(
      lines[0] ?? '',
      /^Proto\s+State\s+Recv-Q\s+Send-Q\s+Local Address:Port\s+Peer Address:Port\s+Timer$/,
    );
    assert.match(lines[1] ?? '', /^tcp\s+LISTEN\s/);
    assert.match(en.stdout, /\nDiagnoses \(4\):\n/);
    assert.match(
      en.stdout,
      /TIME_WAIT holds 75% of the ephemeral ports towards 127\.0\.0\.1:40021 \(30 of 40\)/,
    );
    assert.match(en.stdout, /SYN_RECV piling up on 127\.0\.0\.1:40022: 12 half-open connections/);
    assert.match(
      en.stdout,
      /accept queue of 127\.0\.0\.1:40023 is full: 2 connections wait for accept\(\)/,
    );
    const zh = await gw(['conns', '--from', PILEUPS, '--lang', 'zh']);
    assert.match(zh.stdout, /诊断 \(4\)/);
    assert.match(zh.stdout, /CLOSE_WAIT 堆积在 127\.0\.0\.1:40020 上的服务/);
    const quiet = await gw(['conns', '--from', PILEUPS, '--no-diagnoses']);
    assert.doesNotMatch(quiet.stdout, /Diagnoses/);
  });

  it('summarises a snapshot as JSON with counts, top lists and the diagnoses', async () => {
    const { code, stdout } = await gw(['conns', '--from', PILEUPS, '--summary', '--json']);
    assert.equal(code, 0);
    const summary = JSON.parse(stdout) as SummaryJson;
    const count = (state: string) => summary.states.find((s) => s.state === state)?.total;
    assert.deepEqual(
      [count('CLOSE_WAIT'), count('TIME_WAIT'), count('SYN_RECV'), count('SYN_SENT')],
      [12, 30, 12, 14],
    );
    assert.deepEqual(summary.diagnoses.map((d) => d.code).sort(), [
      'accept-queue-full',
      'close-wait-pileup',
      'syn-recv-pileup',
      'time-wait-exhaustion',
    ]);
    const text = await gw(['conns', '--from', PILEUPS, '--summary', '--pileup', '13']);
    assert.match(text.stdout, /CLOSE_WAIT: 12 /);
    assert.doesNotMatch(text.stdout, /piling up/, '--pileup 13 is above the 12 found');
  });

  it('gives the same diagnosis with --summary --state as the table does: listeners still count', async () => {
    const keyOf = async (args: string[]): Promise<string[]> => {
      const { stdout } = await gw(['conns', '--from', PILEUPS, '--state', 'close-wait', ...args]);
      return stdout.includes('"diagnoses"')
        ? (JSON.parse(stdout) as { diagnoses: { key: string }[] }).diagnoses.map((d) => d.key)
        : [];
    };
    const summary = await keyOf(['--summary', '--json']);
    assert.deepEqual(summary, ['close-wait-pileup uid:0 local:127.0.0.1:40020']);
    const table = await gw(['conns', '--from', PILEUPS, '--state', 'close-wait']);
    assert.match(table.stdout, /127\.0\.0\.1:40020/);
    assert.match(
      table.stdout,
      /CLOSE_WAIT piling up in the service on 127\.0\.0\.1:40020 \(uid 0\): 12 sockets/,
    );
  });

  it('counts malformed lines of a snapshot on stderr and shows the rest', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-conns-bad-'));
    try {
      const good = fs.readFileSync(path.join(STATES, 'tcp'), 'latin1');
      fs.writeFileSync(path.join(dir, 'tcp'), `${good}   99: garbage here\n`);
      const { code, stdout, stderr } = await gw(['conns', '--from', dir, '--json', '-4']);
      assert.equal(code, 0);
      assert.equal((JSON.parse(stdout) as unknown[]).length, good.trim().split('\n').length - 1);
      assert.match(
        stderr,
        /skipped 1 malformed line in .*tcp \(line \d+: expected at least 10 fields\)/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refreshes with --watch as NDJSON, then stops cleanly on Ctrl-C', async () => {
    const child = spawn(
      process.execPath,
      [GW_BIN, 'conns', '--watch', '0.2', '--json', '--port', '1'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    for (let i = 0; i < 100 && out.split('\n').length < 3; i++)
      await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    const events = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    assert.equal(events[0]?.type, 'snapshot');
    assert.equal(events[1]?.type, 'changes');
  });
});
