import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Table from 'cli-table3';
import fc from 'fast-check';
import { boxColumns, displayWidth, layoutColumns, type Align } from '../../src/shared/columns.js';
import { plainPaint } from '../../src/conns/paint.js';
import { renderTable } from '../../src/conns/render-table.js';
import { sock } from './helpers/make-socket.js';

const BORDERLESS = Object.fromEntries(
  [
    'top',
    'top-mid',
    'top-left',
    'top-right',
    'bottom',
    'bottom-mid',
    'bottom-left',
    'bottom-right',
    'left',
    'left-mid',
    'mid',
    'mid-mid',
    'right',
    'right-mid',
  ].map((k) => [k, '']),
);

/** What cli-table3 prints for the same rows with no borders and two spaces between columns. */
function viaCliTable3(rows: readonly string[][], align: readonly Align[]): string {
  const [head = [], ...body] = rows;
  const table = new Table({
    head,
    chars: { ...BORDERLESS, middle: '  ' },
    colAligns: [...align],
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
  });
  for (const row of body) table.push(row);
  return table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

const cell = fc.oneof(
  fc.stringMatching(/^[a-z0-9.:[\]*-]{1,12}$/),
  fc.constantFrom(
    '127.0.0.1:8080',
    '[::ffff:127.0.0.1]:40010',
    'ESTABLISHED',
    '0',
    '3724289',
    '共计',
    '状态',
  ),
);

/** Up to 12 rows of `cols` cells (1 to `maxCols` columns) and an alignment for each column. */
function rowsAndAlign(maxCols: number) {
  return fc.integer({ min: 1, max: maxCols }).chain((cols) =>
    fc.tuple(
      fc.array(fc.array(cell, { minLength: cols, maxLength: cols }), {
        minLength: 1,
        maxLength: 12,
      }),
      fc.array(fc.constantFrom<Align>('left', 'right'), { minLength: cols, maxLength: cols }),
    ),
  );
}

describe('column layout', () => {
  it('lays out rows exactly as cli-table3 does without borders', () => {
    fc.assert(
      fc.property(rowsAndAlign(5), ([rows, align]) => {
        assert.equal(layoutColumns(rows, align), viaCliTable3(rows, align));
      }),
      { numRuns: 300 },
    );
  });

  it('draws boxed rows exactly as cli-table3 does in its compact style', () => {
    fc.assert(
      fc.property(rowsAndAlign(6), ([rows, align]) => {
        const [head = [], ...body] = rows;
        const table = new Table({
          head,
          colAligns: [...align],
          style: { head: [], border: [], compact: true },
        });
        for (const row of body) table.push(row);
        assert.equal(boxColumns(rows, align), table.toString());
      }),
      { numRuns: 300 },
    );
  });

  it('paints boxed cells after padding them, so colour takes no width', () => {
    const text = boxColumns(
      [
        ['State', 'n'],
        ['LISTEN', '1'],
      ],
      ['left', 'right'],
      (r, c, padded) => (r === 1 && c === 0 ? `<${padded}>` : padded),
    );
    assert.equal(text.split('\n')[3], '│ <LISTEN> │ 1 │');
  });

  it('counts East Asian characters as two columns', () => {
    assert.equal(displayWidth('状态'), 4);
    assert.equal(displayWidth('CLOSE_WAIT'), 10);
  });

  it('renders ten thousand sockets in one go (cli-table3 alone would take seconds)', () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      socket: sock('ESTABLISHED', `127.0.0.1:${1024 + i}`, '127.0.0.1:80'),
    }));
    const text = renderTable(rows, {
      extended: true,
      process: true,
      marks: false,
      paint: plainPaint,
    });
    const lines = text.split('\n');
    assert.equal(lines.length, 10_001);
    assert.match(
      lines[0] ?? '',
      /^Proto\s+State\s+Recv-Q\s+Send-Q\s+Local Address:Port\s+Peer Address:Port\s+Timer\s+User\s+Inode\s+PID\/Program$/,
    );
    assert.match(
      lines[1] ?? '',
      /^tcp\s+ESTABLISHED\s+0\s+0\s+127\.0\.0\.1:1024\s+127\.0\.0\.1:80\s+1000\s+1\s+-$/,
    );
  });
});
