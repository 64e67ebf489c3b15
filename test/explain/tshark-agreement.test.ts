import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { PacketJson } from '../../src/explain/render/json.js';
import { explainJson } from '../helpers/explain-json.js';
import { readTsharkTsv } from '../helpers/tshark-truth.js';

const DIR = new URL('../../fixtures/captures/', import.meta.url).pathname;
const NAMES = existsSync(DIR)
  ? readdirSync(DIR)
      .filter((f) => f.endsWith('.tshark.tsv'))
      .map((f) => f.replace('.tshark.tsv', ''))
      .filter((name) => existsSync(`${DIR}${name}.pcap`))
  : [];

describe('gw explain agrees with tshark on every fixture', () => {
  it('has fixtures to compare with', () => {
    assert.ok(NAMES.length >= 10, `only ${NAMES.length} fixtures in ${DIR}`);
  });

  for (const name of NAMES) {
    it(`${name}: analysis events on at least 99% of packets, streams and relative numbers on all`, async () => {
      const truth = readTsharkTsv(`${DIR}${name}.tshark.tsv`);
      const ours = new Map((await explainJson(`${DIR}${name}.pcap`)).map((p) => [p.index, p]));
      let agree = 0;
      const differences: string[] = [];
      for (const t of truth) {
        const packet = ours.get(t.frame);
        assert.ok(packet, `frame ${t.frame} missing`);
        assert.equal(packet.conn, t.stream, `frame ${t.frame}: stream`);
        assert.equal(packet.seq, t.seq, `frame ${t.frame}: relative seq`);
        if (packet.flags.includes('.'))
          assert.equal(packet.ack, t.ack, `frame ${t.frame}: relative ack`);
        assert.equal(packet.len, t.len, `frame ${t.frame}: length`);
        const expected = [...t.events].sort().join(',');
        const actual = [...packet.events].sort().join(',');
        if (expected === actual) agree++;
        else differences.push(`#${t.frame} tshark[${expected}] gw[${actual}]`);
      }
      assert.ok(
        agree / truth.length >= 0.99,
        `${agree}/${truth.length}: ${differences.slice(0, 10).join('; ')}`,
      );
    });

    it(`${name}: every SYN, SYN+ACK and FIN is a numbered handshake or teardown step`, async () => {
      for (const p of await explainJson(`${DIR}${name}.pcap`)) {
        if (p.flags.includes('R')) continue;
        if (p.flags.startsWith('S')) {
          assert.equal(p.phase, 'handshake', `#${p.index}`);
          assert.equal(p.step, p.flags.includes('.') ? 2 : 1, `#${p.index}`);
        } else if (p.flags.includes('F') && !p.events.some((e) => e.includes('retransmission'))) {
          assert.equal(p.phase, 'teardown', `#${p.index}`);
          // 1 and 3 in a four-way teardown; 2 is the crossing FIN of a simultaneous close.
          const crossing = p.step === 2 && p.text.includes('simultaneous close');
          assert.ok(p.step === 1 || p.step === 3 || crossing, `#${p.index} FIN step ${p.step}`);
        }
      }
    });

    if (existsSync(`${DIR}${name}.pcapng`)) {
      it(`${name}: pcap and pcapng give the same analysis`, async () => {
        const a = await explainJson(`${DIR}${name}.pcap`);
        const b = await explainJson(`${DIR}${name}.pcapng`);
        // Times agree to the microsecond: a pcapng may keep nanoseconds that its pcap copy drops,
        // so times and the RTTs computed from them are compared apart.
        const plain = (p: PacketJson): PacketJson => ({
          ...p,
          time: 0,
          text: p.text.replace(/RTT [\d.]+ ms/, 'RTT'),
        });
        assert.deepEqual(b.map(plain), a.map(plain));
        a.forEach((p, i) =>
          assert.ok(Math.abs(p.time - (b[i]?.time ?? 0)) < 2e-6, `#${p.index} time`),
        );
      });
    }
  }
});

describe('gw explain gives the same analysis for every text form of a capture', () => {
  const forms = existsSync(DIR) ? readdirSync(DIR).filter((f) => /\.tcpdump.*\.txt$/.test(f)) : [];

  it('has text renderings to compare', () => {
    assert.ok(forms.length >= 100, `only ${forms.length}`);
  });

  const cache = new Map<string, Promise<PacketJson[]>>();
  const fromPcap = (name: string): Promise<PacketJson[]> => {
    let result = cache.get(name);
    if (result === undefined) {
      result = explainJson(`${DIR}${name}.pcap`);
      cache.set(name, result);
    }
    return result;
  };

  for (const form of forms) {
    const name = form.replace(/\.tcpdump.*$/, '');
    if (!existsSync(`${DIR}${name}.pcap`)) continue;
    // Without timestamps (-t) nothing tells a late resend from an early one (Wireshark's
    // out-of-order and fast-retransmission rules are about time): they are compared as one kind.
    const timeless = form.includes('-t-');
    it(`${form} = ${name}.pcap`, async () => {
      const key = (p: PacketJson): string => {
        const resend = (e: string): boolean => e === 'out-of-order' || e === 'fast-retransmission';
        const events = p.events.map((e) => (timeless && resend(e) ? 'retransmission' : e));
        return JSON.stringify([
          p.index,
          p.conn,
          p.from,
          p.flags,
          p.seq,
          p.ack,
          p.len,
          p.win,
          p.phase,
          p.step,
          events,
        ]);
      };
      const expected = (await fromPcap(name)).map(key);
      const actual = (await explainJson(`${DIR}${form}`)).map(key);
      assert.deepEqual(actual, expected);
    });
  }
});
