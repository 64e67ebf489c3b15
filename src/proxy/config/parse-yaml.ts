/**
 * A nesting-depth limit for config text, enforced while the YAML parser runs.
 *
 * The `yaml` package's parser and composer recurse once per level of
 * nesting: a few thousand levels (`a:` indented 3,000 times, `[[[[...]]]]`,
 * or `a: a: a: …`, an error the parser still builds) exhaust the call stack,
 * and a stack overflow inside a library can surface as an unexplained
 * `RangeError` or, when V8 is compiling a regular expression at that moment,
 * abort the process. Its lexer keeps no per-level state and its parser keeps
 * the open nodes in an explicit stack, so this module feeds the parser one
 * token at a time and stops as soon as that stack is deeper than any gw
 * config needs, before anything recursive sees such a level. Pure.
 */
import {
  Composer,
  Lexer,
  Parser,
  YAMLParseError,
  type CST,
  type Document,
  LineCounter,
} from 'yaml';

type CstToken = CST.Token;

/**
 * The deepest nesting accepted, in the parser's open levels (mappings and
 * lists inside each other, and the key being read). A gw config needs about
 * 8 (`listeners[0].routes[0].match.headers`); the YAML parser overflows the
 * stack somewhere near 800.
 */
export const MAX_NESTING_DEPTH = 64;

/** Where a text first nests deeper than allowed (1-based line and column). */
export interface ExcessNesting {
  readonly line: number;
  readonly column: number;
  /** The depth reached there: one more than the limit. */
  readonly depth: number;
}

/**
 * Parses YAML (or JSON) text as the `yaml` package's `parseDocument` does,
 * one document, with errors collected on it, except that the parser's depth
 * is checked after every token: at the first level past `maxDepth` parsing
 * stops, before the composer sees the document, and the place is returned
 * instead. `lineCounter` learns every line start, as with `parseDocument`.
 */
export function parseYamlDocument(
  text: string,
  lineCounter: LineCounter,
  maxDepth: number = MAX_NESTING_DEPTH,
): Document.Parsed | ExcessNesting {
  const parser = new Parser(lineCounter.addNewLine);
  let excess: ExcessNesting | undefined;
  function* tokens(): Generator<CstToken> {
    lineCounter.addNewLine(0);
    for (const token of new Lexer().lex(text)) {
      const offset = parser.offset;
      yield* parser.next(token);
      excess = excessAt(parser, maxDepth, lineCounter, offset);
      if (excess !== undefined) return;
    }
    yield* parser.end();
  }
  let doc: Document.Parsed | undefined;
  // No process warnings (a collection used as a key): the config's checks report it.
  const composer = new Composer({ logLevel: 'error' });
  for (const next of composer.compose(tokens(), true, text.length)) {
    if (doc === undefined) doc = next;
    else {
      const range: [number, number] = [next.range[0], next.range[1]];
      doc.errors.push(
        new YAMLParseError(range, 'MULTIPLE_DOCS', 'Source contains multiple documents'),
      );
      break;
    }
  }
  if (excess !== undefined) return excess;
  // compose(…, forceDoc = true) always ends with a document.
  if (doc === undefined) throw new Error('the YAML composer produced no document');
  return doc;
}

/** Where `text` first nests more than `maxDepth` levels deep, or undefined. Stops there. */
export function findExcessNesting(
  text: string,
  maxDepth: number = MAX_NESTING_DEPTH,
): ExcessNesting | undefined {
  const lineCounter = new LineCounter();
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  for (const token of new Lexer().lex(text)) {
    const offset = parser.offset;
    // Only the parser's stack matters here, not the tokens it completes.
    Array.from(parser.next(token));
    const excess = excessAt(parser, maxDepth, lineCounter, offset);
    if (excess !== undefined) return excess;
  }
  return undefined;
}

/**
 * Past `maxDepth`, where: the token at `offset` took the parser's open nodes
 * (block and flow collections, and at times the key or scalar being read,
 * so the count may run one high) past the document deeper than allowed. The
 * document built from them can be deeper by about half again (an entry of a
 * flow sequence may be an implicit mapping), far below where recursion fails.
 */
function excessAt(
  parser: Parser,
  maxDepth: number,
  lineCounter: LineCounter,
  offset: number,
): ExcessNesting | undefined {
  const depth = parser.stack.length - 1;
  if (depth <= maxDepth) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col, depth };
}
