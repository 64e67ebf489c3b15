/**
 * The `grpc-message` trailer's percent-encoding (gRPC over HTTP/2,
 * "Percent-Encoded"): bytes outside printable ASCII (0x20-0x7E) and `%`
 * itself are written as `%XX` of their UTF-8 bytes; everything else, `:`
 * and `/` included, stays as it is. Pure.
 */

const HEX = /%([0-9A-Fa-f]{2})/g;

/** Encodes `text` for a `grpc-message` value. */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Decodes a `grpc-message` value for display. As the spec asks of a
 * receiver, a malformed sequence is kept as written rather than refused, and
 * bytes that do not form UTF-8 become U+FFFD.
 */
export function decodeGrpcMessage(text: string): string {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  let last = 0;
  for (const match of text.matchAll(HEX)) {
    bytes.push(...Buffer.from(text.slice(last, match.index), 'utf8'));
    bytes.push(parseInt(match[1] ?? '0', 16));
    last = match.index + match[0].length;
  }
  bytes.push(...Buffer.from(text.slice(last), 'utf8'));
  return Buffer.from(bytes).toString('utf8');
}
