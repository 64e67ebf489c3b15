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
 * - an HTTP/1.1 request has exactly one Host (§3.2), and it is not empty;
 * - an absolute-form target names a host and no userinfo (RFC 9110 §4.2.1, §4.2.4);
 * - a field name with `_` is dropped by default (see {@link HeadOptions}).
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

/**
 * What a request's field names with `_` get. A target (or a CGI-style
 * framework) that folds `_` into `-` would read an `X_Forwarded_For` as the
 * `X-Forwarded-For` the gateway wrote, so they are dropped by default, as
 * nginx does (`underscores_in_headers off`); `pass` keeps them, `refuse`
 * answers 400.
 */
export type Underscores = 'drop' | 'pass' | 'refuse';

export interface HeadOptions {
  readonly underscores: Underscores;
}

const DEFAULT_HEAD_OPTIONS: HeadOptions = { underscores: 'drop' };

/** The method and target of a request line as far as they could be read, `-` otherwise (for logs). */
export interface RequestLine {
  readonly method: string;
  readonly target: string;
}

export interface RequestHead extends H1Head {
  readonly method: string;
  /** The request-target as sent. */
  readonly target: string;
  /** `Expect: 100-continue`. */
  readonly expectContinue: boolean;
}

/**
 * A response head as the relay needs it: framing, and the header lines to
 * pass on, already without hop-by-hop fields (RFC 9110 §7.6.1: Connection
 * and what it names, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade,
 * Proxy-*) and without Content-Length (the framing is the relay's to write).
 * Built by copying runs of the received lines, not field by field.
 */
