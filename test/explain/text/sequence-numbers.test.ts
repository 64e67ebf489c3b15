import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTcpdumpText } from '../../../src/explain/text/parse-tcpdump.js';
import type { TextParserOptions } from '../../../src/explain/text/parse-tcpdump.js';

function numbers(text: string, options: TextParserOptions = {}): [number, number][] {
  return parseTcpdumpText(text, 'test.txt', options).packets.map((p) => [p.seq, p.ack]);
}

const C = '10.0.0.1.40000';
const S = '10.0.0.2.80';
const line = (n: number, from: string, to: string, rest: string): string =>
  `${n}.000000 IP ${from} > ${to}: Flags ${rest}`;

/** A handshake, a request and its answer; tcpdump's relative rendering. */
const RELATIVE = [
  line(1, C, S, '[S], seq 4294967000, win 64240, length 0'),
  line(2, S, C, '[S.], seq 1000, ack 4294967001, win 65160, length 0'),
  line(3, C, S, '[.], ack 1, win 502, length 0'),
  line(4, C, S, '[P.], seq 1:501, ack 1, win 502, length 500'),
  line(5, S, C, '[.], ack 501, win 507, length 0'),
  line(6, S, C, '[F.], seq 1, ack 501, win 507, length 0'),
  line(7, C, S, '[F.], seq 501, ack 2, win 502, length 0'),
  line(8, S, C, '[.], ack 502, win 507, length 0'),
].join('\n');

/** The same segments as tcpdump -S prints them. */
const ABSOLUTE = [
  line(1, C, S, '[S], seq 4294967000, win 64240, length 0'),
  line(2, S, C, '[S.], seq 1000, ack 4294967001, win 65160, length 0'),
  line(3, C, S, '[.], ack 1001, win 502, length 0'),
  line(4, C, S, '[P.], seq 4294967001:205, ack 1001, win 502, length 500'),
  line(5, S, C, '[.], ack 205, win 507, length 0'),
  line(6, S, C, '[F.], seq 1001, ack 205, win 507, length 0'),
  line(7, C, S, '[F.], seq 205, ack 1002, win 502, length 0'),
  line(8, S, C, '[.], ack 206, win 507, length 0'),
].join('\n');

const EXPECTED: [number, number][] = [
  [4294967000, 0],
  [1000, 4294967001],
  [4294967001, 1001],
  [4294967001, 1001],
  [1001, 205],
  [1001, 205],
  [205, 1002],
  [1002, 206],
];

