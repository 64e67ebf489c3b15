import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { endpointText, remoteText } from '../../src/conns/endpoint-text.js';
import { parseProcNet, scanProcNet } from '../../src/conns/parse-proc-net.js';
import { stateFromSsName } from '../../src/conns/states.js';
import type { ConnSocket } from '../../src/conns/types.js';
import { parseNetstat, parseSs, type SsRow } from './helpers/ss-output.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/proc/', import.meta.url));

function read(dir: string, name: string): string {
  return fs.readFileSync(`${FIXTURES}${dir}/${name}`, 'latin1');
}

function parseFixture(dir: string): ConnSocket[] {
  const tables = [
    ['tcp', 'tcp', 4],
    ['tcp6', 'tcp', 6],
    ['udp', 'udp', 4],
    ['udp6', 'udp', 6],
  ] as const;
  return tables.flatMap(([file, proto, family]) => {
    const parsed = parseProcNet(read(dir, file), proto, family);
    assert.deepEqual(parsed.malformed, [], `${dir}/${file} parses without malformed lines`);
    return parsed.sockets;
  });
}

const key = (netid: string, local: string, remote: string) => `${netid} ${local} ${remote}`;

const SS_TIMER: Readonly<Record<string, string>> = { persist: 'probe' };

/** What ss printed and what gw parsed, for every socket, matched by protocol and endpoints. */
function matchWithSs(dir: string): { gw: ConnSocket; ss: SsRow }[] {
  const ss = new Map(parseSs(read(dir, 'ss.txt')).map((r) => [key(r.netid, r.local, r.remote), r]));
  const gw = parseFixture(dir);
  assert.equal(gw.length, ss.size, 'the same number of sockets as ss');
  return gw.map((s) => {
    const row = ss.get(key(s.proto, endpointText(s.local), remoteText(s)));
    assert.ok(row, `ss lists ${s.proto} ${endpointText(s.local)} ${remoteText(s)}`);
    return { gw: s, ss: row };
  });
}

