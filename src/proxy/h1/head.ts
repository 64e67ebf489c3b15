/**
 * A strict HTTP/1.1 message-head parser (RFC 9112), for the gateway's own
 * HTTP/1.1 relay. Strict on purpose, because a proxy that is lenient where
 * its target is strict (or the reverse) is how requests get smuggled:
 *
 * - every line ends in CRLF; a bare LF or CR is an error;
 * - no whitespace between a field name and its colon, no obs-fold (§5.1, §5.2);
 * - field names are tokens, field values hold no control characters;
 * - Content-Length is digits only, and repeated values must agree (§6.3);
 * - Transfer-Encoding with Content-Length, on HTTP/1.0, or not ending in
 *   `chunked` is refused in a request (§6.1, §6.3);
 * - an HTTP/1.1 request has exactly one Host (§3.2).
 *
 * The parser works on a complete head: {@link findHeadEnd} says where it ends.
 */

/** A header map as Node builds it: lower-case names, `set-cookie` an array, other repeats joined. */
export type HeaderMap = Record<string, string | string[] | undefined>;

/** A message head the parser refused; `status` is the HTTP answer for a request. */
export class H1Error extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'H1Error';
    this.status = status;
  }
}

/** What a request and a response head share. */
export interface H1Head {
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly versionMinor: number;
  readonly headers: HeaderMap;
  /** Header fields as received, flat: name (as sent), value, name, value… */
  readonly raw: string[];
  /** The Content-Length, or -1 when there is none (or Transfer-Encoding overrides it). */
  readonly contentLength: number;
  /** The body is chunked. */
  readonly chunked: boolean;
  /** The sender will close (or wants closed) the connection after this message. */
  readonly close: boolean;
  /** Connection names `upgrade` and an Upgrade header is present. */
  readonly upgrade: boolean;
}

export interface RequestHead extends H1Head {
  readonly method: string;
  /** The request-target as sent. */
  readonly target: string;
  /** `Expect: 100-continue`. */
  readonly expectContinue: boolean;
}

export interface ResponseHead extends H1Head {
  readonly status: number;
  readonly reason: string;
  /** Transfer-Encoding is present without a final `chunked`: the body runs to the close. */
  readonly untilClose: boolean;
}

/** At most this many header fields in one head (431 beyond). */
export const MAX_HEADER_FIELDS = 256;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

/** tchar (RFC 9110 §5.6.2). */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TOKEN[c] = 1;
for (let c = 65; c <= 90; c++) TOKEN[c] = 1;
for (let c = 97; c <= 122; c++) TOKEN[c] = 1;

/** field-vchar, SP and HTAB: what a field value may hold (RFC 9110 §5.5). */
const FIELD_VALUE = new Uint8Array(256);
for (let c = 0x20; c <= 0x7e; c++) FIELD_VALUE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) FIELD_VALUE[c] = 1;
FIELD_VALUE[HTAB] = 1;

/** What a request-target may hold: visible ASCII and (as nginx allows) raw UTF-8 bytes. */
const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET[c] = 1;
for (let c = 0x80; c <= 0xff; c++) TARGET[c] = 1;

/** A Host value: reg-name or IP literal, optional port (RFC 9112 §3.2, RFC 3986 §3.2.2). */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/**
 * Where the head that starts at `start` ends: the index just past its empty
 * line, or -1 when more bytes are needed. `from` is where an earlier call
 * stopped looking (pass `start` the first time). Throws on a bare LF.
 */
