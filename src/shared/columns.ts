/**
 * Lays out rows of cells in aligned columns: without borders, two spaces
 * apart, the way `ss` prints and exactly as cli-table3 does with empty
 * border characters; or boxed, exactly as cli-table3's compact style draws
 * them (test/conns/columns.test.ts checks both against cli-table3).
 * cli-table3 itself takes seconds for ten thousand rows and minutes for
 * fifty thousand, and some 12 ms to load and draw its first small table,
 * which is a tenth of `gw conns --summary` on a big machine; this is
 * linear and loads nothing. Pure.
 */

export type Align = 'left' | 'right';

/** Colours a padded cell (row and column index given); colour codes take no width. */
export type CellPainter = (row: number, column: number, padded: string) => string;

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6)
  );
}

/** Display width: code points, East Asian wide characters counting two. */
export function displayWidth(text: string): number {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7e) {
      let width = 0;
      for (const ch of text) width += isWide(ch.codePointAt(0) ?? 0) ? 2 : 1;
      return width;
    }
  }
  return text.length; // printable ASCII: one column each
}

const SPACES = ' '.repeat(256);

function spaces(n: number): string {
  return n <= SPACES.length ? SPACES.slice(0, n) : ' '.repeat(n);
}

/** The widest cell of each column. */
function columnWidths(rows: readonly (readonly string[])[]): number[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      const w = displayWidth(row[i] ?? '');
      if (w > (widths[i] ?? 0)) widths[i] = w;
    }
  }
  return widths;
}

/** `text` padded to `width` columns on the side `align` leaves free. */
function padCell(text: string, width: number, align: Align | undefined): string {
  const pad = spaces(width - displayWidth(text));
  return align === 'right' ? pad + text : text + pad;
}

/**
 * Pads every cell to its column's width and joins columns with two spaces,
 * one line per row, trailing spaces removed. `rows[0]` is usually the header.
 */
export function layoutColumns(
  rows: readonly (readonly string[])[],
  align: readonly Align[],
  paint?: CellPainter,
): string {
  const widths = columnWidths(rows);
  const lines: string[] = new Array<string>(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] ?? [];
    let line = '';
    for (let i = 0; i < row.length; i++) {
      let cell = padCell(row[i] ?? '', widths[i] ?? 0, align[i]);
      if (paint !== undefined) cell = paint(r, i, cell);
      line += i === 0 ? cell : `  ${cell}`;
    }
    lines[r] = line.trimEnd();
  }
  return lines.join('\n');
}

/**
 * Draws rows in a box with one space of padding in each cell, `rows[0]` as
 * the header set off by a rule, the other rows without rules between them
 * (cli-table3's `compact` style), ending without a newline.
 */
export function boxColumns(
  rows: readonly (readonly string[])[],
  align: readonly Align[],
  paint?: CellPainter,
): string {
  const widths = columnWidths(rows);
  const rule = (left: string, mid: string, right: string): string =>
    left + widths.map((w) => '─'.repeat(w + 2)).join(mid) + right;
  const line = (row: readonly string[], r: number): string => {
    const cells = widths.map((w, i) => {
      const cell = padCell(row[i] ?? '', w, align[i]);
      return ` ${paint === undefined ? cell : paint(r, i, cell)} `;
    });
    return `│${cells.join('│')}│`;
  };
  const [head = [], ...body] = rows;
  return [
    rule('┌', '┬', '┐'),
    line(head, 0),
    ...(body.length === 0 ? [] : [rule('├', '┼', '┤')]),
    ...body.map((row, i) => line(row, i + 1)),
    rule('└', '┴', '┘'),
  ].join('\n');
}

/**
 * Draws rows as cli-table3's default style does: a box with one space of
 * padding in each cell and a rule under every row, `rows[0]` as the header.
 * Yields the drawing in pieces of at most `rowsPerPiece` rows, each without
 * a final newline, so a table of any length is never one string (V8 caps a
 * string near 2^29 characters) and never one call with a row per argument
 * (cli-table3's `push.apply` overflows the stack past ~125,000 rows).
 */
export function* gridColumns(
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
  rowsPerPiece = 1000,
): Generator<string> {
  const widths = columnWidths(rows);
  const rule = (left: string, mid: string, right: string): string =>
    left + widths.map((w) => '─'.repeat(w + 2)).join(mid) + right;
  const between = rule('├', '┼', '┤');
  const line = (row: readonly string[]): string =>
    `│${widths.map((w, i) => ` ${padCell(row[i] ?? '', w, align[i])} `).join('│')}│`;
  let piece: string[] = [rule('┌', '┬', '┐')];
  for (let r = 0; r < rows.length; r++) {
    if (r > 0) piece.push(between);
    piece.push(line(rows[r] ?? []));
    if (piece.length >= 2 * rowsPerPiece) {
      yield piece.join('\n');
      piece = [];
    }
  }
  piece.push(rule('└', '┴', '┘'));
  yield piece.join('\n');
}
