/**
 * The bytes an HTTP/1.1 connection read ahead and has not parsed yet
 * (pipelined requests, the start of an incomplete head), held as the chunks
 * they came in: adding one never copies the others, so a client that sends
 * many small pieces costs linear work, not quadratic. Chunks leave from the
 * front; the unparsed rest of the chunk just taken goes back to its slot.
 */

const LF = 10;
const EMPTY = Buffer.alloc(0);

export class ChunkQueue {
  private chunks: (Buffer | undefined)[] = [];
  /** Where the oldest chunk is (slots before it are free). */
  private at = 0;
  /** The bytes held. */
  bytes = 0;

  get empty(): boolean {
    return this.chunks.length === 0;
  }

  /** The oldest chunk, or undefined. */
  get first(): Buffer | undefined {
    return this.chunks[this.at];
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** Puts back the unparsed rest of the chunk just shifted (O(1): its slot is free). */
  unshift(chunk: Buffer): void {
    if (this.at > 0) this.chunks[--this.at] = chunk;
    else this.chunks.unshift(chunk);
    this.bytes += chunk.length;
  }

  /** The oldest chunk (empty when there is none). */
  shift(): Buffer {
    const chunk = this.chunks[this.at] ?? EMPTY;
    this.chunks[this.at++] = undefined;
    this.bytes -= chunk.length;
    if (this.at >= this.chunks.length) this.clear();
    return chunk;
  }

  clear(): void {
    this.chunks = [];
    this.at = 0;
    this.bytes = 0;
  }

  /** Everything held and `edge` (after it, or before it when `edgeFirst`) as one buffer; empties the queue. */
  takeAll(edge: Buffer, edgeFirst = false): Buffer {
    if (this.empty) return edge;
    const parts: Buffer[] = [];
    if (edgeFirst) parts.push(edge);
    for (let n = this.chunks.length - this.at; n > 0; n--) parts.push(this.shift());
    if (!edgeFirst) parts.push(edge);
    return Buffer.concat(parts);
  }

  /**
   * An incomplete head `tail` and the chunks that continue it, up to the
   * first with a line end (or past `maxBytes`), as one buffer: the only
   * copy, bounded by the head limit.
   */
  joinHead(tail: Buffer, maxBytes: number): Buffer {
    const parts = [tail];
    let bytes = tail.length;
    while (!this.empty && bytes <= maxBytes) {
      const next = this.shift();
      parts.push(next);
      bytes += next.length;
      if (next.indexOf(LF) >= 0) break;
    }
    return Buffer.concat(parts, bytes);
  }
}
