import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runExplain, type ExplainOptions } from '../../src/explain/run-explain.js';
import { parseTcpdumpText } from '../../src/explain/text/parse-tcpdump.js';
import { GwError } from '../../src/shared/errors.js';
import { pcapFile, pcapngFile } from '../helpers/frames.js';
import { readPcap } from './text/compare.js';

const FIX = new URL('../../fixtures/captures/', import.meta.url).pathname;
const SAMPLES = new URL('./text/samples/', import.meta.url).pathname;

/** `gw explain FILE [options]` in-process: the records written. */
async function explain(file: string, options: Partial<ExplainOptions> = {}): Promise<string[]> {
  const out: string[] = [];
  await runExplain({
    file,
    json: false,
    summary: false,
    conn: undefined,
    lang: 'en',
    color: false,
    write: (text) => out.push(text),
    ...options,
  });
  return out;
}

interface SummaryRow {
  conn: number;
  durationMs: number | null;
  handshakeRttMs: number | null;
  closedFirst: string | null;
  resetKind: string | null;
}

async function summaryJson(file: string): Promise<SummaryRow[]> {
  const [json = '[]'] = await explain(file, { summary: true, json: true });
  return JSON.parse(json) as SummaryRow[];
}

/** The error a run fails with. */
async function failure(file: string): Promise<GwError> {
  try {
    await explain(file);
  } catch (err) {
    assert.ok(err instanceof GwError, String(err));
    return err;
  }
  assert.fail(`${file} was read without an error`);
}

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-explain-inputs-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('gw explain --summary', () => {
  it('shows no handshake RTT for a refused connection, and no closer (it never opened)', async () => {
    for (const name of ['refused', 'refused-ipv6']) {
      const [row] = await summaryJson(`${FIX}${name}.pcap`);
      assert.equal(row?.resetKind, 'refused', name);
      assert.equal(row.handshakeRttMs, null, name);
      assert.equal(row.closedFirst, null, name);
      const table = (await explain(`${FIX}${name}.pcap`, { summary: true })).join('\n');
      const cells = (table.split('\n')[3] ?? '').split('│').map((c) => c.trim());
      // # | client → server | packets | bytes | duration | handshake RTT | ...
      assert.equal(cells[6], '-', table);
    }
  });

  it('rounds every time in --summary --json to the microsecond', async () => {
    const pcaps = readdirSync(FIX).filter((f) => f.endsWith('.pcap'));
    for (const pcap of pcaps) {
      for (const row of await summaryJson(`${FIX}${pcap}`)) {
        for (const ms of [row.durationMs, row.handshakeRttMs]) {
          if (ms === null) continue;
          assert.equal(ms, Math.round(ms * 1000) / 1000, `${pcap} #${row.conn}: ${ms}`);
          assert.ok(!/\d{4,}$/.test(String(ms).split('.')[1] ?? ''), `${pcap}: ${ms}`);
        }
      }
    }
  });

  it('says which side closed first, from its first FIN or RST, in JSON and in the table', async () => {
    const first = async (name: string): Promise<string | null | undefined> =>
      (await summaryJson(`${FIX}${name}.pcap`))[0]?.closedFirst;
    assert.equal(await first('handshake-http'), 'client');
    assert.equal(await first('teardown-server-first'), 'server');
    // SO_LINGER 0: the client's close() sends RST, no FIN.
    assert.equal(await first('abort-linger0'), 'client');
    const en = (await explain(`${FIX}teardown-server-first.pcap`, { summary: true })).join('\n');
    assert.match(en, /closed first/);
    assert.match(en.split('\n')[3] ?? '', /│ server +│ FIN\/FIN/);
    const zh = (
      await explain(`${FIX}teardown-server-first.pcap`, { summary: true, lang: 'zh' })
    ).join('\n');
    assert.match(zh.split('\n')[3] ?? '', /│ 服务端 +│ FIN\/FIN/);
  });
});