export function findHeadEnd(buf: Buffer, start: number, from: number): number {
  let i = buf.indexOf(LF, Math.max(from, start));
  while (i >= 0) {
    if (i === start || buf[i - 1] !== CR) throw new H1Error(400, 'a line ends in a bare LF');
    // An empty line: CRLF right after the previous LF (or at the very start).
    if (i - 1 === start || (i >= start + 3 && buf[i - 2] === LF)) return i + 1;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

/** Where an incomplete head's scan may resume: a line end may straddle the old tail. */
export function resumeAt(length: number, start: number): number {
  return Math.max(start, length - 3);
}

/** Skips the empty lines a client may send before a request line (RFC 9112 §2.2). */
export function skipLeadingCrlf(buf: Buffer, start: number, end: number): number {
  let i = start;
  while (i + 1 < end && buf[i] === CR && buf[i + 1] === LF) i += 2;
  return i;
}

/** Parses a complete request head, `buf[start, end)` as {@link findHeadEnd} delimited it. */
export function parseRequestHead(buf: Buffer, start: number, end: number): RequestHead {
  const lineEnd = buf.indexOf(CR, start);
  if (buf[lineEnd + 1] !== LF) throw new H1Error(400, 'a line ends in a bare CR');
  // method SP request-target SP HTTP-version
  let i = start;
  while (i < lineEnd && TOKEN[buf[i] ?? 0] === 1) i++;
  if (i === start || buf[i] !== SP) throw new H1Error(400, 'malformed request line (method)');
  const method = buf.toString('latin1', start, i);
  const targetStart = ++i;
  while (i < lineEnd && TARGET[buf[i] ?? 0] === 1) i++;
  if (i === targetStart || buf[i] !== SP)
    throw new H1Error(400, 'malformed request line (request-target)');
  const target = buf.toString('latin1', targetStart, i);
  const versionMinor = parseVersion(buf, i + 1, lineEnd, true);
  const fields = parseFields(buf, lineEnd + 2, end - 2);
  const { headers } = fields;

  const host = headers.host;
  if (typeof host === 'string' && !HOST.test(host)) throw new H1Error(400, 'invalid Host');
  if (versionMinor === 1) {
    if (fields.hosts !== 1)
      throw new H1Error(400, fields.hosts === 0 ? 'no Host header' : 'more than one Host header');
  } else if (fields.hosts > 1) throw new H1Error(400, 'more than one Host header');

  let contentLength = -1;
  let chunked = false;
  const te = headers['transfer-encoding'];
  if (te !== undefined) {
    if (versionMinor === 0) throw new H1Error(400, 'Transfer-Encoding in an HTTP/1.0 request');
    if (headers['content-length'] !== undefined)
      throw new H1Error(400, 'both Content-Length and Transfer-Encoding');
    const codings = tokenList(te as string);
    if (codings.length === 0) throw new H1Error(400, 'empty Transfer-Encoding');
    if (codings.at(-1) !== 'chunked')
      throw new H1Error(
        codings.includes('chunked') ? 400 : 501,
        'Transfer-Encoding must end in chunked',
      );
    if (codings.length > 1)
      throw new H1Error(
        codings.indexOf('chunked') < codings.length - 1 ? 400 : 501,
        'unsupported transfer coding',
      );
    chunked = true;
  } else {
    contentLength = parseContentLength(headers['content-length'] as string | undefined);
  }
  const connection = connectionFlags(headers, versionMinor);
  const expect = headers.expect;
  return {
    method,
    target,
    versionMinor,
    headers,
    raw: fields.raw,
    contentLength,
    chunked,
    close: connection.close,
    upgrade: connection.upgrade,
    expectContinue: typeof expect === 'string' && expect.toLowerCase() === '100-continue',
  };
}

/** Parses a complete response head. Errors say what is wrong; the caller answers 502. */
export function parseResponseHead(buf: Buffer, start: number, end: number): ResponseHead {
  const lineEnd = buf.indexOf(CR, start);
  if (buf[lineEnd + 1] !== LF) throw new H1Error(502, 'a line ends in a bare CR');
  // HTTP-version SP status-code SP [ reason-phrase ]
  if (buf[start + 8] !== SP) throw new H1Error(502, 'malformed status line');
  const versionMinor = parseVersion(buf, start, start + 8, false);
  const d0 = (buf[start + 9] ?? 0) - 48;
  const d1 = (buf[start + 10] ?? 0) - 48;
  const d2 = (buf[start + 11] ?? 0) - 48;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9)
    throw new H1Error(502, 'malformed status code');
  const status = d0 * 100 + d1 * 10 + d2;
  let reason = '';
  if (start + 12 < lineEnd) {
    if (buf[start + 12] !== SP) throw new H1Error(502, 'malformed status line');
    for (let i = start + 13; i < lineEnd; i++)
      if (FIELD_VALUE[buf[i] ?? 0] !== 1) throw new H1Error(502, 'control character in reason');
    reason = buf.toString('latin1', start + 13, lineEnd);
  } else if (start + 12 !== lineEnd) throw new H1Error(502, 'malformed status line');
  const fields = parseFields(buf, lineEnd + 2, end - 2, 502);
  const { headers } = fields;
  let contentLength = -1;
  let chunked = false;
  let untilClose = false;
  const te = headers['transfer-encoding'];
  if (te !== undefined) {
    // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3 item 3).
    if (tokenList(te as string).at(-1) === 'chunked') chunked = true;
    else untilClose = true;
  } else {
    contentLength = parseContentLength(headers['content-length'] as string | undefined, 502);
  }
  const connection = connectionFlags(headers, versionMinor);
  return {
    status,
    reason,
    versionMinor,
    headers,
    raw: fields.raw,
    contentLength,
    chunked,
    untilClose,
    close: connection.close,
    upgrade: connection.upgrade,
  };
}

/** Reads `HTTP/1.x` in `buf[at, lineEnd)`; a request gets 505 for another version. */
function parseVersion(buf: Buffer, at: number, lineEnd: number, request: boolean): number {
  const bad = request ? 400 : 502;
  if (
    lineEnd - at !== 8 ||
    buf[at] !== 72 || // H
    buf[at + 1] !== 84 || // T
    buf[at + 2] !== 84 || // T
    buf[at + 3] !== 80 || // P
    buf[at + 4] !== 47 || // /
    buf[at + 6] !== 46 // .
  )
    throw new H1Error(bad, 'malformed HTTP version');
  const major = (buf[at + 5] ?? 0) - 48;
  const minor = (buf[at + 7] ?? 0) - 48;
  if (major < 0 || major > 9 || minor < 0 || minor > 9)
    throw new H1Error(bad, 'malformed HTTP version');
  if (major !== 1 || minor > 1)
    throw new H1Error(request ? 505 : 502, `HTTP/${major}.${minor} is not supported`);
  return minor;
}

interface Fields {
  readonly headers: HeaderMap;
  readonly raw: string[];
  readonly hosts: number;
}

/**
 * Parses the header lines in `buf[at, end)` (each ending in CRLF, the final
 * empty line excluded). Repeated fields are joined as Node joins them.
 */
export function parseFields(buf: Buffer, at: number, end: number, status = 400): Fields {
  const headers: HeaderMap = Object.create(null) as HeaderMap;
  const raw: string[] = [];
  let hosts = 0;
  let i = at;
  while (i < end) {
    const nameStart = i;
    while (TOKEN[buf[i] ?? 0] === 1) i++;
    if (i === nameStart || buf[i] !== COLON) {
      const c = buf[i];
      throw new H1Error(
        status,
        i === nameStart && (c === SP || c === HTAB)
          ? 'obsolete line folding'
          : i === nameStart
            ? 'malformed header line'
            : c === SP || c === HTAB
              ? 'whitespace before the colon'
              : 'invalid character in a header name',
      );
    }
    const name = buf.toString('latin1', nameStart, i);
    i++;
    while (buf[i] === SP || buf[i] === HTAB) i++;
    const valueStart = i;
    let valueEnd = i;
    for (;;) {
      const c = buf[i] ?? 0;
      if (c === CR) break;
      if (FIELD_VALUE[c] !== 1) throw new H1Error(status, 'invalid character in a header value');
      i++;
      if (c !== SP && c !== HTAB) valueEnd = i;
    }
    if (buf[i + 1] !== LF) throw new H1Error(status, 'a line ends in a bare CR');
    const value = buf.toString('latin1', valueStart, valueEnd);
    i += 2;
    raw.push(name, value);
    if (raw.length > MAX_HEADER_FIELDS * 2) throw new H1Error(431, 'too many header fields');
    const key = name.toLowerCase();
    if (key === 'host') hosts++;
    const prior = headers[key];
    if (prior === undefined) headers[key] = key === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prior)) prior.push(value);
    else headers[key] = `${prior}${key === 'cookie' ? '; ' : ', '}${value}`;
  }
  return { headers, raw, hosts };
}

