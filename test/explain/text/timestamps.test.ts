import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseTcpdumpText,
  sniffTimestampFormat,
  tcpdumpTextParser,
  type TextParserOptions,
} from '../../../src/explain/text/parse-tcpdump.js';
import { isGwError } from '../../../src/shared/errors.js';

const TCP = 'IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [S], seq 1, win 1, length 0';

function times(stamps: readonly string[], options: TextParserOptions = {}): number[] {
  const text = stamps.map((stamp) => `${stamp}${TCP}`).join('\n');
  return parseTcpdumpText(text, 'test.txt', options).packets.map((p) => p.time);
}

/** 2026-11-27T06:47:49Z */
const EPOCH = 1795762069;

describe('tcpdump text: timestamps', () => {
  it('reads -tt epoch seconds exactly as a pcap reader computes them, micro or nano', () => {
    assert.deepEqual(times(['1795762069.881498 ']), [EPOCH + 881498 / 1e6]);
    assert.deepEqual(times(['1795762069.881498000 ']), [EPOCH + 881498 / 1e6]);
    assert.deepEqual(times(['1795762069.881498123 ']), [EPOCH + 881498123 / 1e9]);
  });

  it('reads -tttt date and time, in UTC unless told the zone', () => {
    assert.deepEqual(times(['2026-11-27 06:47:49.881498 ']), [EPOCH + 0.881498]);
    assert.deepEqual(times(['2026-11-27 07:47:49.881498 '], { utcOffsetMinutes: 60 }), [
      EPOCH + 0.881498,
    ]);
  });

  it('places the default time of day on the given date, across midnight', () => {
    const midnight = Date.UTC(2026, 10, 27) / 1000;
    assert.deepEqual(
      times(['23:59:59.500000 ', '00:00:00.250000 ', '00:00:01.000000 '], { date: '2026-11-27' }),
      [midnight + 86399.5, midnight + 86400.25, midnight + 86401],
    );
    assert.deepEqual(times(['06:47:49.881498 ']), [6 * 3600 + 47 * 60 + 49.881498]);
  });

  it('tells -ttt deltas from -ttttt offsets, which look alike line by line', () => {
    const deltas = [' 00:00:00.000000 ', ' 00:00:01.500000 ', ' 00:00:00.250000 '];
    assert.deepEqual(times(deltas), [0, 1.5, 1.75]);
    const offsets = [' 00:00:00.000000 ', ' 00:00:01.500000 ', ' 00:00:01.750000 '];
    assert.deepEqual(times(offsets), [0, 1.5, 1.75]);
    assert.equal(sniffTimestampFormat(deltas.map((s) => s + TCP)), 'delta');
    assert.equal(sniffTimestampFormat(offsets.map((s) => s + TCP)), 'offset');
  });

  it('adds negative deltas, printed when timestamps went backwards', () => {
    assert.deepEqual(
      times([' 00:00:00.000000 ', ' 00:00:01.000000 ', '-00:00:00.000100 '], {
        timestamps: 'delta',
      }),
      [0, 1, 0.9999],
    );
  });

  it('switches a stream it took for offsets to deltas when the numbers fall', () => {
    const parser = tcpdumpTextParser('t');
    const seen = [' 00:00:00.000000 ', ' 00:00:01.000000 ', ' 00:00:00.500000 '].map(
      (stamp, i) => parser.line(stamp + TCP, i + 1)?.time,
    );
    assert.deepEqual(seen, [0, 1, 1.5]);
    assert.equal(parser.stats.timestampFormat, 'delta');
  });

  it('sniffs every form', () => {
    const sniff = (stamp: string): unknown => sniffTimestampFormat([stamp + TCP]);
    assert.equal(sniff('06:47:49.881498 '), 'clock');
    assert.equal(sniff('1795762069.881498 '), 'epoch');
    assert.equal(sniff('2026-11-27 06:47:49.881498 '), 'datetime');
    assert.equal(sniff(' 00:00:00.000000 '), 'offset');
    assert.equal(sniff(''), undefined);
    // tcpdump before 4.99 printed -ttt without the sign column
    const old = ['00:00:00.000000 ', '00:00:02.000000 ', '00:00:00.100000 ', '00:00:01.000000 '];
    assert.equal(sniffTimestampFormat(old.map((s) => s + TCP)), 'clock');
    assert.equal(sniffTimestampFormat([...old, '00:00:00.001000 '].map((s) => s + TCP)), 'delta');
  });

  it('gives packets printed without timestamps (-t) time 0', () => {
    const { packets, stats } = parseTcpdumpText(`${TCP}\n${TCP}\n`, 't');
    assert.deepEqual(
      packets.map((p) => p.time),
      [0, 0],
    );
    assert.equal(stats.timestampFormat, 'none');
  });

  it('rejects a date that is not YYYY-MM-DD', () => {
    assert.throws(
      () => tcpdumpTextParser('t', { date: '27/11/2026' }),
      (err: unknown) => isGwError(err, 'GW_ERR_INVALID_ARGUMENT'),
    );
  });
});
