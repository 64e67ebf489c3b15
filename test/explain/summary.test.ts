import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Table from 'cli-table3';
import fc from 'fast-check';
import { runExplain } from '../../src/explain/run-explain.js';
import { gridColumns } from '../../src/shared/columns.js';
import { ethernet, ipv4Tcp, pcapFile } from '../helpers/frames.js';

const FIX = new URL('../../fixtures/captures/', import.meta.url).pathname;

/** `gw explain FILE --summary` in-process: the text written, as one string. */
async function summary(file: string, lang: 'en' | 'zh' = 'en'): Promise<string> {
  const out: string[] = [];
  await runExplain({
    file,
    json: false,
    summary: true,
    conn: undefined,
    lang,
    color: false,
    write: (text) => out.push(text),
  });
  return out.join('\n');
}

const cell = fc.oneof(
  fc.stringMatching(/^[a-z0-9.:/→-][a-z0-9.:/ →-]{0,13}$/),
  fc.constantFrom('10.0.0.1:40000 → 10.0.0.2:80', 'RST (abort)', '客户端先关', '握手 RTT', '-'),
);

describe('gw explain --summary table', () => {
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-explain-summary-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('draws rows exactly as cli-table3 does in its default style, in pieces of any size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((cols) =>
          fc.array(fc.array(cell, { minLength: cols, maxLength: cols }), {
            minLength: 1,
            maxLength: 8,
          }),
        ),
        fc.integer({ min: 1, max: 4 }),
        (rows, rowsPerPiece) => {
          const [head = [], ...body] = rows;
          const table = new Table({ head, style: { head: [], border: [] } });
          for (const row of body) table.push(row);
          assert.equal([...gridColumns(rows, [], rowsPerPiece)].join('\n'), table.toString());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('draws a fixture capture as before, in English and Chinese', async () => {
    for (const lang of ['en', 'zh'] as const) {
      const text = await summary(`${FIX}retransmissions.pcap`, lang);
      const lines = text.split('\n');
      assert.match(lines[0] ?? '', /^┌─+┬/);
      assert.match(lines[1] ?? '', lang === 'en' ? /│ client → server +│/ : /│ 客户端 → 服务端 +│/);
      assert.match(lines.at(-1) ?? '', /^└─+┴/);
    }
  });

  it('draws the summary of 150,000 connections (cli-table3 threw a RangeError past ~125,000)', async () => {
    const n = 150_000;
    const records = Array.from({ length: n }, (_, i) => ({
      time: 1 + i / 1000,
      data: ethernet(
        ipv4Tcp({
          src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          sport: 1024 + (i % 60_000),
          flags: 0x02, // SYN: each one a new connection
        }),
      ),
    }));
    const file = join(dir, 'many.pcap');
    await writeFile(file, pcapFile(records));
    const lines = (await summary(file)).split('\n');
    // Top rule, header, then a rule and a line per connection, bottom rule.
    assert.equal(lines.length, 2 + 2 * n + 1);
    assert.match(lines.at(-2) ?? '', /^│ 149999 │ 10\.2\.73\.239:/);
  });
});