describe('tcpdump text: sequence numbers', () => {
  it('adds back the bases of relative numbers, modulo 2^32', () => {
    assert.deepEqual(numbers(RELATIVE), EXPECTED);
  });

  it('tells -S output by its numbers and reads it as it is', () => {
    const { packets, stats } = parseTcpdumpText(ABSOLUTE, 'test.txt');
    assert.deepEqual(
      packets.map((p) => [p.seq, p.ack]),
      EXPECTED,
    );
    assert.equal(stats.sequenceForm, 'absolute');
    assert.equal(parseTcpdumpText(RELATIVE, 'test.txt').stats.sequenceForm, 'relative');
  });

  it('follows the form it is told', () => {
    assert.deepEqual(numbers(ABSOLUTE, { sequenceNumbers: 'absolute' }), EXPECTED);
    assert.deepEqual(numbers(RELATIVE, { sequenceNumbers: 'relative' }), EXPECTED);
  });

  it('infers the seq of bare ACKs, which tcpdump does not print, and counts them', () => {
    const { stats } = parseTcpdumpText(RELATIVE, 'test.txt');
    assert.equal(stats.inferredSeq, 3);
  });

  it('re-bases at the SYN+ACK of a second connection on the same port pair', () => {
    const second = [
      line(9, C, S, '[S], seq 77777, win 64240, length 0'),
      line(10, S, C, '[S.], seq 5555, ack 77778, win 65160, length 0'),
      line(11, C, S, '[P.], seq 1:11, ack 1, win 502, length 10'),
      line(12, S, C, '[.], ack 11, win 507, length 0'),
    ].join('\n');
    assert.deepEqual(numbers(`${RELATIVE}\n${second}`).slice(8), [
      [77777, 0],
      [5555, 77778],
      [77778, 5556],
      [5556, 77788],
    ]);
  });

  it('takes the first ACK-bearing segment of a capture that starts mid-stream as the base', () => {
    const text = [
      line(1, S, C, '[P.], seq 3659206472:3659206482, ack 4177517576, win 64, length 10'),
      line(2, C, S, '[.], ack 10, win 64, length 0'),
      line(3, C, S, '[P.], seq 1:11, ack 10, win 64, length 10'),
      line(4, S, C, '[P.], seq 10:20, ack 11, win 64, length 10'),
    ].join('\n');
    assert.deepEqual(numbers(text), [
      [3659206472, 4177517576],
      [4177517576, 3659206482],
      [4177517576, 3659206482],
      [3659206482, 4177517586],
    ]);
  });

  it('reads SACK edges as relative, even in the segment whose seq and ack are absolute', () => {
    const text = [
      line(
        1,
        S,
        C,
        '[.], seq 2738174778, ack 3801968613, win 80, options [nop,nop,sack 1 {5793:11585}], length 0',
      ),
      line(2, C, S, '[.], seq 1:1449, ack 1, win 63, length 1448'),
      line(
        3,
        S,
        C,
        '[.], ack 1, win 80, options [nop,nop,sack 2 {5793:14481}{20000:21448}], length 0',
      ),
    ].join('\n');
    const { packets } = parseTcpdumpText(text, 'test.txt');
    assert.deepEqual(packets[0]?.options.sack, [[3801974405, 3801980197]]);
    assert.deepEqual(packets[2]?.options.sack, [
      [3801974405, 3801983093],
      [3801988612, 3801990060],
    ]);
    const absolute = text
      .replace('{5793:11585}', '{3801974405:3801980197}')
      .replace('seq 1:1449, ack 1,', 'seq 3801968613:3801970061, ack 2738174778,')
      .replace('ack 1, win 80', 'ack 3801968613, win 80')
      .replace('{5793:14481}{20000:21448}', '{3801974405:3801983093}{3801988612:3801990060}');
    const fromAbsolute = parseTcpdumpText(absolute, 'test.txt').packets;
    assert.deepEqual(
      fromAbsolute.map((p) => p.options.sack),
      packets.map((p) => p.options.sack),
    );
  });

  it('numbers a side whose first segment was a bare ACK from 0, consistently', () => {
    // tcpdump based that side on a seq it never printed: no line says what it was.
    const text = [
      line(1, S, C, '[.], ack 4177517576, win 64, length 0'),
      line(2, S, C, '[P.], seq 0:10, ack 1, win 64, length 10'),
      line(3, C, S, '[.], ack 10, win 64, length 0'),
    ].join('\n');
    assert.deepEqual(numbers(text), [
      [0, 4177517576],
      [0, 4177517576],
      [4177517576, 10],
    ]);
  });

  it('gives a keep-alive the seq before the next one, and its answer the next one', () => {
    const text = [
      line(1, C, S, '[P.], seq 100:110, ack 500, win 64, length 10'),
      line(2, S, C, '[.], ack 110, win 64, length 0'),
      '3.000000 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [.], ack 500, win 64, length 0',
      '3.000100 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [.], ack 110, win 64, length 0',
    ].join('\n');
    assert.deepEqual(numbers(text, { sequenceNumbers: 'absolute' }), [
      [100, 500],
      [500, 110],
      [109, 500],
      [500, 110],
    ]);
  });

  it('tells keep-alives without timestamps by their TS values, and answers by their echo', () => {
    const text = [
      'IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [P.], seq 100:110, ack 500, win 63, options [nop,nop,TS val 1000 ecr 7000], length 10',
      'IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [.], ack 110, win 64, options [nop,nop,TS val 7002 ecr 1000], length 0',
      'IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [.], ack 500, win 63, options [nop,nop,TS val 2020 ecr 7002], length 0',
      // the answer echoes 1000, not the probe's 2020: the probe was out of window
      'IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [.], ack 110, win 64, options [nop,nop,TS val 8026 ecr 1000], length 0',
      'IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [.], ack 500, win 63, options [nop,nop,TS val 3044 ecr 8026], length 0',
    ].join('\n');
    assert.deepEqual(numbers(text, { sequenceNumbers: 'absolute' }), [
      [100, 500],
      [500, 110],
      [109, 500],
      [500, 110],
      [109, 500],
    ]);
  });

  it('gives a zero-window probe the seq before the next one', () => {
    const text = [
      line(1, C, S, '[P.], seq 100:110, ack 500, win 64, length 10'),
      line(2, S, C, '[.], ack 110, win 0, length 0'),
      '2.200000 IP 10.0.0.1.40000 > 10.0.0.2.80: Flags [.], ack 500, win 64, length 0',
      '2.200010 IP 10.0.0.2.80 > 10.0.0.1.40000: Flags [.], ack 110, win 0, length 0',
    ].join('\n');
    assert.deepEqual(numbers(text, { sequenceNumbers: 'absolute' }), [
      [100, 500],
      [500, 110],
      [109, 500],
      [500, 110],
    ]);
  });

  it('does not take a duplicate ACK for a probe', () => {
    const text = [
      line(1, S, C, '[.], seq 500:600, ack 100, win 64, length 100'),
      line(2, C, S, '[.], ack 600, win 64, length 0'),
      line(3, S, C, '[.], seq 700:800, ack 100, win 64, length 100'),
      line(4, C, S, '[.], ack 600, win 64, options [nop,nop,sack 1 {700:800}], length 0'),
    ].join('\n');
    assert.deepEqual(numbers(text, { sequenceNumbers: 'absolute' }).at(-1), [100, 600]);
  });
});
