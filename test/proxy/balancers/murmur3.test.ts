import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { murmur3 } from '../../../src/proxy/balancers/murmur3.js';

/** A straightforward MurmurHash3 x86_32 over bytes, as in SMHasher, to check the string version against. */
function murmur3Bytes(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const whole = bytes.length & ~3;
  const byte = (i: number): number => bytes[i] ?? 0;
  const mix = (block: number): number => {
    let k = Math.imul(block, c1);
    k = (k << 15) | (k >>> 17);
    return Math.imul(k, c2);
  };
  for (let i = 0; i < whole; i += 4) {
    h ^= mix(byte(i) | (byte(i + 1) << 8) | (byte(i + 2) << 16) | (byte(i + 3) << 24));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = bytes.length & 3;
  if (rest > 0) {
    let tail = byte(whole);
    if (rest > 1) tail ^= byte(whole + 1) << 8;
    if (rest > 2) tail ^= byte(whole + 2) << 16;
    h ^= mix(tail);
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

describe('murmur3 hash', () => {
  it('matches the published MurmurHash3 x86_32 test vectors (byte reference)', () => {
    const vectors: [string, number, number][] = [
      ['', 0, 0],
      ['', 1, 0x514e28b7],
      ['', 0xffffffff, 0x81f16f39],
      ['\0\0\0\0', 0, 0x2362f9de],
      ['aaaa', 0x9747b28c, 0x5a97808a],
      ['Hello, world!', 0x9747b28c, 0x24884cba],
      ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
    ];
    for (const [text, seed, expected] of vectors) {
      assert.equal(murmur3Bytes(Buffer.from(text, 'latin1'), seed), expected, text);
    }
  });

  it('hashes a string exactly as MurmurHash3 over its UTF-16LE bytes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.nat(), (text, seed) => {
        assert.equal(murmur3(text, seed), murmur3Bytes(Buffer.from(text, 'utf16le'), seed));
      }),
      { numRuns: 500 },
    );
  });

  it('returns an unsigned 32-bit integer', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const h = murmur3(text);
        assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32);
      }),
    );
  });
});