export interface ResponseHead {
  readonly status: number;
  readonly reason: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly versionMinor: number;
  /** The Content-Length, or -1 when there is none (or Transfer-Encoding overrides it). */
  readonly contentLength: number;
  /** Chunked; when neither this nor a Content-Length, the body runs to the close. */
  readonly chunked: boolean;
  /** The target will close the connection after this response. */
  readonly close: boolean;
  /** Connection names `upgrade` and an Upgrade field is present. */
  readonly upgrade: boolean;
  /** The end-to-end header lines, each ending in CRLF. */
  readonly fields: string;
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
export function parseRequestHead(
  buf: Buffer,
  start: number,
  end: number,
  options: HeadOptions = DEFAULT_HEAD_OPTIONS,
): RequestHead {
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
  // Not origin-form ('/'): absolute-form (or authority-form, '*'), checked for what RFC 9110 forbids.
  if (buf[targetStart] !== 47) checkAbsoluteTarget(target);
  const versionMinor = parseVersion(buf, i + 1, lineEnd, true);
  const fields = parseFields(buf, lineEnd + 2, end - 2, 400, options.underscores);
  const { headers } = fields;

  const host = headers.host;
  if (typeof host === 'string' && (host === '' || !HOST.test(host)))
    throw new H1Error(400, host === '' ? 'empty Host' : 'invalid Host');
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

/**
 * An absolute-form target (RFC 9112 §3.2.2) with userinfo (`http://user@host/`,
 * an error per RFC 9110 §4.2.4, and a way to make a target and a log disagree
 * about the host) or without a host (§4.2.1: such a URI is invalid) is refused.
 */
function checkAbsoluteTarget(target: string): void {
  const scheme = target.indexOf('://');
  if (scheme < 0) return;
  let authorityEnd = target.length;
  for (let k = scheme + 3; k < target.length; k++) {
    const c = target.charCodeAt(k);
    if (c === 47 || c === 63 || c === 35) {
      authorityEnd = k; // '/', '?', '#'
      break;
    }
  }
  if (target.lastIndexOf('@', authorityEnd - 1) > scheme)
    throw new H1Error(400, 'userinfo in the request-target');
  if (authorityEnd === scheme + 3) throw new H1Error(400, 'no host in the request-target');
}

/** The method and target at the start of `buf[start…]`, as far as they are well formed (for logs). */
export function requestLineOf(buf: Buffer | undefined, start: number): RequestLine {
  if (buf === undefined) return { method: '-', target: '-' };
  const limit = Math.min(buf.length, start + 4096);
  let i = start;
  while (i < limit && i - start < 32 && TOKEN[buf[i] ?? 0] === 1) i++;
  if (i === start || buf[i] !== SP) return { method: '-', target: '-' };
  const method = buf.toString('latin1', start, i);
  const targetStart = ++i;
  while (i < limit && TARGET[buf[i] ?? 0] === 1) i++;
  const target =
    i === targetStart ? '-' : buf.toString('latin1', targetStart, Math.min(i, targetStart + 1024));
  return { method, target };
}

/**
 * Whether a trailer field may be passed on (RFC 9110 §6.5.1): never the
 * message's framing (Content-Length, Transfer-Encoding), its routing (Host),
 * hop-by-hop fields (Connection, Keep-Alive, TE, Trailer, Upgrade, Proxy-*),
 * Expect, or the X-Forwarded-* the gateway writes; names with `_` only when
 * they are kept in heads too.
 */
export function trailerFieldKept(name: string, keepUnderscores: boolean): boolean {
  const lower = name.toLowerCase();
  if (!keepUnderscores && lower.includes('_')) return false;
  return !(
    TRAILER_DROPPED.has(lower) ||
    lower.startsWith('proxy-') ||
    lower.startsWith('x-forwarded-')
  );
}

const TRAILER_DROPPED = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'http2-settings',
  'forwarded',
]);

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

  // One pass: framing fields are read, hop-by-hop ones dropped, the rest kept as runs of lines.
  const fieldsEnd = end - 2;
  let i = lineEnd + 2;
  let runs = 0;
  let length: string | undefined;
  let te: string | undefined;
  let connection: string | undefined;
  let upgradeField = false;
  let count = 0;
  while (i < fieldsEnd) {
    const next = scanField(buf, i, 502);
    if (++count > MAX_HEADER_FIELDS) throw new H1Error(431, 'too many header fields');
    const kind = responseFieldKind(buf, i, FIELD[0] ?? i);
    if (kind === KEEP) {
      // Extend the last run when this line follows it, else start a new one.
      if (runs > 0 && RUNS[runs * 2 - 1] === i) RUNS[runs * 2 - 1] = next;
      else {
        RUNS[runs * 2] = i;
        RUNS[runs * 2 + 1] = next;
        runs++;
      }
    } else if (kind !== DROP) {
      const value = buf.toString('latin1', FIELD[1], FIELD[2]);
      if (kind === CONTENT_LENGTH) length = length === undefined ? value : `${length}, ${value}`;
      else if (kind === TRANSFER_ENCODING) te = te === undefined ? value : `${te}, ${value}`;
      else if (kind === CONNECTION)
        connection = connection === undefined ? value : `${connection}, ${value}`;
      else upgradeField = true;
    }
    i = next;
  }
  let contentLength = -1;
  let chunked = false;
  if (te !== undefined) {
    // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3 item 3). Only chunked is
    // decoded here; a body in another coding (gzip, …) cannot be relayed as it is, since the
    // coding is hop-by-hop and its name would be lost: 502, as nginx answers.
    const codings = tokenList(te);
    if (codings.length !== 1 || codings[0] !== 'chunked')
      throw new H1Error(502, `unsupported transfer coding ${JSON.stringify(te)}`);
    chunked = true;
  } else contentLength = parseContentLength(length, 502);
  const tokens = connection === undefined ? undefined : tokenList(connection);
  let fields = '';
  const named = tokens === undefined ? undefined : namedFields(tokens);
  if (named !== undefined) {
    // Connection names other fields (rare): those go too, read line by line.
    fields = keptFieldsExcept(buf, lineEnd + 2, fieldsEnd, named);
  } else {
    for (let r = 0; r < runs; r++) fields += buf.toString('latin1', RUNS[r * 2], RUNS[r * 2 + 1]);
  }
  return {
    status,
    reason,
    versionMinor,
    contentLength,
    chunked,
    close: tokens === undefined ? versionMinor === 0 : closes(tokens, versionMinor),
    upgrade: upgradeField && tokens?.includes('upgrade') === true,
    fields,
  };
}

const KEEP = 0;
const DROP = 1;
const CONTENT_LENGTH = 2;
const TRANSFER_ENCODING = 3;
const CONNECTION = 4;
const UPGRADE = 5;

/** Scratch: where scanField found the name's end, the value's start and end. */
const FIELD = new Int32Array(3);
/** Scratch: runs of kept lines, [start, end) pairs. */
const RUNS = new Int32Array(MAX_HEADER_FIELDS * 2 + 2);

