/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby, public domain), computed
 * over the UTF-16LE encoding of a string. Reading UTF-16 code units with
 * `charCodeAt` (two per 32-bit block) hashes the same bytes as
 * `Buffer.from(text, 'utf16le')` would, without allocating that buffer: the
 * hash balancer runs this once per request. For ASCII text the result
 * therefore differs from murmur3 over UTF-8 bytes; that does not matter here,
 * since ring points and request keys are hashed the same way.
 *
 * MurmurHash3 is not cryptographic: it is chosen for speed and for its
 * avalanche (each input bit flips about half the output bits), so keys that
 * differ by one character, such as consecutive client IPs or `host#1` and
 * `host#2`, land far apart on the ring.
 *
 * @returns an unsigned 32-bit integer.
 */
export function murmur3(text: string, seed = 0): number {
  const length = text.length;
  const blocks = length >>> 1;
  let h = seed >>> 0;
  for (let i = 0; i < blocks; i++) {
    const k = text.charCodeAt(2 * i) | (text.charCodeAt(2 * i + 1) << 16);
    h ^= mixBlock(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if ((length & 1) === 1) {
    // Tail: two bytes left over, the last code unit.
    h ^= mixBlock(text.charCodeAt(length - 1));
  }
  h ^= length * 2; // the length in bytes of the UTF-16LE encoding
  return finalMix(h);
}

function mixBlock(block: number): number {
  let k = Math.imul(block, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

/** fmix32: forces every input bit to affect every output bit. */
function finalMix(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
