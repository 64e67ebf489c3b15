import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parseProcNet, scanProcNet } from '../../src/conns/parse-proc-net.js';
import { socketsJson } from '../../src/conns/render-json.js';
import { STATES } from '../../src/conns/states.js';
import { summarize, SummaryBuilder } from '../../src/conns/summary.js';
import type { ConnSocket } from '../../src/conns/types.js';

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');
const CODES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/** One /proc/net/tcp line as the kernel prints it (get_tcp4_sock / tcp6). */
const line = (family: 4 | 6) =>
  fc
    .record({
      sl: fc.nat({ max: 99999 }),
      local: fc.array(fc.nat({ max: 0xffffffff }), {
        minLength: family === 4 ? 1 : 4,
        maxLength: family === 4 ? 1 : 4,
      }),
      remote: fc.array(fc.nat({ max: 0xffffffff }), {
        minLength: family === 4 ? 1 : 4,
        maxLength: family === 4 ? 1 : 4,
      }),
      lport: fc.nat({ max: 65535 }),
      rport: fc.nat({ max: 65535 }),
      st: fc.constantFrom(...CODES),
      tx: fc.nat({ max: 0xffffffff }),
      rx: fc.nat({ max: 0xffffffff }),
      tr: fc.nat({ max: 4 }),
      when: fc.nat({ max: 0xffffffff }),
      retr: fc.nat({ max: 0xff }),
      uid: fc.nat({ max: 70000 }),
      probes: fc.nat({ max: 255 }),
      inode: fc.nat({ max: 2 ** 40 }),
    })
    .map((r) => {
      const addr = (words: number[]) => words.map((w) => hex(w, 8)).join('');
      return (
        `${String(r.sl).padStart(4)}: ${addr(r.local)}:${hex(r.lport, 4)} ${addr(r.remote)}:${hex(r.rport, 4)} ` +
        `${hex(r.st, 2)} ${hex(r.tx, 8)}:${hex(r.rx, 8)} ${hex(r.tr, 2)}:${hex(r.when, 8)} ${hex(r.retr, 8)} ` +
        `${String(r.uid).padStart(5)} ${String(r.probes).padStart(8)} ${r.inode} 1 0000000000000000 20 4 0 10 -1`
      );
    });

/** The same line with its single spaces widened: still valid, but off the fixed layout. */
function respaced(text: string, seed: number): string {
  let i = seed;
  return text.replace(/ /g, () => ' '.repeat(1 + (i++ % 3)));
}

function table(lines: readonly string[]): string {
  return [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    ...lines,
  ].join('\n');
}

describe('fast paths agree with the plain ones (property)', () => {
  for (const family of [4, 6] as const) {
    it(`IPv${family}: the fixed-layout reader and the general tokeniser parse every line alike`, () => {
      fc.assert(
        fc.property(
          fc.array(line(family), { minLength: 1, maxLength: 20 }),
          fc.nat(),
          (lines, seed) => {
            const fast = parseProcNet(table(lines), 'tcp', family);
            const slow = parseProcNet(table(lines.map((l) => respaced(l, seed))), 'tcp', family);
            assert.deepEqual(fast.malformed, []);
            assert.deepEqual(slow.malformed, []);
            assert.deepEqual(fast.sockets, slow.sockets);
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  it('the summary counted by state alone equals the summary over every parsed socket', () => {
    fc.assert(
      fc.property(
        fc.array(line(4), { maxLength: 60 }),
        fc.array(line(6), { maxLength: 60 }),
        (v4, v6) => {
          const texts = [
            [table(v4), 4],
            [table(v6), 6],
          ] as const;
          const all = texts.flatMap(([text, family]) => parseProcNet(text, 'tcp', family).sockets);
          const builder = new SummaryBuilder();
          for (const [text, family] of texts) {
            scanProcNet(text, 'tcp', family, (s) => builder.add(s), {
              decide: (state) => (SummaryBuilder.needs(state) ? 'parse' : 'count'),
              count: (state) => builder.count(state, 'tcp', family),
            });
          }
          assert.deepEqual(builder.finish(), summarize(all));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the summary fast path also agrees on the committed snapshots', () => {
    for (const dir of ['states', 'pileups']) {
      const read = (name: string) =>
        fs.readFileSync(
          fileURLToPath(new URL(`../../fixtures/proc/${dir}/${name}`, import.meta.url)),
          'latin1',
        );
      const texts = [
        [read('tcp'), 4],
        [read('tcp6'), 6],
      ] as const;
      const builder = new SummaryBuilder();
      const all: ConnSocket[] = [];
      for (const [text, family] of texts) {
        all.push(...parseProcNet(text, 'tcp', family).sockets);
        scanProcNet(text, 'tcp', family, (s) => builder.add(s), {
          decide: (state) => (SummaryBuilder.needs(state) ? 'parse' : 'count'),
          count: (state) => builder.count(state, 'tcp', family),
        });
      }
      assert.deepEqual(builder.finish(new Set([40000])), summarize(all, new Set([40000])), dir);
    }
  });

  it('writes JSON byte by byte that parses back to exactly the sockets', () => {
    const name = fc.string({ unit: 'binary', maxLength: 12 });
    const socket: fc.Arbitrary<ConnSocket> = fc
      .record({
        proto: fc.constantFrom('tcp' as const, 'udp' as const),
        family: fc.constantFrom(4 as const, 6 as const),
        state: fc.constantFrom(...STATES),
        local: fc.record({
          address: fc.constantFrom('127.0.0.1', '::1', '::ffff:10.0.0.1'),
          port: fc.nat({ max: 65535 }),
        }),
        remote: fc.record({
          address: fc.constantFrom('0.0.0.0', '::', '192.168.1.20'),
          port: fc.nat({ max: 65535 }),
        }),
        recvQ: fc.nat({ max: 2 ** 32 }),
        sendQ: fc.nat({ max: 2 ** 32 }),
        timer: fc.option(
          fc.record({
            kind: fc.constantFrom(
              'on' as const,
              'keepalive' as const,
              'timewait' as const,
              'probe' as const,
            ),
            remainingMs: fc.nat({ max: 2 ** 40 }),
          }),
          { nil: null },
        ),
        retransmits: fc.nat({ max: 255 }),
        probes: fc.nat({ max: 255 }),
        uid: fc.nat({ max: 2 ** 32 }),
        inode: fc.nat({ max: 2 ** 48 }),
        user: fc.option(name, { nil: undefined }),
        owners: fc.option(
          fc.array(
            fc.record({
              pid: fc.nat({ max: 4194304 }),
              process: name,
              fd: fc.nat({ max: 1 << 20 }),
            }),
            { minLength: 1, maxLength: 3 },
          ),
          { nil: undefined },
        ),
      })
      .map(({ user, owners, ...rest }) => {
        const s: ConnSocket = { ...rest };
        if (user !== undefined) s.user = user;
        if (owners !== undefined) {
          s.owners = owners;
          s.pid = owners[0]?.pid ?? 0;
          s.process = owners[0]?.process ?? '';
        }
        return s;
      });
    fc.assert(
      fc.property(fc.array(socket, { maxLength: 30 }), (sockets) => {
        const expected = sockets.map((s) => JSON.parse(JSON.stringify(s)) as unknown);
        assert.deepEqual(JSON.parse(socketsJson(sockets)), expected);
      }),
      { numRuns: 300 },
    );
  });
});
