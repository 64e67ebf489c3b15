/**
 * Shows message bytes as a person should read them: text stays text in any
 * language (`"你好"`), and only what cannot be read is escaped. Pure.
 */

/** Escapes for the ASCII controls people know by name, and for the quote and backslash. */
const NAMED: Readonly<Record<number, string>> = {
  0x09: '\\t',
  0x0a: '\\n',
  0x0d: '\\r',
  0x22: '\\"',
  0x5c: '\\\\',
};

/**
 * Length of the well-formed UTF-8 sequence at `i` (1-4), or 0 when the byte
 * there does not start one: RFC 3629 section 4's table, which rules out
 * overlong forms, surrogates and code points above U+10FFFF.
 */
export function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i] ?? 0;
  if (b0 < 0x80) return 1;
  const inRange = (offset: number, lo: number, hi: number): boolean => {
    const b = bytes[i + offset];
    return b !== undefined && b >= lo && b <= hi;
  };
  const tail = (from: number, to: number): boolean => {
    for (let k = from; k <= to; k++) if (!inRange(k, 0x80, 0xbf)) return false;
    return true;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return tail(1, 1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    const [lo, hi] = b0 === 0xe0 ? [0xa0, 0xbf] : b0 === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return inRange(1, lo, hi) && tail(2, 2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const [lo, hi] = b0 === 0xf0 ? [0x90, 0xbf] : b0 === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return inRange(1, lo, hi) && tail(2, 3) ? 4 : 0;
  }
  return 0;
}

/** Controls, format characters, unassigned and private-use code points, and line/paragraph separators. */
const UNPRINTABLE = /^[\p{C}\p{Zl}\p{Zp}]$/u;

function hex(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, '0')}`;
}

/**
 * The bytes as a quoted string: valid, printable UTF-8 as itself; `\n`,
 * `\r`, `\t`, `\"` and `\\` by name; other ASCII controls and every byte
 * that is not part of a well-formed UTF-8 sequence as `\xHH`; a valid but
 * unprintable code point (U+200B, U+0085) as `\u{HHHH}`. At most `max`
 * characters are shown, then `…`; a character is never cut in half.
 */
export function showText(bytes: Uint8Array, max = 48): string {
  let out = '';
  let shown = 0;
  let i = 0;
  while (i < bytes.length) {
    if (shown >= max) return `"${out}…"`;
    const len = utf8SequenceLength(bytes, i);
    if (len === 0) {
      out += hex(bytes[i] ?? 0);
      i++;
    } else if (len === 1) {
      const b = bytes[i] ?? 0;
      out += NAMED[b] ?? (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : hex(b));
      i++;
    } else {
      const char = Buffer.from(bytes.subarray(i, i + len)).toString('utf8');
      const code = char.codePointAt(0) ?? 0;
      out += UNPRINTABLE.test(char) ? `\\u{${code.toString(16).padStart(4, '0')}}` : char;
      i += len;
    }
    shown++;
  }
  return `"${out}"`;
}
