/**
 * The HPACK Huffman code (RFC 7541 §5.2, Appendix B).
 *
 * The code is canonical: within each length, codes are consecutive in symbol
 * order, and each length's first code follows the previous length's last one.
 * So the bit lengths alone define it; the codes are rebuilt from them at module
 * load (the tests check the result against the hex codes of Appendix B).
 *
 * Decoding runs a state machine four bits at a time. States are the 256
 * internal nodes of the code tree (state 0 is the root); for every state and
 * nibble a table built once at load gives the next state, the symbol completed
 * (at most one: no code is shorter than 5 bits), whether EOS was hit, and
 * whether stopping there is legal: only on the root or on an all-ones path
 * shorter than 8 bits, which is a valid padding (a prefix of EOS).
 */

/** Code length in bits of each symbol 0..255, then of EOS (256). */
// prettier-ignore
const LENGTHS = Uint8Array.of(
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, //   0..15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, //  16..31
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, //          32..47  ' ' .. '/'
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, //               48..63  '0' .. '?'
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, //                 64..79  '@' .. 'O'
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, //              80..95  'P' .. '_'
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, //                 96..111 '`' .. 'o'
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, //            112..127 'p' .. DEL
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128..143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144..159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160..175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176..191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192..207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208..223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224..239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240..255
  30, //                                                             EOS
);

/** The EOS symbol, which a decoder must reject inside a string (§5.2). */
export const EOS = 256;

/** Code of each symbol, right-aligned (at most 30 bits, so plain int arithmetic is safe). */
export const HUFFMAN_CODES = new Uint32Array(257);
/** Length in bits of each symbol's code. */
export const HUFFMAN_LENGTHS: Readonly<Uint8Array> = LENGTHS;

{
  const order = Array.from({ length: 257 }, (_, sym) => sym).sort(
    (a, b) => (LENGTHS[a] ?? 0) - (LENGTHS[b] ?? 0) || a - b,
  );
  let code = 0;
  let length = LENGTHS[order[0] ?? 0] ?? 0;
  for (const sym of order) {
    const len = LENGTHS[sym] ?? 0;
    code <<= len - length;
    length = len;
    HUFFMAN_CODES[sym] = code++;
  }
}

// Decode table entries: next state in bits 0..7, flags in 8..10, symbol in 16..23.
const EMIT = 0x100;
const ACCEPT = 0x200;
const FAIL = 0x400;
const DECODE = new Uint32Array(256 * 16);

{
  // The code tree: child[node * 2 + bit] is an internal node id (> 0), or
  // -(symbol + 1) for a leaf. Node 0 is the root; 0 never appears as a child.
  const child = new Int32Array(256 * 2);
  const onesDepth = new Int8Array(256); // depth of an all-ones path to the node, or -1
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const len = LENGTHS[sym] ?? 0;
    const code = HUFFMAN_CODES[sym] ?? 0;
    let node = 0;
    for (let i = len - 1; i > 0; i--) {
      const slot = node * 2 + ((code >>> i) & 1);
      if (child[slot] === 0) {
        child[slot] = nodes;
        const depth = onesDepth[node] ?? -1;
        onesDepth[nodes] = depth >= 0 && slot % 2 === 1 ? depth + 1 : -1;
        nodes++;
      }
      node = child[slot] ?? 0;
    }
    child[node * 2 + (code & 1)] = -(sym + 1);
  }
  if (nodes !== 256) throw new Error(`HPACK Huffman table: ${nodes} internal nodes, expected 256`);

  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let flags = 0;
      let sym = 0;
      for (let i = 3; i >= 0; i--) {
        const next = child[node * 2 + ((nibble >>> i) & 1)] ?? 0;
        if (next > 0) {
          node = next;
        } else if (-next - 1 === EOS) {
          flags |= FAIL;
          break;
        } else {
          sym = -next - 1;
          flags |= EMIT;
          node = 0;
        }
      }
      const depth = onesDepth[node] ?? -1;
      if (depth >= 0 && depth < 8) flags |= ACCEPT;
      DECODE[state * 16 + nibble] = node | flags | (sym << 16);
    }
  }
}

/**
 * Decodes the Huffman string `src[start..end)` into `dst` (which must hold
 * `huffmanDecodedMax(end - start)` bytes). Returns the decoded length, or -1
 * when the input holds EOS or ends in anything but a valid padding.
 */
export function huffmanDecode(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
): number {
  let state = 0;
  let entry = ACCEPT;
  let n = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i] ?? 0;
    entry = DECODE[(state << 4) | (byte >>> 4)] ?? FAIL;
    if ((entry & (FAIL | EMIT)) !== 0) {
      if ((entry & FAIL) !== 0) return -1;
      dst[n++] = entry >>> 16;
    }
    state = entry & 0xff;
    entry = DECODE[(state << 4) | (byte & 0xf)] ?? FAIL;
    if ((entry & (FAIL | EMIT)) !== 0) {
      if ((entry & FAIL) !== 0) return -1;
      dst[n++] = entry >>> 16;
    }
    state = entry & 0xff;
  }
  return (entry & ACCEPT) !== 0 ? n : -1;
}

/** An upper bound on the decoded length of `encodedLength` bytes (5 bits per symbol at best). */
export function huffmanDecodedMax(encodedLength: number): number {
  return Math.ceil((encodedLength * 8) / 5);
}

/** The Huffman-encoded length in bytes of `str`, read as latin1 (one byte per char, low 8 bits). */
export function huffmanEncodedLength(str: string): number {
  let bits = 0;
  for (let i = 0; i < str.length; i++) bits += LENGTHS[str.charCodeAt(i) & 0xff] ?? 0;
  return (bits + 7) >>> 3;
}

/**
 * Writes `str` (latin1) Huffman-encoded into `dst` at `pos`, padded with ones
 * (the EOS prefix). Returns the position after the last byte written.
 */
export function huffmanEncode(str: string, dst: Uint8Array, pos: number): number {
  let acc = 0; // pending bits, right-aligned; fewer than 8 between symbols
  let bits = 0;
  for (let i = 0; i < str.length; i++) {
    const sym = str.charCodeAt(i) & 0xff;
    let len = LENGTHS[sym] ?? 0;
    const code = HUFFMAN_CODES[sym] ?? 0;
    if (len > 24) {
      // Keep acc within 31 bits: push the top bits first.
      const high = len - 16;
      acc = (acc << high) | (code >>> 16);
      bits += high;
      while (bits >= 8) dst[pos++] = acc >>> (bits -= 8);
      acc &= (1 << bits) - 1;
      len = 16;
    }
    acc = (acc << len) | (code & ((1 << len) - 1));
    bits += len;
    while (bits >= 8) dst[pos++] = acc >>> (bits -= 8);
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) dst[pos++] = (acc << (8 - bits)) | (0xff >>> bits);
  return pos;
}
