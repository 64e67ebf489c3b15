/** Column alignment: numbers read best right-aligned. */
export type Align = 'left' | 'right';

/**
 * A plain-text table: a header row, a rule, then the rows, columns padded to
 * their widest cell. No colour and no box drawing, so it pastes into notes
 * and commit messages as is.
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    widths
      .map((width, i) => {
        const cell = cells[i] ?? '';
        return align[i] === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

export { thousands } from '../../src/shared/format.js';

/** `PASS` or `MISS`, for goal columns. */
export function verdict(ok: boolean): string {
  return ok ? 'PASS' : 'MISS';
}
