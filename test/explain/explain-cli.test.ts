import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GW_BIN, runGw } from '../helpers/cli.js';
import { pcapFile } from '../helpers/frames.js';

const FIX = new URL('../../fixtures/captures/', import.meta.url).pathname;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-explain-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs gw explain with a file on standard input. */
function explainStdin(
  file: string,
  args: readonly string[],
): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GW_BIN, 'explain', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout }));
    void readFile(file).then((bytes) => child.stdin.end(bytes));
  });
}

describe('gw explain (CLI)', () => {
  it('explains a whole HTTP exchange: handshake, data, teardown and TIME_WAIT', async () => {
    const { code, stdout } = await runGw(['explain', `${FIX}handshake-http.pcap`]);
    assert.equal(code, 0);
    for (const step of [
      '3-way handshake 1/3',
      '3-way handshake 2/3',
      '3-way handshake 3/3',
      '4-way teardown 1/4',
      '4-way teardown 4/4',
    ]) {
      assert.ok(stdout.includes(step), step);
    }
    assert.match(stdout, /HTTP request "GET \//);
    assert.match(stdout, /TIME_WAIT/);
    assert.match(stdout, /CLOSE_WAIT/);
  });

  it('explains in Chinese with the terms the notes use', async () => {
    const { stdout } = await runGw(['explain', `${FIX}handshake-http.pcap`, '--lang', 'zh']);
    for (const term of ['三次握手', '四次挥手', '窗口', 'TIME_WAIT'])
      assert.ok(stdout.includes(term), term);
    const retrans = await runGw(['explain', `${FIX}retransmissions.pcap`, '--lang', 'zh']);
    assert.ok(retrans.stdout.includes('重传'));
    assert.ok(retrans.stdout.includes('拥塞'));
  });

  it('writes one JSON object per packet with the contract fields', async () => {
    const { stdout } = await runGw(['explain', `${FIX}zero-window.pcap`, '--json']);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.length > 100);
    for (const field of [
      'index',
      'time',
      'conn',
      'src',
      'dst',
      'flags',
      'seq',
      'ack',
      'len',
      'win',
      'phase',
      'step',
      'events',
      'text',
    ]) {
      assert.ok(field in (lines[0] ?? {}), field);
    }
    assert.ok(lines.some((l) => (l.events as string[]).includes('zero-window')));
  });

  it('calls a refused connection refused and an SO_LINGER 0 close an abort', async () => {
    assert.match((await runGw(['explain', `${FIX}refused.pcap`])).stdout, /Connection refused/);
    assert.match(
      (await runGw(['explain', `${FIX}abort-linger0.pcap`])).stdout,
      /aborts the connection/,
    );
  });

  it('summarises every connection, and --conn keeps one', async () => {
    const summary = await runGw(['explain', `${FIX}interleaved.pcap`, '--summary', '--json']);
    const rows = JSON.parse(summary.stdout) as { conn: number; end: string }[];
    assert.equal(rows.length, 27);
    const one = await runGw(['explain', `${FIX}interleaved.pcap`, '--json', '--conn', '3']);
    const conns = new Set(
      one.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { conn: number }).conn),
    );
    assert.deepEqual([...conns], [3]);
    const table = await runGw(['explain', `${FIX}retransmissions.pcap`, '--summary']);
    assert.match(table.stdout, /handshake RTT/);
  });

  it('reads a capture from standard input', async () => {
    const { code, stdout } = await explainStdin(`${FIX}handshake-http.pcapng`, ['-', '--json']);
    assert.equal(code, 0);
    assert.equal(stdout.trim().split('\n').length, 10);
  });

  it('explains tcpdump text from a file or standard input like the pcap it came from', async () => {
    const text = await runGw(['explain', `${FIX}handshake-http.tcpdump-nn.txt`, '--json']);
    const pcap = await runGw(['explain', `${FIX}handshake-http.pcap`, '--json']);
    const steps = (out: string): string[] =>
      out
        .trim()
        .split('\n')
        .map((l) => {
          const p = JSON.parse(l) as { phase: string; step: number; flags: string };
          return `${p.phase}/${p.step}/${p.flags}`;
        });
    assert.deepEqual(steps(text.stdout), steps(pcap.stdout));
    const piped = await explainStdin(`${FIX}handshake-http.tcpdump-vv-nn.txt`, ['-', '--json']);
    assert.deepEqual(steps(piped.stdout), steps(pcap.stdout));
  });

  it('reads a text whose first chunk holds hundreds of thousands of lines', async () => {
    const file = join(dir, 'blank-lines-first.txt');
    const tcpdump = await readFile(`${FIX}handshake-http.tcpdump-nn.txt`, 'utf8');
    await writeFile(file, '\n'.repeat(400_000) + tcpdump);
    const padded = await runGw(['explain', file, '--json']);
    const plain = await runGw(['explain', `${FIX}handshake-http.tcpdump-nn.txt`, '--json']);
    assert.equal(padded.code, 0, padded.stderr);
    assert.equal(padded.stdout.trim().split('\n').length, plain.stdout.trim().split('\n').length);
  });

  it('writes IPv6 endpoints in JSON as [address]:port, so the port cannot be mistaken', async () => {
    const { stdout } = await runGw(['explain', `${FIX}ipv6.pcap`, '--json']);
    const first = JSON.parse(stdout.split('\n')[0] ?? '{}') as { src: string; dst: string };
    assert.match(first.src, /^\[[0-9a-f:]+\]:\d+$/);
    assert.match(first.dst, /^\[[0-9a-f:]+\]:\d+$/);
  });

  it('exits 2 quoting the first line when a text has nothing to explain', async () => {
    const file = join(dir, 'notes.txt');
    await writeFile(file, 'hello there\nthis is not tcpdump output\n');
    const { code, stderr } = await runGw(['explain', file]);
    assert.equal(code, 2);
    assert.match(stderr, /hello there/);
    assert.match(stderr, /line 1/);
  });

  it('exits 2 saying binary garbage is neither text nor a pcap/pcapng, without mojibake', async () => {
    const file = join(dir, 'random.bin');
    // Bytes a pcap or pcapng never starts with, NULs and invalid UTF-8 among them.
    await writeFile(file, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 151 + 7) % 256)));
    const { code, stderr } = await runGw(['explain', file]);
    assert.equal(code, 2);
    assert.match(stderr, /neither tcpdump text nor a pcap\/pcapng capture/);
    assert.match(stderr, /starts with 07 9e 35 cc/);
    assert.doesNotMatch(stderr, /no TCP packet found|\uFFFD/);
  });

  it('reports a truncated capture with the packets read, exit 2', async () => {
    const bytes = await readFile(`${FIX}bulk.pcap`);
    const cut = join(dir, 'cut.pcap');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const { code, stderr } = await runGw(['explain', cut, '--json']);
    assert.equal(code, 2);
    assert.match(stderr, /GW_ERR_CAPTURE_CORRUPT/);
    assert.match(stderr, /after \d+ packets/);
  });

  it('names an unsupported link type, exit 2', async () => {
    const file = join(dir, 'wifi.pcap');
    await writeFile(file, pcapFile([{ time: 1, data: Buffer.alloc(60) }], { linkType: 105 }));
    const { code, stderr } = await runGw(['explain', file]);
    assert.equal(code, 2);
    assert.match(stderr, /IEEE802_11/);
  });

  it('exits 2 for a missing file and for a connection number that does not exist', async () => {
    const missing = await runGw(['explain', join(dir, 'nope.pcap')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /GW_ERR_INPUT_FILE/);
    const conn = await runGw(['explain', `${FIX}refused.pcap`, '--conn', '9']);
    assert.equal(conn.code, 2);
  });

  it('skips a 5 MB text line with a warning naming it, and says so in --help', async () => {
    const lines = (await readFile(`${FIX}abort-linger0.tcpdump-n.txt`, 'utf8')).split('\n');
    lines.splice(3, 0, 'y'.repeat(5_000_000));
    const file = join(dir, 'long-line.txt');
    await writeFile(file, lines.join('\n'));
    const { code, stdout, stderr } = await runGw(['explain', file, '--summary']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /RST \(abort\)/);
    assert.match(stderr, /skipped 1 line longer than 64 KiB.*: line 4 \(5,000,000 characters\)/);
    const help = await runGw(['explain', '--help']);
    assert.match(help.stdout, /longer than 64 KiB/);
  });
});
