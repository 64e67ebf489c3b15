import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { prefetchTables, readInWorker, socketsInUse } from '../../src/conns/read-parallel.js';
import { GW_BIN } from '../helpers/cli.js';
import { connsJson } from './helpers/gw.js';

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

describe('reading big tables on a second thread', () => {
  it('reads files on a worker thread, undefined for one that cannot be read', async () => {
    const [tcp6, missing] = await readInWorker([path.join(STATES, 'tcp6'), path.join(tmp, 'none')]);
    assert.equal(tcp6, fs.readFileSync(path.join(STATES, 'tcp6'), 'latin1'));
    assert.equal(missing, undefined);
  });

  it('counts in-use and TIME_WAIT sockets from sockstat, 0 when it cannot', () => {
    assert.equal(socketsInUse(fakeProc('count', 9000)), 9007);
    assert.equal(socketsInUse(path.join(tmp, 'nowhere')), 0);
  });

  it('starts only for big tables and more than one table, and reads all but the first', async () => {
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
    assert.deepEqual([...prefetch.names], ['tcp6', 'udp', 'udp6']);
    const tables = await prefetch.tables;
    assert.deepEqual(
      tables.map((t) => [t.name, t.text.length > 0]),
      [
        ['tcp6', true],
        ['udp', true],
        ['udp6', true],
      ],
    );
  });

  it('gives the same sockets through the threaded path as through a snapshot (GW_PROC_ROOT)', async () => {
    const threaded = await connsJson(['-tu'], { env: { GW_PROC_ROOT: fakeProc('cli', 90_000) } });
    const plain = await connsJson(['-tu', '--from', STATES]);
    assert.equal(threaded.length, 60);
    // Live, users are named from /etc/passwd; the snapshot has no passwd file.
    assert.deepEqual(
      threaded.map(({ user: _user, ...rest }) => rest),
      plain,
    );
  });
  it('reads on this thread when no thread may be started (Node permission model)', async () => {
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
