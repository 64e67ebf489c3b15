import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseTcpdumpText } from '../../../src/explain/text/parse-tcpdump.js';
import type { TcpPacket } from '../../../src/explain/types.js';
import { SAMPLES, comparable, dateOf, differences, readPcap, type Comparison } from './compare.js';

const FIXTURES = new URL('../../../fixtures/captures/', import.meta.url);

/** Captures that start with a bare ACK: tcpdump based that side on a seq it never printed. */
const BARE_ACK_FIRST = new Set(['midstream-ack', 'midstream-sack']);

function parseFile(file: URL, first: TcpPacket | undefined): ReturnType<typeof parseTcpdumpText> {
  return parseTcpdumpText(readFileSync(file, 'utf8'), file.pathname, { date: dateOf(first) });
}

/** samples/NAME.FORM.txt: all printed with -n but `names` and `e-names`. */
function sampleComparison(form: string): Comparison {
  const time = ['t', 'numbered-t'].includes(form)
    ? 'none'
    : ['ttt', 'ttttt'].includes(form)
      ? 'relative'
      : 'absolute';
  return { time, portsOnly: form.includes('names') };
}

/** fixtures/captures/NAME.tcpdump[FLAGS].txt, FLAGS like `-S-nn` or `-ttt-nn`. */
function fixtureComparison(flags: string): Comparison {
  const time = flags.startsWith('-t-')
    ? 'none'
    : /^-(ttt|ttttt)-/.test(flags)
      ? 'relative'
      : 'absolute';
  return { time, portsOnly: !flags.includes('-n') };
}

/**
 * For a capture whose first packet is a bare ACK: the text gives that side's
 * numbers shifted by one constant (the seq nobody printed) and all else right.
 */
function assertShiftedConsistently(expected: TcpPacket[], actual: TcpPacket[]): void {
  const side = expected[0]?.src;
  assert.ok(side !== undefined);
  const shifts = new Set<number>();
  const same = (a: { address: string; port: number }): boolean =>
    a.address === side.address && a.port === side.port;
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => {
    const e = expected[i];
    assert.ok(e !== undefined);
    if (same(e.src)) shifts.add((e.seq - a.seq) >>> 0);
    else if ((e.flags & 0x10) !== 0) shifts.add((e.ack - a.ack) >>> 0);
    const strip = (p: TcpPacket): object => ({ ...comparable(p), seq: 0, ack: 0 });
    assert.deepEqual(strip(a), strip(e), `packet ${e.index} differs beyond the shift`);
  });
  assert.equal(shifts.size, 1, `one shift, not ${[...shifts].join(', ')}`);
}

describe('tcpdump text gives the packets the pcap reader gives', () => {
  const samples = readdirSync(SAMPLES).filter((f) => f.endsWith('.txt'));
  for (const file of samples.sort()) {
    const [name = '', form = ''] = file.split('.');
    it(`reads samples/${file} as samples/${name}.pcap`, async () => {
      const expected = await readPcap(new URL(`${name}.pcap`, SAMPLES));
      const { packets, stats } = parseFile(new URL(file, SAMPLES), expected[0]);
      if (form === 'q') {
        // tcpdump -q prints no flags or numbers: nothing to analyse, all counted
        assert.equal(packets.length, 0);
        assert.equal(stats.skipped.get('TCP without details (tcpdump -q)'), expected.length);
        return;
      }
      const found = differences(expected, packets, sampleComparison(form));
      if (BARE_ACK_FIRST.has(name) && form === 'S') {
        assert.equal(found.length, 1, found.join('\n'));
        assert.match(found[0] ?? '', /^#1\n/);
      } else if (BARE_ACK_FIRST.has(name) && form === 'n') {
        assertShiftedConsistently(expected, packets);
      } else {
        assert.deepEqual(found, []);
      }
      if (name.startsWith('veth-any') || name.startsWith('ipv6-any') || form === 'e') {
        for (const [i, packet] of packets.entries()) {
          if (packet.direction === undefined) continue;
          assert.equal(packet.direction, expected[i]?.direction, `direction of #${packet.index}`);
        }
      }
    });
  }

  it('reads the -n and the -S -n renderings of each sample alike', () => {
    const pcaps = readdirSync(SAMPLES).filter((f) => f.endsWith('.pcap'));
    for (const pcap of pcaps) {
      const name = pcap.replace('.pcap', '');
      if (BARE_ACK_FIRST.has(name)) continue;
      const relative = parseFile(new URL(`${name}.n.txt`, SAMPLES), undefined).packets;
      const absolute = parseFile(new URL(`${name}.S.txt`, SAMPLES), undefined).packets;
      assert.ok(relative.length > 0, name);
      assert.deepEqual(
        relative.map((p) => [p.seq, p.ack, p.options.sack]),
        absolute.map((p) => [p.seq, p.ack, p.options.sack]),
        name,
      );
    }
  });

  const fixtures = existsSync(FIXTURES)
    ? readdirSync(FIXTURES).filter((f) => /\.tcpdump.*\.txt$/.test(f))
    : [];
  it(`reads every tcpdump rendering of fixtures/captures as its pcap (${fixtures.length} files)`, async () => {
    const failures: string[] = [];
    for (const file of fixtures.sort()) {
      const [name = '', flags = ''] = file.replace(/\.txt$/, '').split('.tcpdump');
      const expected = await readPcap(new URL(`${name}.pcap`, FIXTURES));
      const { packets } = parseFile(new URL(file, FIXTURES), expected[0]);
      const found = differences(expected, packets, fixtureComparison(flags));
      if (found.length > 0) failures.push(`${file}:\n${found.slice(0, 3).join('\n')}`);
    }
    assert.deepEqual(failures, []);
  });
});
