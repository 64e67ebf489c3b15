import { invalidArgument } from '../../shared/errors.js';

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  '0': 0x00,
  '\\': 0x5c,
};

/**
 * Parses a delimiter as typed on a command line: `\n`, `\r\n`, `\0`, `\t`,
 * `\\`, `\xHH`, or literal characters (UTF-8). Throws GW_ERR_INVALID_ARGUMENT
 * for an empty delimiter or an unknown escape.
 */
export function parseDelimiter(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (ch !== '\\') {
      bytes.push(...Buffer.from(ch, 'utf8'));
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) {
      throw invalidArgument('--delimiter', text, 'a lone backslash at the end; write \\\\ for one');
    }
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      bytes.push(simple);
      i++;
    } else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      throw invalidArgument(
        '--delimiter',
        text,
        `unknown escape \\${next}; use \\n, \\r, \\t, \\0, \\\\ or \\xHH`,
      );
    }
  }
  if (bytes.length === 0) throw invalidArgument('--delimiter', text, 'must not be empty');
  return Buffer.from(bytes);
}

/** A delimiter shown back as escapes, the way a user would type it. */
export function describeDelimiter(delimiter: Buffer): string {
  let out = '';
  for (const byte of delimiter) {
    const name = Object.entries(SIMPLE_ESCAPES).find(([, v]) => v === byte)?.[0];
    if (name !== undefined) out += `\\${name}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}