describe('gw explain on tcpdump -t text (no timestamps)', () => {
  const file = `${FIX}handshake-http.tcpdump-t-nn.txt`;

  it('says there are no timestamps and shows - instead of 0.000000', async () => {
    const out = await explain(file);
    assert.match(out[0] ?? '', /no timestamps \(tcpdump -t\)/);
    const text = out.join('\n');
    assert.doesNotMatch(text, /0\.000000/);
    assert.match(text, /^#1 - IP 127\.0\.0\.1\.\d+ > 127\.0\.0\.1\.80: Flags \[S\]/m);
    assert.doesNotMatch(text, /Handshake RTT/);
    const zh = await explain(file, { lang: 'zh' });
    assert.match(zh[0] ?? '', /没有时间戳/);
  });

  it('gives null times, durations and RTTs in JSON, and - in the table', async () => {
    const packets = (await explain(file, { json: true })).map(
      (l) => JSON.parse(l) as { time: unknown },
    );
    assert.ok(packets.length > 0);
    for (const p of packets) assert.equal(p.time, null);
    for (const row of await summaryJson(file)) {
      assert.equal(row.durationMs, null);
      assert.equal(row.handshakeRttMs, null);
    }
    const table = (await explain(file, { summary: true })).join('\n');
    const cells = (table.split('\n')[3] ?? '').split('│').map((c) => c.trim());
    assert.deepEqual([cells[5], cells[6]], ['-', '-']);
  });

  it('keeps the times of a text that has them', async () => {
    const rows = await summaryJson(`${FIX}handshake-http.tcpdump-nn.txt`);
    assert.ok((rows[0]?.handshakeRttMs ?? 0) > 0);
  });
});

describe('gw explain reads the payload of tcpdump -x/-X/-A dumps', () => {
  it('takes exactly the pcap payload bytes from -x and -X dumps', async () => {
    for (const [name, form] of [
      ['http-alt', 'X'],
      ['basic', 'x'],
      ['urgent', 'X'],
    ] as const) {
      const expected = await readPcap(new URL(`file://${SAMPLES}${name}.pcap`));
      const text = readFileSync(`${SAMPLES}${name}.${form}.txt`, 'utf8');
      const { packets } = parseTcpdumpText(text, form);
      assert.equal(packets.length, expected.length);
      packets.forEach((p, i) => {
        const want = expected[i]?.payload;
        const wanted = want === undefined || want.length === 0 ? undefined : [...want];
        assert.deepEqual(
          p.payload === undefined ? undefined : [...p.payload],
          wanted,
          `#${p.index}`,
        );
      });
    }
  });

  it('recognises HTTP on a port tcpdump does not label, from -X and -A, as from the pcap', async () => {
    const app = (lines: string[]): string[] =>
      lines.flatMap((l) => [...l.matchAll(/Application data: [^\n]*/g)].map((m) => m[0]));
    const fromPcap = app(await explain(`${SAMPLES}http-alt.pcap`));
    assert.deepEqual(fromPcap, [
      'Application data: HTTP request "GET / HTTP/1.1".',
      'Application data: HTTP response "HTTP/1.1 200 OK".',
    ]);
    // The plain text has no label: tcpdump names HTTP on ports 80 and 8080 only.
    assert.deepEqual(app(await explain(`${SAMPLES}http-alt.n.txt`)), []);
    for (const form of ['X', 'A']) {
      assert.deepEqual(app(await explain(`${SAMPLES}http-alt.${form}.txt`)), fromPcap, form);
    }
  });
});

describe('gw explain --lang zh: application-layer labels', () => {
  it('translates HTTP request and response, from a pcap and from tcpdump text', async () => {
    for (const file of [`${FIX}handshake-http.pcap`, `${FIX}handshake-http.tcpdump-nn.txt`]) {
      const text = (await explain(file, { lang: 'zh' })).join('\n');
      assert.match(text, /应用层数据：HTTP 请求 "GET \/ HTTP\/1\.1"。/, file);
      assert.match(text, /应用层数据：HTTP 响应 "HTTP\/1\.1 200 OK"。/, file);
      assert.doesNotMatch(text, /HTTP (request|response)|Application data/, file);
    }
  });
});

describe('gw explain on input that is not a capture', () => {
  it('says binary data is neither tcpdump text nor a pcap/pcapng, quoting its first bytes in hex', async () => {
    const withNul = join(dir, 'garbage.bin');
    await writeFile(withNul, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]));
    // Invalid UTF-8 without a NUL: bytes 0x80-0xff.
    const highBytes = join(dir, 'high.bin');
    await writeFile(
      highBytes,
      Buffer.from(Array.from({ length: 600 }, (_, i) => 0x80 + (i % 128))),
    );
    for (const file of [withNul, highBytes]) {
      const err = await failure(file);
      assert.equal(err.code, 'GW_ERR_CAPTURE_UNSUPPORTED');
      assert.equal(err.exitCode, 2);
      assert.match(err.message, /neither tcpdump text nor a pcap\/pcapng capture/);
      assert.doesNotMatch(err.message, /no TCP packet found|\uFFFD/);
    }
    assert.match((await failure(withNul)).message, /starts with 1f 8b 08 00 00 00 00 00 …/);
  });

  it('still reads text in any language as text', async () => {
    const file = join(dir, 'notes.txt');
    await writeFile(file, '这不是抓包，只是一段中文说明。\n'.repeat(20));
    assert.match((await failure(file)).message, /no TCP packet found in tcpdump text/);
  });

  it('says a pcap or pcapng with no packets holds none, without a filter hint', async () => {
    const pcap = join(dir, 'empty.pcap');
    await writeFile(pcap, pcapFile([]));
    const pcapng = join(dir, 'empty.pcapng');
    await writeFile(pcapng, pcapngFile([{ linkType: 1 }], []));
    for (const file of [pcap, pcapng]) {
      const err = await failure(file);
      assert.match(err.message, /holds no packets, only its file header/);
      assert.doesNotMatch(`${err.message} ${err.hint ?? ''}`, /tcp port 80|explains TCP only/);
    }
  });
});

describe('gw explain state names', () => {
  it("gives gw conns' name after RFC 9293's at a state's first mention only", async () => {
    const text = (await explain(`${FIX}handshake-http.pcap`)).join('\n');
    const count = (re: RegExp): number => (text.match(re) ?? []).length;
    assert.equal(count(/SYN_RECEIVED \(gw conns\/netstat: SYN_RECV\)/g), 1, text);
    assert.equal(count(/FIN_WAIT_1 \(gw conns\/netstat: FIN_WAIT1\)/g), 1, text);
    assert.ok(count(/SYN_RECEIVED/g) > 1, 'later mentions stay bare');
    // The same name in both: nothing added.
    assert.doesNotMatch(text, /state: .*(ESTABLISHED|TIME_WAIT|CLOSE_WAIT) \(/);
  });

  it('says how long TIME_WAIT lasts as gw conns does, in English and Chinese', async () => {
    const en = (await explain(`${FIX}handshake-http.pcap`)).join('\n');
    assert.match(en, /enters TIME_WAIT \(60 s on Linux, fixed \(TCP_TIMEWAIT_LEN\)/);
    const zh = (await explain(`${FIX}handshake-http.pcap`, { lang: 'zh' })).join('\n');
    assert.match(zh, /进入 TIME_WAIT（Linux 上固定 60 秒/);
  });
});
