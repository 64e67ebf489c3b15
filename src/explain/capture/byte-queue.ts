/**
 * A queue of bytes that hands out exact-size pieces across chunk
 * boundaries. A piece inside one chunk is a view; one that spans chunks is
 * copied once. `offset` counts bytes consumed since the start, for error
 * messages that say where a file broke.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  private bytes = 0;
  private consumed = 0;

  /** Bytes waiting. */
  get length(): number {
    return this.bytes;
  }

  /** Bytes taken so far: the file offset of the next byte. */
  get offset(): number {
    return this.consumed;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(
      Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length),
    );
    this.bytes += chunk.length;
  }

  /** The next `n` bytes without consuming them, or undefined if fewer are waiting. */
  peek(n: number): Buffer | undefined {
    if (this.bytes < n) return undefined;
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.head >= n)
      return first.subarray(this.head, this.head + n);
    return this.gather(n, false);
  }

  /** Consumes and returns the next `n` bytes, or undefined if fewer are waiting. */
  take(n: number): Buffer | undefined {
    if (this.bytes < n) return undefined;
    const first = this.chunks[0];
    let out: Buffer;
    if (first !== undefined && first.length - this.head >= n) {
      out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
    } else {
      out = this.gather(n, true);
    }
    this.bytes -= n;
    this.consumed += n;
    return out;
  }

  /** Skips `n` bytes (which must be waiting), without copying them. */
  skip(n: number): void {
    let left = Math.min(n, this.bytes);
    this.bytes -= left;
    this.consumed += left;
    while (left > 0) {
      const first = this.chunks[0];
      if (first === undefined) break;
      const available = first.length - this.head;
      if (left < available) {
        this.head += left;
        return;
      }
      left -= available;
      this.chunks.shift();
      this.head = 0;
    }
  }

  private gather(n: number, consume: boolean): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let index = 0;
    let head = this.head;
    while (filled < n) {
      const chunk = this.chunks[index];
      if (chunk === undefined) break;
      const take = Math.min(n - filled, chunk.length - head);
      chunk.copy(out, filled, head, head + take);
      filled += take;
      head += take;
      if (head === chunk.length) {
        index++;
        head = 0;
      }
    }
    if (consume) {
      this.chunks.splice(0, index);
      this.head = head;
    }
    return out;
  }
}
