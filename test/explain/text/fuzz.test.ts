import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseTcpdumpText, tcpdumpTextParser } from '../../../src/explain/text/parse-tcpdump.js';
import { FLAG, type TcpPacket } from '../../../src/explain/types.js';
import { SAMPLES } from './compare.js';

/** Real lines of every form, to mutate. */
const REAL_LINES = readdirSync(SAMPLES)
  .filter((f) => f.endsWith('.txt'))
  .flatMap((f) => readFileSync(new URL(f, SAMPLES), 'utf8').split('\n').slice(0, 40));

function assertSane(packet: TcpPacket): void {
  const uint = (n: number, max: number): boolean => Number.isInteger(n) && n >= 0 && n <= max;
  assert.ok(uint(packet.index, Number.MAX_SAFE_INTEGER) && packet.index >= 1);
  assert.ok(Number.isFinite(packet.time));
  assert.ok(uint(packet.seq, 0xffffffff) && uint(packet.ack, 0xffffffff));
  assert.ok(uint(packet.win, 0xffff) && uint(packet.flags, 0xff));
  assert.ok(uint(packet.src.port, 0xffff) && uint(packet.dst.port, 0xffff));
  assert.ok(uint(packet.len, 0xffffffff));
  for (const [left, right] of packet.options.sack ?? []) {
    assert.ok(uint(left, 0xffffffff) && uint(right, 0xffffffff));
  }
}

/** Feeds lines; never throws, and the counts add up. */
function feed(lines: readonly string[]): void {
  const parser = tcpdumpTextParser('fuzz');
  let packets = 0;
  lines.forEach((line, i) => {
    const packet = parser.line(line, i + 1);
    if (packet !== undefined) {
      assertSane(packet);
      packets++;
    }
  });
  parser.finish();
  const { stats } = parser;
  assert.equal(stats.lines, lines.length);
  assert.equal(stats.tcp, packets);
  assert.ok(stats.frames >= stats.tcp);
}

const mutation: fc.Arbitrary<MutationValue> = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), length: fc.nat(40) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string() }),
  fc.record({
    kind: fc.constant('token' as const),
    at: fc.nat(),
    text: fc.constantFrom(
      '4294967296',
      '99999999999999999999',
      '-1',
      '[',
      ']',
      ', ',
      ': Flags [',
      ' > ',
      '{',
      ':',
      '[len 3]',
      '[|tcp]',
      'IP6 ',
      '\t',
      '\r',
      '  ',
    ),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(line: string, m: MutationValue): string {
  const at = line.length === 0 ? 0 : m.at % (line.length + 1);
  switch (m.kind) {
    case 'cut':
      return line.slice(0, at) + line.slice(at + m.length);
    case 'insert':
    case 'token':
      return line.slice(0, at) + m.text + line.slice(at);
    case 'truncate':
      return line.slice(0, at);
  }
}

type MutationValue =
  | { kind: 'cut'; at: number; length: number }
  | { kind: 'insert' | 'token'; at: number; text: string }
  | { kind: 'truncate'; at: number };

describe('tcpdump text: fuzzing', () => {
  it('counts a -# numbered line after an unnumbered one as a frame of its own (found by fuzzing)', () => {
    feed([
      '07:11:55.715310 IP 127.0.0.1.52306 > 127.0.0.1.80: Flags [S], seq 4047285080, win 65495, length 0',
      '    1  07:12:06.769381 IP 127.0.0.1.37054 > 127.0.0.1.9000: Flags [S], seq 2868310396, win 65495, length 0',
    ]);
  });

  it('never throws on random lines', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })),
        ),
        feed,
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on mutated real lines, and what it returns is in range', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...REAL_LINES), fc.array(mutation, { maxLength: 4 })), {
          maxLength: 30,
        }),
        (cases) => feed(cases.map(([line, mutations]) => mutations.reduce<string>(mutate, line))),
      ),
      { numRuns: 500 },
    );
  });

  it('finishes a hostile 1 MB line in linear time (no backtracking)', () => {
    const line = `1.5 IP 1.1.1.1.1 > 2.2.2.2.2: Flags [S], ${'options [['.repeat(50_000)}${', cksum x'.repeat(50_000)}`;
    feed([line, `1.6 ${'IP '.repeat(200_000)}`, ` ${'0'.repeat(500_000)}`]);
  });
});

