import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tablesFromArgs } from '../../src/conns/early-reads.js';
import { connsOptions } from '../../src/conns/options.js';
import { prefetchTables, prefetchTablesEarly } from '../../src/conns/read-parallel.js';

const STATES = fileURLToPath(new URL('../../fixtures/proc/states/', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-conns-early-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('reading tables before the command line is parsed', () => {
  it('picks the same tables as the parsed options, for the flags that pick them', () => {
    const cases: [string[], Parameters<typeof connsOptions>[0]][] = [
      [[], {}],
      [['-tanp'], { tcp: true, process: true }],
      [['-u'], { udp: true }],
      [['-tu', '--summary'], { tcp: true, udp: true, summary: true }],
      [['-4', '--json'], { ipv4: true, json: true }],
      [['--ipv6', '--state', 'close-wait'], { ipv6: true, state: ['close-wait'] }],
      [['-46', '--port=443'], { ipv4: true, ipv6: true, port: ['443'] }],
      [['--udp', '--tcp', '--pid', '1', '-l'], { udp: true, tcp: true, pid: ['1'], listen: true }],
    ];
    for (const [args, flags] of cases) {
      const options = connsOptions(flags);
      assert.deepEqual(
        tablesFromArgs(args),
        { protos: options.protos, families: options.families },
        args.join(' '),
      );
    }
  });

  it('does not guess when the arguments do not say for certain', () => {
    for (const args of [
      ['--from', 'snap'],
      ['--help'],
      ['-h'],
      ['--watch', '1'],
      ['-c'],
      ['-tx'],
      ['--bogus'],
      ['stray'],
    ]) {
      assert.equal(tablesFromArgs(args), undefined, args.join(' '));
    }
  });

  it('hands an early reading over once, to the first call for the same tables', async () => {
    const root = path.join(tmp, 'proc');
    fs.mkdirSync(path.join(root, 'net'), { recursive: true });
    for (const table of ['tcp', 'tcp6']) {
      fs.copyFileSync(path.join(STATES, table), path.join(root, 'net', table));
    }
    fs.writeFileSync(
      path.join(root, 'net', 'sockstat'),
      'TCP: inuse 90000 orphan 0 tw 0 alloc 1 mem 1\n',
    );
    const both = { protos: ['tcp' as const], families: [4 as const, 6 as const] };
    prefetchTablesEarly(both, root);
    const first = prefetchTables(both, root);
    const second = prefetchTables(both, root);
    assert.ok(first && second);
    assert.notEqual(first, second, 'the early reading is handed over only once');
    assert.deepEqual(
      (await first.tables).map((t) => t.name),
      ['tcp6'],
    );
    await second.tables;
    // A different choice does not take it.
    prefetchTablesEarly(both, root);
    assert.equal(prefetchTables({ protos: ['tcp'], families: [4] }, root), undefined);
  });
});
