import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { showText, utf8SequenceLength } from '../../../src/net/tcp-echo/show-text.js';

describe('showText', () => {
  it('shows Chinese and other UTF-8 text as text, not as escaped bytes', () => {
    assert.equal(showText(Buffer.from('你好')), '"你好"');
    assert.equal(showText(Buffer.from('héllo, мир, 🙂')), '"héllo, мир, 🙂"');
  });

  it('escapes ASCII controls, quotes and backslashes by name or as \\xHH', () => {
    assert.equal(showText(Buffer.from('a\n\r\t"\\\x00\x7f')), '"a\\n\\r\\t\\"\\\\\\x00\\x7f"');
  });

  it('escapes only the bytes that are not well-formed UTF-8', () => {
    // A character cut by a read (拆包 inside a character), a stray byte, an overlong form, a surrogate.
    assert.equal(showText(Buffer.from([0xe4, 0xbd])), '"\\xe4\\xbd"');
    assert.equal(showText(Buffer.from([0xbd, 0xa0, 0xe5, 0xa5, 0xbd])), '"\\xbd\\xa0好"');
    assert.equal(showText(Buffer.from([0xff, 0x41])), '"\\xffA"');
    assert.equal(showText(Buffer.from([0xc0, 0xaf])), '"\\xc0\\xaf"');
    assert.equal(showText(Buffer.from([0xed, 0xa0, 0x80])), '"\\xed\\xa0\\x80"');
  });

  it('escapes valid but invisible code points as \\u{…}', () => {
    assert.equal(showText(Buffer.from('a\u200bb\u0085')), '"a\\u{200b}b\\u{0085}"');
  });

  it('cuts after max characters, never inside one', () => {
    assert.equal(showText(Buffer.from('你好世界'), 2), '"你好…"');
  });

  it('shows any printable string exactly as it is, quoted', () => {
    const printable = fc
      .string({ unit: 'grapheme', maxLength: 40 })
      .filter((s) => !/[\p{C}\p{Zl}\p{Zp}"\\]/u.test(s));
    fc.assert(
      fc.property(printable, (s) => showText(Buffer.from(s), 1000) === `"${s}"`),
      { numRuns: 300 },
    );
  });

  it('agrees with the WHATWG decoder on which bytes are well-formed UTF-8', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const oneChar = (bytes: Uint8Array): boolean => {
      try {
        const text = strict.decode(bytes);
        const first = text.codePointAt(0);
        return first !== undefined && text.length === (first > 0xffff ? 2 : 1);
      } catch {
        return false;
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4 }), (bytes) => {
        const len = utf8SequenceLength(bytes, 0);
        if (len > 0 && !oneChar(bytes.subarray(0, len))) return false;
        if (oneChar(bytes)) return len === bytes.length;
        return true;
      }),
      { numRuns: 3000 },
    );
  });
});
