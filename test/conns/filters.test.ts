import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePorts, socketFilter } from '../../src/conns/filters.js';
import { connsOptions } from '../../src/conns/options.js';
import { isGwError } from '../../src/shared/errors.js';
import { sock } from './helpers/make-socket.js';

const SOCKETS = [
  sock('LISTEN', '0.0.0.0:22', '0.0.0.0:0'),
  sock('ESTABLISHED', '10.0.0.5:22', '192.168.1.9:50000'),
  sock('ESTABLISHED', '10.0.0.5:40000', '10.0.0.7:5432', {
    owners: [{ pid: 77, process: 'app', fd: 9 }],
    pid: 77,
    process: 'app',
  }),
  sock('CLOSE_WAIT', '10.0.0.5:40001', '10.0.0.7:5432'),
  sock('TIME_WAIT', '::ffff:10.0.0.5:8080', '::ffff:172.16.0.3:61000', { inode: 0 }),
  sock('LISTEN', '::1:8080', ':::0'),
  { ...sock('CLOSE', '127.0.0.1:53', '0.0.0.0:0'), proto: 'udp' as const },
];

function pick(flags: Parameters<typeof connsOptions>[0]): string[] {
  const options = connsOptions(flags);
  return SOCKETS.filter(socketFilter(options.filter)).map(
    (s) => `${s.state} ${s.local.address}:${s.local.port}`,
  );
}

describe('gw conns filters', () => {
  it('--port matches either side, --sport the local and --dport the remote port', () => {
    assert.deepEqual(pick({ port: ['22'] }), ['LISTEN 0.0.0.0:22', 'ESTABLISHED 10.0.0.5:22']);
    assert.deepEqual(pick({ port: ['5432'] }), [
      'ESTABLISHED 10.0.0.5:40000',
      'CLOSE_WAIT 10.0.0.5:40001',
    ]);
    assert.deepEqual(pick({ sport: ['5432'] }), []);
    assert.deepEqual(pick({ dport: ['5432,61000'] }), [
      'ESTABLISHED 10.0.0.5:40000',
      'CLOSE_WAIT 10.0.0.5:40001',
      'TIME_WAIT ::ffff:10.0.0.5:8080',
    ]);
    assert.deepEqual(pick({ sport: ['40000-40001'] }), [
      'ESTABLISHED 10.0.0.5:40000',
      'CLOSE_WAIT 10.0.0.5:40001',
    ]);
  });

  it('--local and --remote take addresses and CIDR blocks; an IPv4 block matches IPv4-mapped peers', () => {
    assert.deepEqual(pick({ remote: ['10.0.0.0/24'] }), [
      'ESTABLISHED 10.0.0.5:40000',
      'CLOSE_WAIT 10.0.0.5:40001',
    ]);
    assert.deepEqual(pick({ remote: ['172.16.0.0/12'] }), ['TIME_WAIT ::ffff:10.0.0.5:8080']);
    assert.deepEqual(pick({ local: ['::1'] }), ['LISTEN ::1:8080']);
  });

  it('--state, --listen (LISTEN and unconnected UDP), -4/-6 and --pid combine as AND', () => {
    assert.deepEqual(pick({ state: ['synchronized'], port: ['5432'] }), [
      'ESTABLISHED 10.0.0.5:40000',
      'CLOSE_WAIT 10.0.0.5:40001',
    ]);
    assert.deepEqual(pick({ listen: true }), [
      'LISTEN 0.0.0.0:22',
      'LISTEN ::1:8080',
      'CLOSE 127.0.0.1:53',
    ]);
    assert.deepEqual(pick({ ipv6: true }), ['TIME_WAIT ::ffff:10.0.0.5:8080', 'LISTEN ::1:8080']);
    assert.deepEqual(pick({ ipv4: true, state: ['listen'] }), ['LISTEN 0.0.0.0:22']);
    assert.deepEqual(pick({ pid: ['77'] }), ['ESTABLISHED 10.0.0.5:40000']);
  });

  it('refuses bad ports, ranges, addresses and pids with exit 2 naming the flag', () => {
    const bad: Parameters<typeof connsOptions>[0][] = [
      { port: ['http'] },
      { port: ['70000'] },
      { sport: ['9-1'] },
      { remote: ['10.0.0.0/40'] },
      { local: ['example.com'] },
      { pid: ['0'] },
      { watch: '0' },
      { pileup: '0' },
      { lang: 'fr' },
    ];
    for (const flags of bad) {
      assert.throws(
        () => connsOptions(flags),
        (err: unknown) => isGwError(err, 'GW_ERR_INVALID_ARGUMENT') && err.exitCode === 2,
        JSON.stringify(flags),
      );
    }
  });

  it('refuses combinations that cannot work: -p, --pid or --watch with --from, --listen with --state, --count without --watch', () => {
    for (const flags of [
      { from: 'x', process: true },
      { from: 'x', pid: ['1'] },
      { from: 'x', watch: true },
      { listen: true, state: ['established'] },
      { count: '3' },
    ]) {
      assert.throws(
        () => connsOptions(flags),
        (err: unknown) => isGwError(err, 'GW_ERR_USAGE') && err.exitCode === 2,
      );
    }
  });

  it('parses port lists and ranges', () => {
    assert.deepEqual(parsePorts('--port', ['80,443', '8000-8100']), [
      { low: 80, high: 80 },
      { low: 443, high: 443 },
      { low: 8000, high: 8100 },
    ]);
  });

  it('chooses protocols and families like ss: TCP by default, -u alone for UDP, -tu for both; --pid implies -p; -c watches', () => {
    assert.deepEqual(connsOptions({}).protos, ['tcp']);
    assert.deepEqual(connsOptions({ udp: true }).protos, ['udp']);
    assert.deepEqual(connsOptions({ udp: true, tcp: true }).protos, ['tcp', 'udp']);
    assert.deepEqual(connsOptions({ ipv4: true, ipv6: true }).families, [4, 6]);
    assert.equal(connsOptions({ pid: ['5'] }).processes, true);
    assert.equal(connsOptions({ watch: true }).watchMs, 2000);
    assert.equal(connsOptions({ watch: '0.5' }).watchMs, 500);
    assert.equal(
      connsOptions({ continuous: true }).watchMs,
      1000,
      '-c is netstat -c: every second',
    );
  });
});
