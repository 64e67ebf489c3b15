import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  copyInChild,
  prefetchTables,
  socketsInUse,
  startEarlyCopies,
  takeEarlyCopies,
} from '../../src/conns/read-parallel.js';
import { isGwError } from '../../src/shared/errors.js';
import { GW_BIN } from '../helpers/cli.js';
import { connsJson, gw } from './helpers/gw.js';

const STATES = fileURLToPath(new URL('../../fixtures/proc/states/', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-conns-proc-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A fake /proc whose sockstat claims `inUse` TCP sockets, holding the states fixture's tables. */
function fakeProc(name: string, inUse: number): string {
  const root = path.join(tmp, name);
  fs.mkdirSync(path.join(root, 'net'), { recursive: true });
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6', 'netstat', 'snmp']) {
    fs.copyFileSync(path.join(STATES, table), path.join(root, 'net', table));
  }
  fs.writeFileSync(
    path.join(root, 'net', 'sockstat'),
    `sockets: used ${inUse}\nTCP: inuse ${inUse} orphan 0 tw 7 alloc ${inUse} mem 1\nUDP: inuse 0 mem 0\n`,
  );
  return root;
}

const BOTH = { protos: ['tcp'] as const, families: [4, 6] as const };

/** The gw-conns-* scratch files in the temp directories (there should be none: they are unlinked at once). */
function scratchLeft(): string[] {
  return ['/dev/shm', os.tmpdir()].flatMap((dir) => {
    try {
      return fs.readdirSync(dir).filter((f) => f.startsWith(`gw-conns-${process.pid}-`));
    } catch {
      return [];
    }
  });
}

/** True while a process with this pid runs. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every piece a table's copy hands over. */
async function piecesOf(chunks: () => AsyncIterable<string>): Promise<string[]> {
  const pieces: string[] = [];
  for await (const piece of chunks()) pieces.push(piece);
  return pieces;
}

/** A directory holding a fake `cat` running `script` (sh), to put first on PATH. */
function fakeCat(name: string, script: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'cat'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return dir;
}

/** Runs `body` with `dir` first on PATH. */
async function withPath<T>(dir: string, body: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = `${dir}:${saved ?? ''}`;
  try {
    return await body();
  } finally {
    process.env.PATH = saved;
  }
}

describe('copying big tables on other cores', () => {
  it('copies a file with cat in a child, leaving no file behind; nothing for one that cannot be read', async () => {
    const copy = copyInChild(path.join(STATES, 'tcp6'));
    assert.ok(copy.child?.pid, 'a child was started');
    const missing = copyInChild(path.join(tmp, 'none'));
    assert.deepEqual(scratchLeft(), []);
    const pieces = await piecesOf(copy.chunks);
    assert.equal(pieces.join(''), fs.readFileSync(path.join(STATES, 'tcp6'), 'latin1'));
    assert.deepEqual(await piecesOf(missing.chunks), []);
    assert.equal(copy.child, undefined, 'the child is forgotten once it exited');
  });

  it('copies a file bigger than a pipe holds, whole', async () => {
    const big = path.join(tmp, 'big-file');
    const line = `${'0123456789ABCDEF'.repeat(9)}\n`;
    fs.writeFileSync(big, line.repeat(20_000)); // 2.9 MB
    const pieces = await piecesOf(copyInChild(big).chunks);
    assert.equal(pieces.join(''), fs.readFileSync(big, 'latin1'));
  });

  it('hands over a growing copy in pieces of whole lines while cat still runs', async () => {
    // A cat that writes three lines, the middle one in two halves, with pauses between.
    const dir = fakeCat(
      'slow-cat',
      "printf 'one\\ntw'; sleep 0.2; printf 'o\\n'; sleep 0.2; printf 'three\\n'",
    );
    const pieces = await withPath(dir, () => piecesOf(copyInChild('/dev/null').chunks));
    assert.equal(pieces.join(''), 'one\ntwo\nthree\n');
    assert.ok(pieces.length >= 2, `arrived in ${pieces.length} piece(s)`);
    for (const piece of pieces) assert.match(piece, /\n$/, 'every piece ends a line');
  });

  it('reads here when the copy fails before handing anything over', async () => {
    const dir = fakeCat('failing-cat', 'exit 3');
    const file = path.join(STATES, 'tcp');
    const pieces = await withPath(dir, () => piecesOf(copyInChild(file).chunks));
    assert.equal(pieces.join(''), fs.readFileSync(file, 'latin1'));
  });

  it('fails with GW_ERR_CONNS_READ when the copy stops after handing some over', async () => {
    const dir = fakeCat('broken-cat', "printf 'a line\\n'; sleep 0.2; exit 1");
    await withPath(dir, async () => {
      const copy = copyInChild(path.join(STATES, 'tcp'));
      const seen: string[] = [];
      await assert.rejects(
        async () => {
          for await (const piece of copy.chunks()) seen.push(piece);
        },
        (err: unknown) =>
          isGwError(err, 'GW_ERR_CONNS_READ') &&
          err.message.includes('stopped after 7 bytes (cat exited with 1)'),
      );
      assert.deepEqual(seen, ['a line\n']);
    });
  });

  it('stops a copy by its pid when cancelled', async () => {
    const fifo = path.join(tmp, 'fifo');
    spawnSync('mkfifo', [fifo]);
    const copy = copyInChild(fifo); // cat blocks on a FIFO nobody writes
    const pid = copy.child?.pid;
    assert.ok(pid !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(running(pid));
    copy.cancel();
    const deadline = Date.now() + 5000;
    while (running(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(running(pid), false);
  });

  it('stops the copies still running when the process exits (gw conns | head)', async () => {
    const fifo = path.join(tmp, 'fifo-exit');
    spawnSync('mkfifo', [fifo]);
    const module = new URL('../../src/conns/read-parallel.ts', import.meta.url).href;
    const script = `const { copyInChild } = await import(${JSON.stringify(module)});
      const copy = copyInChild(${JSON.stringify(fifo)});
      console.log(copy.child.pid);
      setTimeout(() => process.exit(0), 100);`;
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 10_000 },
    );
    assert.equal(child.status, 0, child.stderr);
    const pid = Number(child.stdout.trim());
    assert.ok(pid > 0, child.stdout);
    const deadline = Date.now() + 5000;
    while (running(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(running(pid), false, 'the cat is stopped');
  });

  it('reads on this thread when cat cannot be started', async () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(tmp, 'no-bin');
    try {
      const pieces = await piecesOf(copyInChild(path.join(STATES, 'tcp')).chunks);
      assert.equal(pieces.join(''), fs.readFileSync(path.join(STATES, 'tcp'), 'latin1'));
    } finally {
      process.env.PATH = saved;
    }
  });

  it('counts in-use and TIME_WAIT sockets from sockstat, 0 when it cannot', () => {
    assert.equal(socketsInUse(fakeProc('count', 9000)), 9007);
    assert.equal(socketsInUse(path.join(tmp, 'nowhere')), 0);
  });

  it('starts only for big tables and more than one table, and copies all but the first', async () => {
    assert.equal(
      prefetchTables(
        { ...BOTH, protos: [...BOTH.protos], families: [...BOTH.families] },
        fakeProc('small', 100),
      ),
      undefined,
    );
    assert.equal(
      prefetchTables({ protos: ['tcp'], families: [4] }, fakeProc('one', 90_000)),
      undefined,
    );
    const prefetch = prefetchTables(
      { protos: ['tcp', 'udp'], families: [4, 6] },
      fakeProc('big', 90_000),
    );
    assert.ok(prefetch);
    assert.deepEqual([...prefetch.tables.keys()], ['tcp6', 'udp', 'udp6']);
    const tables = await Promise.all(
      [...prefetch.tables.values()].map(async (t) => [
        t.name,
        (await piecesOf(t.chunks)).length > 0,
      ]),
    );
    assert.deepEqual(tables, [
      ['tcp6', true],
      ['udp', true],
      ['udp6', true],
    ]);
  });

  it('starts tcp and tcp6 before the options are known, hands over those wanted and stops the rest', async () => {
    const root = fakeProc('early', 90_000);
    startEarlyCopies(['--help'], root);
    assert.equal(takeEarlyCopies({ protos: ['tcp'], families: [4, 6] }), undefined);
    startEarlyCopies(['--from=snap'], root);
    assert.equal(takeEarlyCopies({ protos: ['tcp'], families: [4, 6] }), undefined);
    startEarlyCopies(['-4', '--summary'], root);
    const prefetch = takeEarlyCopies({ protos: ['tcp', 'udp'], families: [4] });
    assert.ok(prefetch);
    assert.deepEqual([...prefetch.tables.keys()], ['tcp']);
    const tcp = prefetch.tables.get('tcp');
    assert.ok(tcp);
    assert.equal(
      (await piecesOf(tcp.chunks)).join(''),
      fs.readFileSync(path.join(root, 'net', 'tcp'), 'latin1'),
    );
    assert.equal(tcp.source, path.join(root, 'net', 'tcp'));
    // Taken once: a second reading (watch) reads afresh.
    assert.equal(takeEarlyCopies({ protos: ['tcp'], families: [4] }), undefined);
    // Small tables: nothing starts.
    startEarlyCopies([], fakeProc('early-small', 10));
    assert.equal(takeEarlyCopies({ protos: ['tcp'], families: [4, 6] }), undefined);
  });

  it('leaves at once on a copy that breaks, stopping the copies still running', async () => {
    // tcp's copy breaks after a line; tcp6's would take 4 s.
    const dir = fakeCat(
      'cli-broken-cat',
      'case "$2" in *tcp6) sleep 4; exec /bin/cat "$@";; *tcp) printf \'x\\n\'; exit 1;; esac',
    );
    const started = Date.now();
    const result = await gw(['conns', '--json'], {
      env: {
        GW_PROC_ROOT: fakeProc('cli-broken', 90_000),
        PATH: `${dir}:${process.env.PATH ?? ''}`,
      },
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /GW_ERR_CONNS_READ/);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  });

  it('gives the same sockets, in the same order, through the copies as through a snapshot (GW_PROC_ROOT)', async () => {
    const copied = await connsJson(['-tu'], { env: { GW_PROC_ROOT: fakeProc('cli', 90_000) } });
    const plain = await connsJson(['-tu', '--from', STATES]);
    assert.equal(copied.length, 60);
    // Live, users are named from /etc/passwd; the snapshot has no passwd file.
    assert.deepEqual(
      copied.map(({ user: _user, ...rest }) => rest),
      plain,
    );
  });
  it('reads on this thread when no child process may be started (Node permission model)', async () => {
    const flag = process.allowedNodeEnvironmentFlags.has('--permission')
      ? '--permission'
      : '--experimental-permission';
    const child = spawn(
      process.execPath,
      [flag, '--allow-fs-read=*', GW_BIN, 'conns', '-tu', '--json'],
      { env: { ...process.env, GW_PROC_ROOT: fakeProc('no-threads', 90_000), NO_COLOR: '1' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise((resolve) => child.once('close', resolve));
    assert.equal(code, 0, stderr);
    assert.equal((JSON.parse(stdout) as unknown[]).length, 60);
  });
});
