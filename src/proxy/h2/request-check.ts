/**
 * Is an HTTP/2 request well formed (RFC 9113 §8.1.1, §8.2, §8.3)? An
 * intermediary MUST NOT forward a malformed request (§8.1.1), so the
 * gateway checks the decoded field list — flat `name, value, ...` as the
 * HPACK decoder gives it — before a call is routed. Pure: no I/O.
 *
 * Each check answers `undefined` (well formed) or a fixed reason string:
 * reasons never quote client bytes, so they can go into logs as they are.
 */

/**
 * `tchar` of RFC 9110 §5.6.2 without upper-case letters: what a field name may
 * hold in HTTP/2 (§8.2.1: upper case is malformed; so are 0x00-0x20 and 0x7F-0xFF).
 */
const NAME_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")
  NAME_CHAR[c.charCodeAt(0)] = 1;

/** NUL, CR and LF are never valid in a field value (§8.2.1). */
const BAD_VALUE_CHAR = /[\0\r\n]/;

/**
 * Connection-specific fields (§8.2.2): an HTTP/2 message carrying one is
 * malformed. `te` is checked apart: it may be `trailers`, nothing else.
 */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** The request pseudo-header fields (§8.3.1) by bit, to find duplicates. */
const PSEUDO_BIT: Readonly<Record<string, number>> = {
  ':method': 1,
  ':scheme': 2,
  ':path': 4,
  ':authority': 8,
};

/** Most content-length digits accepted: 15 stay exact as a JS number. */
const MAX_LENGTH_DIGITS = 15;

/**
 * Checks a request's header block. `endStream` is the HEADERS frame's
 * END_STREAM flag: a request that ends there has no content, so a
 * content-length above 0 is malformed (§8.1.1).
 */
export function checkRequestFields(
  fields: readonly string[],
  endStream: boolean,
): string | undefined {
  let seen = 0;
  let regular = false;
  let method = '';
  let path = '';
  let authority: string | undefined;
  let host: string | undefined;
  let length: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] ?? '';
    const value = fields[i + 1] ?? '';
    if (name.charCodeAt(0) === 58 /* : */) {
      // §8.3: pseudo-headers come first, each once, only those defined for requests.
      if (regular) return 'pseudo-header field after a regular field';
      const bit = PSEUDO_BIT[name];
      if (bit === undefined) return 'unknown pseudo-header field';
      if ((seen & bit) !== 0) return 'repeated pseudo-header field';
      seen |= bit;
      const bad = badValue(value);
      if (bad !== undefined) return bad;
      if (bit === 1) method = value;
      else if (bit === 4) path = value;
      else if (bit === 8) authority = value;
      continue;
    }
    regular = true;
    const bad = badField(name, value);
    if (bad !== undefined) return bad;
    if (name === 'host') {
      if (host !== undefined) return 'repeated host field';
      host = value;
    } else if (name === 'content-length') {
      if (length !== undefined) return 'repeated content-length field';
      if (!isDigits(value)) return 'content-length is not a number';
      length = value;
    }
  }
  if (method === 'CONNECT') {
    // §8.5: CONNECT names an authority and nothing else.
    if ((seen & 6) !== 0 || authority === undefined) return 'malformed CONNECT request';
  } else {
    if ((seen & 7) !== 7) return 'missing :method, :scheme or :path';
    // §8.3.1: never empty; origin form, or `*` (OPTIONS) only.
    if (path.charCodeAt(0) !== 47 /* / */ && !(path === '*' && method === 'OPTIONS')) {
      return ':path is empty or not a path';
    }
  }
  if (method === '') return ':method is empty';
  // §8.3.1: a Host that names another entity than :authority is malformed.
  if (
    host !== undefined &&
    authority !== undefined &&
    host.toLowerCase() !== authority.toLowerCase()
  ) {
    return 'host differs from :authority';
  }
  if (endStream && length !== undefined && Number(length) > 0) {
    return 'content-length above 0 on a request without content';
  }
  return undefined;
}

/** Checks a trailer block: regular fields only (§8.1), each well formed. */
export function checkTrailerFields(fields: readonly string[]): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] ?? '';
    if (name.charCodeAt(0) === 58) return 'pseudo-header field in trailers';
    const bad = badField(name, fields[i + 1] ?? '');
    if (bad !== undefined) return bad;
  }
  return undefined;
}

/** The declared content-length of checked fields, or -1 when there is none. */
export function declaredLength(fields: readonly string[]): number {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'content-length') return Number(fields[i + 1]);
  }
  return -1;
}

/** A regular field's name and value (§8.2.1, §8.2.2). */
function badField(name: string, value: string): string | undefined {
  if (name.length === 0) return 'empty field name';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || NAME_CHAR[c] !== 1)
      return 'field name with upper case or a non-token character';
  }
  if (CONNECTION_SPECIFIC.has(name)) return 'connection-specific field';
  if (name === 'te' && value !== 'trailers') return 'te other than trailers';
  return badValue(value);
}

/** §8.2.1: no NUL, CR or LF; no space or tab at either end. */
function badValue(value: string): string | undefined {
  if (value.length === 0) return undefined;
  if (BAD_VALUE_CHAR.test(value)) return 'NUL, CR or LF in a field value';
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  if (first === 32 || first === 9 || last === 32 || last === 9) {
    return 'field value with leading or trailing whitespace';
  }
  return undefined;
}

function isDigits(value: string): boolean {
  if (value.length === 0 || value.length > MAX_LENGTH_DIGITS) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
