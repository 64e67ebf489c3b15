import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readLiveSnapshot, readSavedSnapshot, readWhole } from '../../src/conns/read-proc.js';
import { parseCounters, parsePasswd, parsePortRange } from '../../src/conns/proc-text.js';
import { isGwError } from '../../src/shared/errors.js';

const BOTH = { protos: ['tcp', 'udp'] as const, families: [4, 6] as const };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-conns-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('reading /proc and snapshots', () => {
  it('refuses to run on a system without /proc/net with GW_ERR_CONNS_UNSUPPORTED (exit 1)', () => {
    for (const [root, platform] of [
      ['/proc', 'darwin'],
      [path.join(tmp, 'no-proc'), 'linux'],
    ] as const) {
      assert.throws(
        () => readLiveSnapshot({ protos: ['tcp'], families: [4] }, root, platform),
        (err: unknown) => isGwError(err, 'GW_ERR_CONNS_UNSUPPORTED') && err.exitCode === 1,
      );
    }
  });

  it('reads the live tables, counters and sysctls of this namespace', () => {
    const snap = readLiveSnapshot({ protos: [...BOTH.protos], families: [...BOTH.families] });
    assert.deepEqual(snap.tables.map((t) => t.name).sort(), ['tcp', 'tcp6', 'udp', 'udp6']);
    assert.ok(snap.counters.has('TcpExt.ListenOverflows'));
    assert.ok(snap.portRange && snap.portRange.low < snap.portRange.high);
    assert.equal(typeof snap.sysctls.somaxconn, 'number');
    assert.equal(snap.users.get(0), 'root');
  });

  it('reads /proc files whole, though they report a size of 0', () => {
    assert.equal(fs.statSync('/proc/net/tcp').size, 0);
    assert.ok(readWhole('/proc/net/tcp').includes('local_address'));
  });

  it('reads a snapshot with only some tables and says which are missing', () => {
    const dir = path.join(tmp, 'partial');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'tcp'), readWhole('/proc/net/tcp'));
    const snap = readSavedSnapshot(dir, { protos: ['tcp'], families: [4, 6] });
    assert.deepEqual(
      [snap.tables.map((t) => t.name), snap.missing, snap.origin],
      [['tcp'], ['tcp6'], 'snapshot'],
    );
    assert.equal(snap.portRange, undefined);
  });

  it('fails with GW_ERR_CONNS_READ on a table that is there but unreadable, rather than leave it out', () => {
    const dir = path.join(tmp, 'unreadable');
    fs.mkdirSync(path.join(dir, 'net', 'tcp6'), { recursive: true }); // a directory: EISDIR
    fs.writeFileSync(path.join(dir, 'net', 'tcp'), readWhole('/proc/net/tcp'));
    const choice = { protos: ['tcp'] as const, families: [4, 6] as const };
    const wanted = { protos: [...choice.protos], families: [...choice.families] };
    for (const read of [
      () => readLiveSnapshot(wanted, dir, 'linux'),
      () => readSavedSnapshot(path.join(dir, 'net'), wanted),
    ]) {
      assert.throws(
        read,
        (err: unknown) =>
          isGwError(err, 'GW_ERR_CONNS_READ') &&
          err.exitCode === 1 &&
          err.message === `cannot read ${path.join(dir, 'net', 'tcp6')}: EISDIR`,
      );
    }
  });

  it('refuses a snapshot directory that does not exist, is a file, or holds no table (exit 2)', () => {
    const file = path.join(tmp, 'file');
    fs.writeFileSync(file, '');
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    for (const dir of [path.join(tmp, 'nope'), file, empty]) {
      assert.throws(
        () => readSavedSnapshot(dir, { protos: ['tcp'], families: [4] }),
        (err: unknown) => isGwError(err, 'GW_ERR_CONNS_SNAPSHOT') && err.exitCode === 2,
        dir,
      );
    }
  });

  it('parses counters, the port range and passwd, skipping what is malformed', () => {
    const counters = parseCounters(
      'TcpExt: ListenOverflows ListenDrops\nTcpExt: 5 7\nIpExt: A\nIpExt: x\n',
      'Tcp: CurrEstab\nTcp: 3\n',
    );
    assert.deepEqual(
      [...counters],
      [
        ['TcpExt.ListenOverflows', 5],
        ['TcpExt.ListenDrops', 7],
        ['Tcp.CurrEstab', 3],
      ],
    );
    assert.deepEqual(parsePortRange('32768\t60999\n'), { low: 32768, high: 60999 });
    assert.equal(parsePortRange('60999 32768'), undefined);
    assert.deepEqual(
      [...parsePasswd('root:x:0:0::/root:/bin/sh\n# c\nbad\nalice:x:1000:1000::/h:/bin/sh\n')],
      [
        [0, 'root'],
        [1000, 'alice'],
      ],
    );
  });
});
