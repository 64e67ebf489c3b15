/**
 * Splits decoded text into lines with a bound on the line being assembled.
 *
 * A capture's text arrives in chunks; a line may span many of them. Holding
 * an unfinished line without a bound lets an input with no newline (50 MB
 * of it took 6.9 s and 609 MB, re-copying the growing line with every chunk)
 * cost memory and time in proportion to its size. Here at most
 * `maxLineChars` of a line are held; a longer line is not kept but counted,
 * and comes out as a {@link LongLine} when its newline (or the end) arrives,
 * so the reader can say which line it skipped and why. Pure.
 */

/** The longest line kept: 64 KiB of text. tcpdump prints a packet in far less. */
export const MAX_LINE_CHARS = 64 * 1024;

/** The start of a long line kept for messages. */
const QUOTE_CHARS = 200;

/** A line longer than the bound: its length and its first characters, the rest dropped. */
export interface LongLine {
  readonly kind: 'long';
  /** Its length in characters (UTF-16 code units), without the newline. */
  readonly chars: number;
  /** Its first 200 characters, for a message. */
  readonly start: string;
}

/** A line (without its newline) or a line too long to keep. */
export type SplitLine = string | LongLine;

/** A streaming line splitter; feed it text with {@link push}, then call {@link end}. */
export class LineSplitter {
  private readonly maxLineChars: number;
  /** The unfinished line, while it is within the bound. */
  private held = '';
  /** Once the unfinished line is over the bound: its length so far and start. */
  private long: { chars: number; start: string } | undefined;

  constructor(maxLineChars: number = MAX_LINE_CHARS) {
    this.maxLineChars = maxLineChars;
  }

  /** Characters of the unfinished line held in memory: never more than the bound. */
  get heldChars(): number {
    return this.held.length;
  }

  /** The lines `text` completes, in order. */
  push(text: string): SplitLine[] {
    const lines: SplitLine[] = [];
    let from = 0;
    for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n', from)) {
      lines.push(this.finish(text, from, newline));
      from = newline + 1;
    }
    this.hold(text, from, text.length);
    return lines;
  }

  /** The last line, when the text did not end with a newline. */
  end(): SplitLine[] {
    const last = this.held !== '' || this.long !== undefined ? [this.finish('', 0, 0)] : [];
    return last;
  }

  /** Completes the unfinished line with `text[from, to)`. */
  private finish(text: string, from: number, to: number): SplitLine {
    this.hold(text, from, to);
    const long = this.long;
    const line: SplitLine =
      long === undefined ? this.held : { kind: 'long', chars: long.chars, start: long.start };
    this.held = '';
    this.long = undefined;
    return line;
  }

  /** Adds `text[from, to)` to the unfinished line, or only counts it once the line is too long. */
  private hold(text: string, from: number, to: number): void {
    if (from === to) return;
    if (this.long !== undefined) {
      this.long.chars += to - from;
      return;
    }
    const chars = this.held.length + to - from;
    if (chars <= this.maxLineChars) {
      this.held += text.slice(from, to);
      return;
    }
    const start = (this.held + text.slice(from, from + QUOTE_CHARS)).slice(0, QUOTE_CHARS);
    this.long = { chars, start };
    this.held = '';
  }
}