describe('parseProcNet over /proc snapshots (fixtures/proc, with ss and netstat taken at the same moment)', () => {
  for (const dir of ['states', 'pileups']) {
    it(`${dir}: every socket ss listed, in the same state, with the same queues and inode`, () => {
      for (const { gw, ss } of matchWithSs(dir)) {
        const what = `${gw.proto} ${endpointText(gw.local)} ${remoteText(gw)}`;
        assert.equal(gw.state, ss.state === 'UNCONN' ? 'CLOSE' : stateFromSsName(ss.state), what);
        assert.equal(gw.recvQ, ss.recvQ, `${what} Recv-Q`);
        // A listener's Send-Q in ss is its backlog, which /proc does not hold.
        if (gw.state !== 'LISTEN') assert.equal(gw.sendQ, ss.sendQ, `${what} Send-Q`);
        assert.equal(gw.inode, ss.inode ?? 0, `${what} inode`);
      }
    });

    it(`${dir}: every timer of the same kind as ss's, with the same retransmission or probe count`, () => {
      for (const { gw, ss } of matchWithSs(dir)) {
        const what = `${gw.proto} ${endpointText(gw.local)} ${remoteText(gw)}`;
        const ssKind = ss.timer === undefined ? null : (SS_TIMER[ss.timer.kind] ?? ss.timer.kind);
        assert.equal(gw.timer?.kind ?? null, ssKind, `${what} timer`);
        if (gw.timer?.kind === 'on')
          assert.equal(gw.retransmits, ss.timer?.count, `${what} retransmits`);
        if (gw.timer?.kind === 'probe') assert.equal(gw.probes, ss.timer?.count, `${what} probes`);
      }
    });
  }

  it('states: holds every TCP state over IPv4 and IPv6, IPv4-mapped addresses, UDP, and every timer kind', () => {
    const sockets = parseFixture('states');
    const states = (family: 4 | 6) =>
      new Set(sockets.filter((s) => s.proto === 'tcp' && s.family === family).map((s) => s.state));
    const all = [
      'LISTEN',
      'SYN_SENT',
      'SYN_RECV',
      'ESTABLISHED',
      'FIN_WAIT1',
      'FIN_WAIT2',
      'CLOSING',
      'TIME_WAIT',
      'CLOSE_WAIT',
      'LAST_ACK',
    ];
    assert.deepEqual([...states(4)].sort(), [...all].sort());
    assert.deepEqual([...states(6)].sort(), [...all].sort());
    assert.ok(
      sockets.some((s) => s.local.address === '::ffff:127.0.0.1' && s.state === 'ESTABLISHED'),
    );
    assert.deepEqual(
      [...new Set(sockets.map((s) => s.timer?.kind).filter((k) => k !== undefined))].sort(),
      ['keepalive', 'on', 'probe', 'timewait'],
    );
    assert.deepEqual(
      sockets
        .filter((s) => s.proto === 'udp')
        .map((s) => `${s.family} ${s.state}`)
        .sort(),
      ['4 CLOSE', '4 ESTABLISHED', '6 CLOSE', '6 CLOSE', '6 ESTABLISHED'],
    );
  });

  it('names the timers as netstat -o does (on, keepalive, timewait, probe)', () => {
    for (const dir of ['states', 'pileups']) {
      const netstat = parseNetstat(read(dir, 'netstat.txt'))
        .map((r) => `${r.proto} ${r.state || 'UNCONN'} ${r.timer}`)
        .sort();
      const gw = parseFixture(dir)
        .map(
          (s) =>
            `${s.proto}${s.family === 6 ? '6' : ''} ${s.proto === 'udp' && s.state === 'CLOSE' ? 'UNCONN' : s.state} ${s.timer?.kind ?? 'off'}`,
        )
        .sort();
      assert.deepEqual(gw, netstat, dir);
    }
  });

  it('decodes addresses as 32-bit words in host order: IPv4, IPv6 and IPv4-mapped', () => {
    const text = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0000000000000000FFFF00000100007F:B47B 0000000000000000FFFF00000200A8C0:0050 01 00000000:00000000 00:00000000 00000000  1000        0 148132 1 0000000000000000 20 0 0 10 -1',
      '   1: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000005 00:00000000 00000000     0        0 9 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    const [mapped, doc] = parseProcNet(text, 'tcp', 6).sockets;
    assert.deepEqual(
      [mapped?.local, mapped?.remote],
      [
        { address: '::ffff:127.0.0.1', port: 46203 },
        { address: '::ffff:192.168.0.2', port: 80 },
      ],
    );
    assert.equal(mapped?.uid, 1000);
    assert.deepEqual(
      [doc?.local, doc?.remote, doc?.state, doc?.recvQ],
      [{ address: '2001:db8::1', port: 443 }, { address: '::', port: 0 }, 'LISTEN', 5],
    );
    const v4 = parseProcNet(
      '   0: 0100007F:908B 0A01A8C0:0016 01 00000010:00000020 01:00000014 00000003     0        0 7 1',
      'tcp',
      4,
    );
    const first = v4.sockets[0];
    assert.ok(first);
    assert.deepEqual(first.local, { address: '127.0.0.1', port: 0x908b });
    assert.deepEqual(first.remote, { address: '192.168.1.10', port: 22 });
    assert.deepEqual(
      [first.sendQ, first.recvQ, first.timer, first.retransmits],
      [16, 32, { kind: 'on', remainingMs: 200 }, 3],
    );
  });

  it('reads the short lines of TIME_WAIT and SYN_RECV minisockets and UDP lines with a drops column', () => {
    const tcp = [
      '   8: 0100007F:B5B0 0100007F:908B 06 00000000:00000000 03:000016D3 00000000     0        0 0 3 00000000f85bb6ba',
      '   1: 0100007F:115C 0100007F:81BC 03 00000000:00000000 01:00000032 00000002     0        0 0 0 0000000022e9d9f8',
    ].join('\n');
    const [tw, sr] = parseProcNet(tcp, 'tcp', 4).sockets;
    assert.deepEqual(
      [tw?.state, tw?.timer, tw?.inode],
      ['TIME_WAIT', { kind: 'timewait', remainingMs: 58430 }, 0],
    );
    assert.deepEqual([sr?.state, sr?.timer?.kind, sr?.retransmits], ['SYN_RECV', 'on', 2]);
    const udp = parseProcNet(
      '  879: 0100007F:B0DC 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 148158 2 00000000dcf6e4ea 17',
      'udp',
      4,
    );
    assert.deepEqual(
      [udp.sockets[0]?.state, udp.sockets[0]?.local.port, udp.malformed],
      ['CLOSE', 45276, []],
    );
  });

  it('reads a timer that is already due (a negative 64-bit value) as 0 ms left', () => {
    const line =
      '   0: 0100007F:908B 0100007F:0016 01 00000000:00000000 01:FFFFFFFFFFFFFFF6 00000000     0        0 7 1';
    assert.deepEqual(parseProcNet(line, 'tcp', 4).sockets[0]?.timer, {
      kind: 'on',
      remainingMs: 0,
    });
  });

  it('counts malformed lines with their number and reason instead of dropping them silently, and keeps the rest', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:908B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
      '   1: 0100007Z:908B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1',
      '   2: 0100007F:908B',
      '',
      '   3: 0100007F:908B 00000000:0000 0A 00000000:00000000 09:00000000 00000000     0        0 4 1',
      '   4: 0100007F:908B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1',
    ].join('\n');
    const { sockets, malformed } = parseProcNet(text, 'tcp', 4);
    assert.deepEqual(
      sockets.map((s) => s.inode),
      [1, 5],
    );
    assert.deepEqual(
      malformed.map((m) => m.line),
      [3, 4, 6],
    );
    assert.match(malformed[0]?.reason ?? '', /bad address 0100007Z/);
    assert.match(malformed[1]?.reason ?? '', /expected at least 10 fields/);
    assert.match(malformed[2]?.reason ?? '', /unknown timer kind 9/);

    // The same table in pieces of whole lines (as a growing copy hands it over), one position:
    // the same sockets, the same line numbers, and the header only recognised as the first line.
    const lines = text.split('\n');
    const pieces = [lines.slice(0, 2), lines.slice(2, 5), lines.slice(5)].map(
      (p) => `${p.join('\n')}\n`,
    );
    const position = { line: 0 };
    const inodes: number[] = [];
    const bad = pieces.flatMap((piece) =>
      scanProcNet(piece, 'tcp', 4, (s) => inodes.push(s.inode), undefined, position),
    );
    assert.deepEqual(inodes, [1, 5]);
    assert.deepEqual(
      bad.map((m) => m.line),
      [3, 4, 6],
    );
    assert.equal(position.line, 7);
  });

  it('refuses a negative queue, a long retransmit count and a port above 65535 as malformed', () => {
    const text = [
      '   0: 0100007F:908B 00000000:0000 0A 00000000:FFFFFFFFFFFFFFFF 00:00000000 00000000     0        0 1 1',
      '   1: 0100007F:908B 00000000:0000 0A 00000000:00000000 00:00000000 FFFFFFFFFFFFFFFF     0        0 2 1',
      '   2: 0100007F:FFFFFF 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1',
      '   3: 0100007F:908B 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1',
    ].join('\n');
    const { sockets, malformed } = parseProcNet(text, 'tcp', 4);
    assert.deepEqual(
      sockets.map((s) => s.inode),
      [4],
    );
    assert.deepEqual(
      malformed.map((m) => m.reason.split(' ').slice(0, 2).join(' ')),
      ['bad queues', 'bad retransmits', 'bad port'],
    );
  });

  it('rejects an IPv6 address in an IPv4 table and keeps a file without its header line', () => {
    const v6line =
      '   0: 00000000000000000000000001000000:115C 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1';
    assert.equal(parseProcNet(v6line, 'tcp', 4).malformed.length, 1);
    assert.equal(parseProcNet(v6line, 'tcp', 6).sockets.length, 1);
  });
});