/**
 * A model of how tcpdump prints sequence numbers (print-tcp.c, tcp_print:
 * the tcp_seq_hash table with its collating order), to check the parser
 * against on random conversations.
 */
function printLikeTcpdump(segments: readonly Segment[], absolute: boolean): string[] {
  const table = new Map<string, { seq: number; ack: number }>();
  return segments.map((s, i) => {
    const [sport, dport] = [s.fromClient ? s.clientPort : 80, s.fromClient ? 80 : s.clientPort];
    const [src, dst] = s.fromClient ? ['10.0.0.1', '10.0.0.2'] : ['10.0.0.2', '10.0.0.1'];
    const rev = sport > dport || (sport === dport && src > dst);
    const key = rev ? `${dst}.${dport}-${src}.${sport}` : `${src}.${sport}-${dst}.${dport}`;
    let seq = s.seq;
    let ack = s.ack;
    let thseq = 0;
    let thack = 0;
    if (!absolute && (s.flags & FLAG.ACK) !== 0) {
      let th = table.get(key);
      if (th === undefined || (s.flags & FLAG.SYN) !== 0) {
        th = rev ? { ack: seq, seq: (ack - 1) >>> 0 } : { seq, ack: (ack - 1) >>> 0 };
        table.set(key, th);
      } else if (rev) {
        seq = (seq - th.ack) >>> 0;
        ack = (ack - th.seq) >>> 0;
      } else {
        seq = (seq - th.seq) >>> 0;
        ack = (ack - th.ack) >>> 0;
      }
      thseq = th.seq;
      thack = th.ack;
    }
    const base = rev ? thseq : thack;
    const sack = s.sack.map(([l, r]) => `{${(l - base) >>> 0}:${(r - base) >>> 0}}`).join('');
    const letters = FLAG_LETTERS.filter((_, bit) => (s.flags & (1 << bit)) !== 0).join('');
    return (
      `${i + 1}.000000 IP ${src}.${sport} > ${dst}.${dport}: Flags [${letters || 'none'}]` +
      `, seq ${seq}${s.len > 0 ? `:${(seq + s.len) >>> 0}` : ''}` +
      ((s.flags & FLAG.ACK) !== 0 ? `, ack ${ack}` : '') +
      `, win 512` +
      (s.sack.length > 0 ? `, options [nop,nop,sack ${s.sack.length} ${sack}]` : '') +
      `, length ${s.len}`
    );
  });
}

/** tcpdump's flag letters, bit 0 (FIN) first. */
const FLAG_LETTERS = ['F', 'S', 'R', 'P', '.', 'U', 'E', 'W'];

interface Segment {
  fromClient: boolean;
  clientPort: number;
  flags: number;
  seq: number;
  ack: number;
  len: number;
  sack: [number, number][];
}

const uint32 = fc.nat({ max: 0xffffffff });
const segment: fc.Arbitrary<Segment> = fc.record({
  fromClient: fc.boolean(),
  // two port pairs, one on either side of 80 (tcpdump collates by port)
  clientPort: fc.constantFrom(40000, 79),
  flags: fc.oneof(
    fc.constantFrom(FLAG.SYN, FLAG.SYN | FLAG.ACK, FLAG.ACK, FLAG.ACK | FLAG.PSH, FLAG.RST),
    fc.nat({ max: 0xff }),
  ),
  seq: uint32,
  ack: uint32,
  len: fc.nat({ max: 3000 }),
  sack: fc.array(fc.tuple(uint32, uint32), { maxLength: 3 }),
});

describe('tcpdump text: sequence numbers against a model of tcpdump', () => {
  for (const absolute of [false, true]) {
    it(`recovers every printed number of random conversations (${absolute ? '-S' : 'relative'}, -vv)`, () => {
      fc.assert(
        fc.property(fc.array(segment, { minLength: 1, maxLength: 40 }), (segments) => {
          const text = printLikeTcpdump(segments, absolute).join('\n');
          const { packets } = parseTcpdumpText(text, 'model', {
            sequenceNumbers: absolute ? 'absolute' : 'relative',
          });
          assert.deepEqual(
            packets.map((p) => [
              p.seq,
              (p.flags & FLAG.ACK) !== 0 ? p.ack : 0,
              p.options.sack ?? [],
            ]),
            segments.map((s) => [s.seq, (s.flags & FLAG.ACK) !== 0 ? s.ack : 0, s.sack]),
          );
        }),
        { numRuns: 300 },
      );
    });
  }
});
