/**
 * Collects lines and writes them in batches: one write per `flushMs` (or per
 * `maxBytes` of lines) instead of one blocking write per line, which on a
 * busy gateway would cost a system call per request.
 */
export class BatchedWriter {
  private lines: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly write: (text: string) => void;
  private readonly flushMs: number;
  private readonly maxBytes: number;

  constructor(write: (text: string) => void, flushMs = 50, maxBytes = 64 * 1024) {
    this.write = write;
    this.flushMs = flushMs;
    this.maxBytes = maxBytes;
  }

  /** Queues one line (without its newline). */
  readonly line = (line: string): void => {
    this.lines.push(line);
    this.bytes += line.length + 1;
    if (this.bytes >= this.maxBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs).unref();
  };

  /** Writes everything queued now. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const text = `${this.lines.join('\n')}\n`;
    this.lines = [];
    this.bytes = 0;
    this.write(text);
  }
}
