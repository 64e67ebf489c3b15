import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

/** A 1-based position in the config text. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/**
 * Finds the node at a document path. `at: 'key'` points at the key of the last
 * step (for unknown or unsupported settings), `'value'` at its value. When the
 * path runs out (a missing field) it points at the deepest node that exists.
 */
export type Locator = (
  segments: readonly PropertyKey[],
  at: 'key' | 'value',
) => Position | undefined;

/** A {@link Locator} over a parsed YAML document and the LineCounter used to parse it. Pure. */
export function yamlLocator(doc: Document, lineCounter: LineCounter): Locator {
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  return (segments, at) => {
    let node: unknown = doc.contents;
    let best = rangeStart(node);
    let keyStart: number | undefined;
    for (const segment of segments) {
      if (isAlias(node)) node = node.resolve(doc);
      if (isMap(node)) {
        const key = String(segment);
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
        if (!isPair(pair)) return best === undefined ? undefined : position(best);
        keyStart = rangeStart(pair.key);
        best = keyStart ?? best;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
        keyStart = undefined;
        node = node.items[segment];
      } else {
        return best === undefined ? undefined : position(best);
      }
      const start = isEmptyScalar(node) ? undefined : rangeStart(node);
      if (start !== undefined) best = start;
    }
    const chosen = at === 'key' && keyStart !== undefined ? keyStart : best;
    return chosen === undefined ? undefined : position(chosen);
  };
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: unknown }).range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}

/** `key:` with nothing after it: point at the key, not at the empty space after the colon. */
function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && node.source === '';
}
