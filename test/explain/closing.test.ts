import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runExplain } from '../../src/explain/run-explain.js';
import { FLAG } from '../../src/explain/types.js';
import { explainJson } from '../helpers/explain-json.js';
import { ethernet, ipv4Tcp, pcapFile, type SegmentSpec } from '../helpers/frames.js';

const FIX = new URL('../../fixtures/captures/', import.meta.url).pathname;
const { SYN, ACK, FIN } = FLAG;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-closing-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One packet's text block: its tcpdump line, explanation and state lines. */
interface Block {
  readonly index: number;
  readonly text: string;
  readonly states: readonly { who: string; from: string; to: string }[];
}

async function explainText(file: string, lang: 'en' | 'zh' = 'en'): Promise<Block[]> {
  const blocks: Block[] = [];
  await runExplain({
    file,
    json: false,
    summary: false,
    conn: undefined,
    lang,
    color: false,
    write: (out) => {
      const lines = out.split('\n').filter((l) => l.startsWith('#') || l.startsWith('    '));
      const index = Number(/^#(\d+) /.exec(lines[0] ?? '')?.[1]);
      const states = lines
        // A state's first mention carries its other spelling: `FIN_WAIT_1 (gw conns/netstat: …)`.
        .map((l) => /^ {4}(?:state|状态): (\S+) (\S+) → (\S+)(?: \(.*\))?$/.exec(l))
        .filter((m) => m !== null)
        .map((m) => ({ who: m[1] ?? '', from: m[2] ?? '', to: m[3] ?? '' }));
      blocks.push({ index, text: lines[1]?.trim() ?? '', states });
    },
  });
  return blocks;
}

/** A pcap of client 10.0.0.1:40000 and server 10.0.0.2:80, from (time, side, segment) rows. */
async function capture(
  name: string,
  rows: readonly [number, 'c' | 's', SegmentSpec][],
): Promise<string> {
  const file = join(dir, name);
  const records = rows.map(([time, side, spec]) => ({
    time,
    data: ethernet(
      ipv4Tcp(
        side === 'c'
          ? { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 80, ...spec }
          : { src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40000, ...spec },
      ),
    ),
  }));
  await writeFile(file, pcapFile(records));
  return file;
}

const STATE_NAMES =
  /\b(SYN_SENT|SYN_RECEIVED|ESTABLISHED|FIN_WAIT_1|FIN_WAIT_2|CLOSE_WAIT|CLOSING|LAST_ACK|TIME_WAIT|CLOSED|LISTEN)\b/g;

/** Every state a teardown explanation names is on its state lines, and every new state is named. */
function assertAgrees(b: Block, where: string): void {
  const named = new Set(b.text.match(STATE_NAMES) ?? []);
  const shown = new Set(b.states.flatMap((c) => [c.from, c.to]));
  for (const state of named)
    assert.ok(
      shown.has(state),
      `${where} #${b.index}: text names ${state}, state lines do not: ${b.text}`,
    );
  for (const c of b.states)
    assert.ok(
      named.has(c.to),
      `${where} #${b.index}: ${c.who} → ${c.to} is not in the text: ${b.text}`,
    );
}

describe('gw explain: a retransmitted FIN', () => {
  it('repeats packet N: no teardown step, no state change (built capture)', async () => {
    const file = await capture('fin-again.pcap', [
      [1.0, 'c', { seq: 100, flags: SYN }],
      [1.01, 's', { seq: 500, ack: 101, flags: SYN | ACK }],
      [1.02, 'c', { seq: 101, ack: 501, flags: ACK }],
      [1.1, 'c', { seq: 101, ack: 501, flags: FIN | ACK }],
      [1.5, 'c', { seq: 101, ack: 501, flags: FIN | ACK }],
      [1.6, 's', { seq: 501, ack: 102, flags: FIN | ACK }],
      [1.61, 'c', { seq: 102, ack: 502, flags: ACK }],
    ]);
    const json = await explainJson(file);
    const again = json[4];
    assert.deepEqual(
      [again?.phase, again?.step, again?.events],
      ['teardown', 0, ['retransmission']],
    );
    assert.deepEqual(again?.states, { client: 'FIN_WAIT_1', server: 'ESTABLISHED' });
    assert.deepEqual(
      json.map((p) => p.step),
      [1, 2, 3, 1, 0, 3, 4],
    );
    const text = await explainText(file);
    assert.match(text[4]?.text ?? '', /repeats packet #4 \(a retransmission of #4\)/);
    assert.doesNotMatch(text[4]?.text ?? '', /teardown 3\/4|LAST_ACK/);
    assert.deepEqual(text[4]?.states, []);
    assert.match(text[5]?.text ?? '', /\[4-way teardown 3\/4\] The server sends its own FIN/);
    const zh = await explainText(file, 'zh');
    assert.match(zh[4]?.text ?? '', /重复了 #4 包（#4 的重传）/);
    assert.deepEqual(zh[4]?.states, []);
  });

  it('says so in a real capture: the server resends its FIN with data (retransmissions-sender #628)', async () => {
    const blocks = await explainText(`${FIX}retransmissions-sender.pcap`);
    const resent = blocks.find((b) => b.index === 628);
    assert.match(
      resent?.text ?? '',
      /The server sends its FIN again .*repeats packet #624 \(a retransmission of #624\)/,
    );
    assert.deepEqual(resent?.states, []);
    const clientFin = blocks.find((b) => b.index === 629);
    assert.match(clientFin?.text ?? '', /\[4-way teardown 3\/4\] The client sends its own FIN/);
  });
});

describe('gw explain: simultaneous close (fixtures/captures/simultaneous-close.pcap)', () => {
  const file = `${FIX}simultaneous-close.pcap`;

  it('takes both sides through FIN_WAIT_1, CLOSING and TIME_WAIT, as RFC 9293 draws it', async () => {
    const blocks = await explainText(file);
    for (const who of ['client', 'server']) {
      const path = blocks.flatMap((b) => b.states.filter((c) => c.who === who));
      const teardown = path.slice(path.findIndex((c) => c.from === 'ESTABLISHED'));
      assert.deepEqual(
        teardown.map((c) => `${c.from} → ${c.to}`),
        ['ESTABLISHED → FIN_WAIT_1', 'FIN_WAIT_1 → CLOSING', 'CLOSING → TIME_WAIT'],
        who,
      );
    }
    const json = await explainJson(file);
    assert.deepEqual(json.at(-1)?.states, { client: 'TIME_WAIT', server: 'TIME_WAIT' });
    assert.deepEqual(
      json.slice(7).map((p) => p.step),
      [1, 2, 3, 4],
    );
  });

  it('names it a simultaneous close, in English and Chinese', async () => {
    const en = await explainText(file);
    assert.match(
      en[8]?.text ?? '',
      /^\[simultaneous close 2\/4\] The server sends its own FIN before the client's FIN has reached it \(its ack 28 does not cover that FIN\)/,
    );
    assert.doesNotMatch(en.map((b) => b.text).join('\n'), /LAST_ACK|CLOSE_WAIT/);
    const zh = await explainText(file, 'zh');
    assert.match(zh[8]?.text ?? '', /^【同时关闭 2\/4】/);
    assert.match(zh[9]?.text ?? '', /^【同时关闭 3\/4】/);
  });

  it('never says one thing while the state lines say another', async () => {
    for (const b of (await explainText(file)).slice(7)) assertAgrees(b, 'simultaneous-close');
  });
});

describe('gw explain: text and state lines agree on every teardown in the fixtures', () => {
  const names = existsSync(FIX) ? readdirSync(FIX).filter((f) => /^[a-z0-9-]+\.pcap$/.test(f)) : [];
  for (const name of names) {
    it(name, async () => {
      const json = await explainJson(`${FIX}${name}`);
      const blocks = await explainText(`${FIX}${name}`);
      blocks.forEach((b, i) => {
        if (json[i]?.phase === 'teardown') assertAgrees(b, name);
      });
    });
  }
});

describe('gw explain: a refused connection', () => {
  it('leaves the server CLOSED: no LISTEN is inferred without a SYN+ACK', async () => {
    const blocks = await explainText(`${FIX}refused.pcap`);
    const all = blocks.flatMap((b) => b.states);
    assert.ok(!all.some((c) => c.to === 'LISTEN' || c.from === 'LISTEN'), JSON.stringify(all));
    assert.match(blocks.map((b) => b.text).join('\n'), /nothing listens on/);
  });

  it('infers LISTEN from the SYN+ACK of an accepted connection', async () => {
    const blocks = await explainText(`${FIX}handshake-http.pcap`);
    assert.deepEqual(blocks[0]?.states, [{ who: 'client', from: 'CLOSED', to: 'SYN_SENT' }]);
    const synAck = blocks[1];
    assert.ok(synAck);
    assert.deepEqual(synAck.states.slice(0, 2), [
      { who: 'server', from: 'CLOSED', to: 'LISTEN' },
      { who: 'server', from: 'LISTEN', to: 'SYN_RECEIVED' },
    ]);
    assert.match(synAck.text, /the server was in LISTEN/);
  });
});

describe('gw explain: a capture that starts mid-stream', () => {
  it('says the window scale is unknown instead of a byte count, and marks it in JSON', async () => {
    const blocks = await explainText(`${FIX}bulk-midstream.pcap`);
    assert.match(
      blocks[1]?.text ?? '',
      /window 72 \(scale unknown: the handshake was not captured\)/,
    );
    assert.doesNotMatch(
      blocks.map((b) => b.text).join('\n'),
      /bytes of its receive buffer are free|window \d+ bytes/,
    );
    const zh = await explainText(`${FIX}bulk-midstream.pcap`, 'zh');
    assert.match(zh[1]?.text ?? '', /窗口 72（扩大因子未知：没有抓到握手）/);
    const json = await explainJson(`${FIX}bulk-midstream.pcap`);
    assert.deepEqual([json[1]?.win, json[1]?.winScale], [72, null]);
    const known = await explainJson(`${FIX}handshake-http.pcap`);
    assert.ok(known.every((p) => typeof p.winScale === 'number'));
  });
});
