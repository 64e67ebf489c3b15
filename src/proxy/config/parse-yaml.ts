/**
 * A nesting-depth limit for config text, checked before the YAML parser runs.
 *
 * The `yaml` package's parser and composer recurse once per level of
 * nesting: a few thousand levels (`a:` indented 3,000 times, or
 * `[[[[...]]]]`) exhaust the call stack, and a stack overflow inside a
 * library can surface as an unexplained `RangeError` or, when V8 is
 * compiling a regular expression at that moment, kill the process. Its
 * lexer keeps no per-level state, so this module measures the nesting on the
 * lexer's tokens and stops at a text that nests deeper than any gw config
 * needs, before anything recursive sees that level. Pure.
 */
import {
  Composer,
  CST,
  Lexer,
  Parser,
  YAMLParseError,
  type Document,
  type LineCounter,
} from 'yaml';

/**
 * The deepest nesting accepted: mappings and lists inside each other. A gw
 * config needs 6 (`listeners[0].routes[0].match.headers`); the YAML parser
 * overflows the stack somewhere near 800.
 */
export const MAX_NESTING_DEPTH = 64;

/** Where a text first nests deeper than allowed (1-based line and column). */
export interface ExcessNesting {
  readonly line: number;
  readonly column: number;
  /** The depth reached there: one more than the limit. */
  readonly depth: number;
}

/** An open block collection: the column of its entries, and whether it is a list. */
interface Block {
  readonly column: number;
  readonly list: boolean;
}

/** Lexer markers that are not part of the source text (yaml's CST constants). */
const MARKERS = new Set([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);

/**
 * Parses YAML (or JSON) text as the `yaml` package's `parseDocument` does,
 * one document, with errors collected on it, except that every token is
 * measured by a {@link NestingGauge} before the parser sees it: at the first
 * level past `maxDepth` parsing stops and the place is returned instead.
 * `lineCounter` learns every line start, as with `parseDocument`.
 */
export function parseYamlDocument(
  text: string,
  lineCounter: LineCounter,
  maxDepth: number = MAX_NESTING_DEPTH,
): Document.Parsed | ExcessNesting {
  const gauge = new NestingGauge(maxDepth);
  const parser = new Parser(lineCounter.addNewLine);
  let excess: ExcessNesting | undefined;
  function* tokens(): Generator<CST.Token> {
    lineCounter.addNewLine(0);
    for (const token of new Lexer().lex(text)) {
      excess = gauge.token(token);
      if (excess !== undefined) return;
      yield* parser.next(token);
    }
    yield* parser.end();
  }
  let doc: Document.Parsed | undefined;
  for (const next of new Composer().compose(tokens(), true, text.length)) {
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
  const gauge = new NestingGauge(maxDepth);
  for (const token of new Lexer().lex(text)) {
    const excess = gauge.token(token);
    if (excess !== undefined) return excess;
  }
  return undefined;
}

/**
 * Measures the nesting of a YAML text token by token (the lexer's tokens, in
 * order). Block collections are tracked by the columns of their entries (a
 * key or `-` further right opens a level; a list may sit at its parent key's
 * column, so that counts too), flow collections by their brackets. The count
 * errs on the high side by at most one level (a scalar on its own line counts
 * as a mapping until the next line), which a limit ten times what configs use
 * absorbs.
 */
export class NestingGauge {
  private readonly blocks: Block[] = [];
  private flow = 0;
  private line = 1;
  private column = 0;
  /** At the first token of a line, or right after `-` / `?` (a compact nested node). */
  private nodeStart = true;
  private scalarSource = false;
  /** After a block scalar header (`|`, `>`), until its content token. */
  private blockContent = false;

  private readonly maxDepth: number;

  constructor(maxDepth: number = MAX_NESTING_DEPTH) {
    this.maxDepth = maxDepth;
  }

  /** Takes the next token; returns the place when it goes past the limit. */
  token(token: string): ExcessNesting | undefined {
    if (MARKERS.has(token)) {
      if (token === CST.FLOW_END) this.flow = 0;
      if (token === CST.SCALAR) this.scalarSource = true;
      return undefined;
    }
    // A block scalar's content is one token from the start of its first line:
    // never a node start (taking it for one would close every open level).
    const type = this.scalarSource
      ? this.blockContent
        ? 'block-scalar-content'
        : 'scalar'
      : CST.tokenType(token);
    if (this.scalarSource) this.blockContent = false;
    else if (type === 'block-scalar-header') this.blockContent = true;
    this.scalarSource = false;
    const found = this.structure(type);
    if (found !== undefined) return found;
    const newlines = countNewlines(token);
    if (newlines > 0) {
      this.line += newlines;
      this.column = token.length - token.lastIndexOf('\n') - 1;
      this.nodeStart = true;
    } else this.column += token.length;
    return undefined;
  }

  private structure(type: string | null): ExcessNesting | undefined {
    switch (type) {
      case 'newline':
      case 'space':
      case 'comment':
      case 'comma':
      case 'byte-order-mark':
        return undefined;
      case 'doc-start':
      case 'doc-end':
      case 'directive-line':
        this.blocks.length = 0;
        this.flow = 0;
        return undefined;
      case 'flow-map-start':
      case 'flow-seq-start':
        this.flow++;
        this.nodeStart = false;
        return this.deeper();
      case 'flow-map-end':
      case 'flow-seq-end':
        this.flow = Math.max(0, this.flow - 1);
        return undefined;
      case 'seq-item-ind':
      case 'explicit-key-ind': {
        const found = this.flow === 0 ? this.open(type === 'seq-item-ind') : undefined;
        this.nodeStart = true;
        return found;
      }
      case 'map-value-ind':
      case 'block-scalar-content':
        this.nodeStart = false;
        return undefined;
      default: {
        // A scalar, quoted scalar, alias, anchor, tag or block scalar header.
        const found = this.flow === 0 && this.nodeStart ? this.open(false) : undefined;
        this.nodeStart = false;
        return found;
      }
    }
  }

  /** A block node starts at the current column: close the deeper levels, open one if it is new. */
  private open(list: boolean): ExcessNesting | undefined {
    const { blocks, column } = this;
    let top = blocks.at(-1);
    while (
      top !== undefined &&
      (top.column > column || (top.column === column && top.list && !list))
    ) {
      blocks.pop();
      top = blocks.at(-1);
    }
    if (top === undefined || top.column < column || (list && !top.list)) {
      blocks.push({ column, list });
    }
    return this.deeper();
  }

  private deeper(): ExcessNesting | undefined {
    const depth = this.blocks.length + this.flow;
    return depth > this.maxDepth ? { line: this.line, column: this.column + 1, depth } : undefined;
  }
}

function countNewlines(token: string): number {
  let n = 0;
  for (let i = token.indexOf('\n'); i >= 0; i = token.indexOf('\n', i + 1)) n++;
  return n;
}
