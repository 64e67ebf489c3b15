/**
 * Pure bookkeeping for `--burst`: knows the frames that were sent and, read
 * by read, tells which reads were sticky (held bytes of more than one frame)
 * or split (began or ended inside a frame), and whether the echoed byte
 * stream is intact. Works for every framing, because it follows the wire
 * frames, not the decoder.
 */
export class ReadClassifier {
  private readonly frames: readonly Buffer[];
  /** Index of the frame the next byte belongs to, and the offset inside it. */
  private frame = 0;
  private offset = 0;
  stickyReads = 0;
  splitReads = 0;
  /** Reads whose bytes differ from what was sent at that point of the stream. */
  corruptReads = 0;
  /** Reads that, taken as one message each, would not equal a sent message. */
  naiveWrong = 0;
  /** Frames whose last byte has arrived. */
  framesComplete = 0;

  constructor(frames: readonly Buffer[]) {
    this.frames = frames;
  }

  /** Accounts for one read. Extra bytes past the last frame count as corrupt. */
  observe(chunk: Buffer): void {
    const startsInside = this.offset > 0;
    let touched = 0;
    let pos = 0;
    let corrupt = false;
    while (pos < chunk.length) {
      const frame = this.frames[this.frame];
      if (frame === undefined) {
        corrupt = true;
        break;
      }
      const take = Math.min(frame.length - this.offset, chunk.length - pos);
      if (chunk.compare(frame, this.offset, this.offset + take, pos, pos + take) !== 0)
        corrupt = true;
      touched++;
      pos += take;
      this.offset += take;
      if (this.offset === frame.length) {
        this.frame++;
        this.offset = 0;
        this.framesComplete++;
      }
    }
    const endsInside = this.offset > 0;
    if (touched > 1) this.stickyReads++;
    if (startsInside || endsInside) this.splitReads++;
    if (corrupt) this.corruptReads++;
    if (corrupt || touched !== 1 || startsInside || endsInside) this.naiveWrong++;
  }

  /** True once every byte of every frame has arrived. */
  get done(): boolean {
    return this.frame >= this.frames.length;
  }
}

/**
 * The n-th burst message (0-based), exactly `size` bytes of printable ASCII:
 * its number in base 36, a colon, then letters that shift with n, so a
 * message that arrives out of place is told from its neighbours.
 */
export function burstMessage(n: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  const head = `${n.toString(36)}:`;
  for (let i = 0; i < size; i++) {
    out[i] = i < head.length ? head.charCodeAt(i) : 0x61 + ((n + i) % 26);
  }
  return out;
}
