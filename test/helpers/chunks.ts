/** Cuts `bytes` at the given offsets (sorted, de-duplicated, within range) into chunks. */
export function cutAt(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  const points = [...new Set(offsets.filter((o) => o > 0 && o < bytes.length))].sort(
    (a, b) => a - b,
  );
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks.filter((c) => c.length > 0);
}

/** Feeds every chunk to `push` and collects the messages, as copies. */
export function feed(push: (chunk: Buffer) => Buffer[], chunks: readonly Buffer[]): Buffer[] {
  return chunks.flatMap((chunk) => push(chunk).map((m) => Buffer.from(m)));
}

/** Strings of a message list, for readable assertion failures. */
export function texts(messages: readonly Buffer[]): string[] {
  return messages.map((m) => m.toString('latin1'));
}