/** A Content-Length: digits only; repeats (or a list) must all agree. -1 when absent. */
function parseContentLength(value: string | undefined, status = 400): number {
  if (value === undefined) return -1;
  let length = -1;
  let current = -1;
  for (let i = 0; i <= value.length; i++) {
    const c = i < value.length ? value.charCodeAt(i) : 44;
    if (c >= 48 && c <= 57) {
      current = current < 0 ? c - 48 : current * 10 + (c - 48);
      if (current > Number.MAX_SAFE_INTEGER) throw new H1Error(status, 'Content-Length too large');
    } else if (c === 44) {
      // `,` closes one value (the repeats of a header were joined with ", ").
      if (current < 0) throw new H1Error(status, 'malformed Content-Length');
      if (length >= 0 && current !== length)
        throw new H1Error(status, 'conflicting Content-Length values');
      length = current;
      current = -1;
      while (value.charCodeAt(i + 1) === SP) i++;
    } else throw new H1Error(status, 'malformed Content-Length');
  }
  return length;
}

/** The comma-separated tokens of a header, trimmed and lower case, empty ones dropped. */
export function tokenList(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const token = part.trim().toLowerCase();
    if (token !== '') out.push(token);
  }
  return out;
}

function connectionFlags(
  headers: HeaderMap,
  versionMinor: number,
): { close: boolean; upgrade: boolean } {
  const value = headers.connection;
  if (value === undefined) return { close: versionMinor === 0, upgrade: false };
  const tokens = tokenList(value as string);
  const close = tokens.includes('close') || (versionMinor === 0 && !tokens.includes('keep-alive'));
  return { close, upgrade: tokens.includes('upgrade') && headers.upgrade !== undefined };
}