/** What the relay does with a response field, from its name's bytes (no string made). */
function responseFieldKind(buf: Buffer, start: number, end: number): number {
  const n = end - start;
  const c = (buf[start] ?? 0) | 0x20;
  if (n === 14 && c === 99 && nameIs(buf, start, 'content-length')) return CONTENT_LENGTH;
  if (n === 17 && c === 116 && nameIs(buf, start, 'transfer-encoding')) return TRANSFER_ENCODING;
  if (n === 10 && c === 99 && nameIs(buf, start, 'connection')) return CONNECTION;
  if (n === 7 && c === 117 && nameIs(buf, start, 'upgrade')) return UPGRADE;
  if (
    (n === 10 && c === 107 && nameIs(buf, start, 'keep-alive')) ||
    (n === 2 && c === 116 && nameIs(buf, start, 'te')) ||
    (n === 7 && c === 116 && nameIs(buf, start, 'trailer')) ||
    (n === 14 && c === 104 && nameIs(buf, start, 'http2-settings')) ||
    (n >= 6 && c === 112 && nameIs(buf, start, 'proxy-'))
  )
    return DROP;
  return KEEP;
}

/** The bytes at `start` spell `lower`, ignoring ASCII case (the name is a token). */
function nameIs(buf: Buffer, start: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++)
    if (((buf[start + k] ?? 0) | 0x20) !== lower.charCodeAt(k)) return false;
  return true;
}

/** The kept lines, dropping also every field named in `named` (lower case). */
function keptFieldsExcept(buf: Buffer, at: number, end: number, named: Set<string>): string {
  let out = '';
  let i = at;
  while (i < end) {
    const next = scanField(buf, i, 502);
    const nameEnd = FIELD[0] ?? i;
    if (
      responseFieldKind(buf, i, nameEnd) === KEEP &&
      !named.has(buf.toString('latin1', i, nameEnd).toLowerCase())
    )
      out += buf.toString('latin1', i, next);
    i = next;
  }
  return out;
}

function closes(tokens: readonly string[], versionMinor: number): boolean {
  return tokens.includes('close') || (versionMinor === 0 && !tokens.includes('keep-alive'));
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
export function parseFields(
  buf: Buffer,
  at: number,
  end: number,
  status = 400,
  underscores: Underscores = 'pass',
): Fields {
  const headers: HeaderMap = Object.create(null) as HeaderMap;
  const raw: string[] = [];
  let hosts = 0;
  let i = at;
  while (i < end) {
    const next = scanField(buf, i, status);
    const name = buf.toString('latin1', i, FIELD[0]);
    i = next;
    if (underscores !== 'pass' && name.includes('_')) {
      if (underscores === 'refuse') throw new H1Error(status, 'a header name with "_"');
      continue;
    }
    const value = buf.toString('latin1', FIELD[1], FIELD[2]);
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

/**
 * Checks the header line at `at` (a token name, a colon, a value without
 * control characters, CRLF), leaves where its name ends and its value
 * (without surrounding whitespace) starts and ends in FIELD, and returns
 * where the next line starts.
 */
function scanField(buf: Buffer, at: number, status: number): number {
  let i = at;
  while (TOKEN[buf[i] ?? 0] === 1) i++;
  if (i === at || buf[i] !== COLON) {
    const c = buf[i];
    throw new H1Error(
      status,
      i === at && (c === SP || c === HTAB)
        ? 'obsolete line folding'
        : i === at
          ? 'malformed header line'
          : c === SP || c === HTAB
            ? 'whitespace before the colon'
            : 'invalid character in a header name',
    );
  }
  FIELD[0] = i;
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
  FIELD[1] = valueStart;
  FIELD[2] = valueEnd;
  return i + 2;
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

/** The fields a Connection header's tokens name (not its options), or undefined for none. */
function namedFields(tokens: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (const token of tokens)
    if (token !== 'close' && token !== 'keep-alive' && token !== 'upgrade')
      (named ??= new Set()).add(token);
  return named;
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
  return {
    close: closes(tokens, versionMinor),
    upgrade: tokens.includes('upgrade') && headers.upgrade !== undefined,
  };
}
