import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  findHeadEnd,
  H1Error,
  MAX_HEADER_FIELDS,
  parseRequestHead,
  parseResponseHead,
  requestLineOf,
  resumeAt,
  skipLeadingCrlf,
  trailerFieldKept,
  type HeadOptions,
  type HeaderMap,
  type RequestHead,
  type ResponseHead,
} from '../../../src/proxy/h1/head.js';
import { cutAt } from '../../helpers/chunks.js';
import { bytes, h1 } from '../../helpers/h1.js';

const RUNS = 200;

/** The grammar tests keep every field; the `_` policy has its own tests. */
const PASS: HeadOptions = { underscores: 'pass' };

/** Delimits `text` with findHeadEnd (which must find its very end) and parses it as a request. */
function request(text: string, options: HeadOptions = PASS): RequestHead {
  const buf = bytes(text);
  const end = findHeadEnd(buf, 0, 0);
  assert.equal(end, buf.length, 'the whole text is one head');
  return parseRequestHead(buf, 0, end, options);
}

function response(text: string): ResponseHead {
  const buf = bytes(text);
  const end = findHeadEnd(buf, 0, 0);
  assert.equal(end, buf.length, 'the whole text is one head');
  return parseResponseHead(buf, 0, end);
}

/** An HTTP/1.1 GET with a Host and the given extra field lines. */
const get = (...lines: string[]): string =>
  `GET / HTTP/1.1\r\nHost: example.com\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;

/** An HTTP/1.0 GET without a Host and with the given field lines. */
const get10 = (...lines: string[]): string =>
  `GET / HTTP/1.0\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;

/** A 200 response with the given field lines. */
const ok = (...lines: string[]): string =>
  `HTTP/1.1 200 OK\r\n${lines.map((l) => `${l}\r\n`).join('')}\r\n`;

/** A plain-prototype copy of a header map, for deepEqual. */
const plain = (headers: HeaderMap): Record<string, unknown> => ({ ...headers });

function refused(text: string, status: number, options: HeadOptions = PASS): void {
  assert.throws(() => request(text, options), h1(status), JSON.stringify(text));
}

/** Scans `buf` as a caller does, the bytes arriving in `pieces` lengths: the end, or -1. */
function scanIncrementally(full: Buffer, start: number, pieces: readonly Buffer[]): number {
  let buf = Buffer.alloc(0);
  let from = start;
  for (const piece of pieces) {
    buf = Buffer.concat([buf, piece]);
    if (buf.length <= start) continue;
    const end = findHeadEnd(buf, start, from);
    if (end >= 0) return end;
    from = resumeAt(buf.length, start);
  }
  assert.equal(buf.length, full.length);
  return -1;
}

// ---------------------------------------------------------------------------
// Arbitraries: valid heads.

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc
  .array(fc.constantFrom(...Array.from(TCHARS)), { minLength: 1, maxLength: 12 })
  .map((cs) => cs.join(''));
/** field-vchar, SP, HTAB and obs-text, as latin1 characters. */
const valueChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xff }),
  fc.constant(9),
);
const fieldValue = fc.array(valueChar, { maxLength: 30 }).map((cs) => String.fromCharCode(...cs));
const trimOws = (s: string): string => s.replace(/^[ \t]+|[ \t]+$/g, '');

/** Extension field names that trigger no framing or Host rule. */
const fieldName = fc.oneof(
  token.map((t) => `X-${t}`),
  fc.constantFrom('Accept', 'accept', 'ACCEPT', 'Cookie', 'cookie', 'Set-Cookie', 'set-cookie'),
);
const fields = fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 12 });

const requestHead = fc
  .tuple(token, fields)
  .map(
    ([method, list]) =>
      `${method} /p?q=1 HTTP/1.1\r\nHost: h\r\n${list.map(([n, v]) => `${n}:${v}\r\n`).join('')}\r\n`,
  );

// ---------------------------------------------------------------------------

describe('findHeadEnd', () => {
  it('returns the index just past the empty line of a complete head', () => {
    const head = get();
    assert.equal(findHeadEnd(bytes(head), 0, 0), head.length);
    assert.equal(findHeadEnd(bytes('GET / HTTP/1.0\r\n\r\n'), 0, 0), 18);
  });

  it('stops at the head: a body or a pipelined request after it is not scanned', () => {
    const head = get('Content-Length: 5');
    const buf = bytes(`${head}hello\nGET / HTTP/1.1\r\n\r\n`);
    assert.equal(findHeadEnd(buf, 0, 0), head.length);
  });

  it('honours start: a head after another message', () => {
    const first = 'junk\n\nbytes';
    const head = get();
    const buf = bytes(first + head);
    assert.equal(findHeadEnd(buf, first.length, first.length), buf.length);
  });

  it('returns -1 for an incomplete head', () => {
    for (const text of [
      '',
      'GET',
      'GET / HTTP/1.1',
      'GET / HTTP/1.1\r',
      'GET / HTTP/1.1\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\n\r',
    ])
      assert.equal(findHeadEnd(bytes(text), 0, 0), -1, JSON.stringify(text));
  });

  it('refuses a bare LF with a 400, wherever it is', () => {
    for (const text of [
      '\n',
      'GET / HTTP/1.1\n',
      'GET / HTTP/1.1\r\nHost: a\n\r\n',
      'GET / HTTP/1.1\r\nHost: a\r\n\n',
      'GET / HTTP/1.1\r\nHost: a\r\nX: 1\n',
    ])
      assert.throws(() => findHeadEnd(bytes(text), 0, 0), h1(400), JSON.stringify(text));
  });

  it('refuses a bare LF at start even when it follows a CR before start', () => {
    const buf = bytes('x\r\nGET / HTTP/1.1\r\n\r\n');
    assert.throws(() => findHeadEnd(buf, 2, 2), h1(400));
  });

  it('finds the end of a head that arrives byte by byte, resuming with resumeAt', () => {
    const head = get('X-A: 1', 'X-B: 2');
    const full = bytes(`${head}BODY`);
    const pieces = [...full].map((c) => Buffer.from([c]));
    assert.equal(scanIncrementally(full, 0, pieces), head.length);
  });

  it('resumeAt backs up three bytes, never before start', () => {
    assert.equal(resumeAt(10, 0), 7);
    assert.equal(resumeAt(2, 0), 0);
    assert.equal(resumeAt(10, 8), 8);
    assert.equal(resumeAt(20, 5), 17);
  });

  it('property: any split of a valid head, rescanned incrementally, ends at the same place', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 8 }),
        requestHead,
        fc.uint8Array({ maxLength: 8 }),
        fc.array(fc.nat({ max: 400 }), { maxLength: 12 }),
        fc.boolean(),
        (prefix, head, after, cuts, byteByByte) => {
          const full = Buffer.concat([Buffer.from(prefix), bytes(head), Buffer.from(after)]);
          const start = prefix.length;
          const expected = start + Buffer.byteLength(head, 'latin1');
          assert.equal(findHeadEnd(full, start, start), expected);
          const pieces = byteByByte ? [...full].map((c) => Buffer.from([c])) : cutAt(full, cuts);
          assert.equal(scanIncrementally(full, start, pieces), expected);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('property: a CRLF of a valid head turned into a bare LF is refused, whole or in pieces', () => {
    fc.assert(
      fc.property(
        requestHead,
        fc.nat(),
        fc.array(fc.nat({ max: 400 }), { maxLength: 12 }),
        (head, pick, cuts) => {
          const crlfs: number[] = [];
          for (let i = head.indexOf('\r\n'); i >= 0; i = head.indexOf('\r\n', i + 1)) crlfs.push(i);
          const at = crlfs[pick % crlfs.length] ?? 0;
          const full = bytes(head.slice(0, at) + head.slice(at + 1));
          assert.throws(() => findHeadEnd(full, 0, 0), h1(400));
          assert.throws(() => scanIncrementally(full, 0, cutAt(full, cuts)), h1(400));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('skipLeadingCrlf', () => {
  it('skips empty lines before a request line', () => {
    const buf = bytes('\r\n\r\nGET / HTTP/1.1\r\n');
    assert.equal(skipLeadingCrlf(buf, 0, buf.length), 4);
  });

  it('stops at anything that is not a full CRLF', () => {
    assert.equal(skipLeadingCrlf(bytes('GET'), 0, 3), 0);
    assert.equal(skipLeadingCrlf(bytes('\r\n\r'), 0, 3), 2);
    assert.equal(skipLeadingCrlf(bytes('\n\r\n'), 0, 3), 0);
    assert.equal(skipLeadingCrlf(bytes('\r\r\n'), 0, 3), 0);
  });

  it('respects start and end', () => {
    const buf = bytes('xx\r\n\r\n\r\n');
    assert.equal(skipLeadingCrlf(buf, 2, buf.length), buf.length);
    assert.equal(skipLeadingCrlf(buf, 2, 5), 4);
    assert.equal(skipLeadingCrlf(buf, 2, 2), 2);
  });
});

describe('parseRequestHead: request line', () => {
  it('reads method, target and version', () => {
    const head = request('POST /a/b?c=d%20e HTTP/1.1\r\nHost: h\r\n\r\n');
    assert.equal(head.method, 'POST');
    assert.equal(head.target, '/a/b?c=d%20e');
    assert.equal(head.versionMinor, 1);
    assert.equal(head.contentLength, -1);
    assert.equal(head.chunked, false);
    assert.equal(head.close, false);
    assert.equal(head.upgrade, false);
    assert.equal(head.expectContinue, false);
  });

  it('reads absolute-form, authority-form and asterisk-form targets', () => {
    assert.equal(request('GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n').target, 'http://h/x');
    assert.equal(request('CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n').target, 'h:443');
    assert.equal(request('OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n').target, '*');
  });

  it('keeps extension methods (any token) and raw UTF-8 in the target', () => {
    assert.equal(request(get().replace('GET', 'M-SEARCH')).method, 'M-SEARCH');
    const utf8 = Buffer.concat([
      bytes('GET /'),
      Buffer.from('é', 'utf8'),
      bytes(' HTTP/1.1\r\nHost: h\r\n\r\n'),
    ]);
    const head = parseRequestHead(utf8, 0, utf8.length);
    assert.equal(Buffer.from(head.target, 'latin1').toString('utf8'), '/é');
  });

  it('parses a head that starts after other bytes', () => {
    const prefix = 'HTTP/1.1 garbage\r\n';
    const buf = bytes(prefix + get('X: 1'));
    const head = parseRequestHead(buf, prefix.length, buf.length);
    assert.equal(head.method, 'GET');
    assert.equal(head.headers.x, '1');
  });

  it('refuses malformed request lines with 400', () => {
    refused('GET  / HTTP/1.1\r\nHost: h\r\n\r\n', 400); // two spaces
    refused('GET /  HTTP/1.1\r\nHost: h\r\n\r\n', 400);
    refused(' GET / HTTP/1.1\r\nHost: h\r\n\r\n', 400); // no method
    refused('GET /\r\nHost: h\r\n\r\n', 400); // no version
    refused('GET / \r\nHost: h\r\n\r\n', 400); // empty version
    refused('GET\r\nHost: h\r\n\r\n', 400);
    refused('GET / HTTP/1.1 \r\nHost: h\r\n\r\n', 400); // trailing space
    refused('GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n', 400); // HTAB separator
    refused('GE(T / HTTP/1.1\r\nHost: h\r\n\r\n', 400); // invalid token char in method
    refused('G"T / HTTP/1.1\r\nHost: h\r\n\r\n', 400);
    refused('GET /a\x7fb HTTP/1.1\r\nHost: h\r\n\r\n', 400); // DEL in target
    refused('GET /a\x00b HTTP/1.1\r\nHost: h\r\n\r\n', 400); // NUL in target
    refused('GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n', 400); // bare CR
    refused('GET / HTTP/1.1\rX\r\nHost: h\r\n\r\n', 400);
  });

  it('refuses malformed versions with 400 and other versions with 505', () => {
    refused('GET / http/1.1\r\nHost: h\r\n\r\n', 400);
    refused('GET / HTTP/1.x\r\nHost: h\r\n\r\n', 400);
    refused('GET / HTTP/11\r\nHost: h\r\n\r\n', 400);
    refused('GET / HTTP/1.10\r\nHost: h\r\n\r\n', 400);
    refused('GET / HTTP 1.1\r\nHost: h\r\n\r\n', 400);
    refused('GET / HTTP/1.2\r\nHost: h\r\n\r\n', 505);
    refused('GET / HTTP/2.0\r\nHost: h\r\n\r\n', 505);
    refused('GET / HTTP/0.9\r\nHost: h\r\n\r\n', 505);
  });
});

describe('parseRequestHead: header fields', () => {
  it('lower-cases names and keeps the fields as sent in raw, in order', () => {
    const head = request(get('Content-Type: text/plain', 'X-Mixed-Case: Value'));
    assert.deepEqual(plain(head.headers), {
      host: 'example.com',
      'content-type': 'text/plain',
      'x-mixed-case': 'Value',
    });
    assert.deepEqual(head.raw, [
      'Host',
      'example.com',
      'Content-Type',
      'text/plain',
      'X-Mixed-Case',
      'Value',
    ]);
  });

  it('joins repeats with ", ", cookies with "; " and keeps set-cookie an array', () => {
    const head = request(
      get(
        'Accept: a',
        'ACCEPT: b',
        'Cookie: x=1',
        'cookie: y=2',
        'Set-Cookie: s=1',
        'Set-Cookie: t=2',
      ),
    );
    assert.equal(head.headers.accept, 'a, b');
    assert.equal(head.headers.cookie, 'x=1; y=2');
    assert.deepEqual(head.headers['set-cookie'], ['s=1', 't=2']);
    assert.deepEqual(
      head.raw.filter((_, i) => i % 2 === 0),
      ['Host', 'Accept', 'ACCEPT', 'Cookie', 'cookie', 'Set-Cookie', 'Set-Cookie'],
    );
  });

  it('a single set-cookie is an array too', () => {
    assert.deepEqual(request(get('Set-Cookie: a=b')).headers['set-cookie'], ['a=b']);
  });

  it('trims optional whitespace around values and keeps inner whitespace', () => {
    const head = request(get('X-A:   spaced  out \t ', 'X-B:\tv', 'X-C:', 'X-D:    '));
    assert.equal(head.headers['x-a'], 'spaced  out');
    assert.equal(head.headers['x-b'], 'v');
    assert.equal(head.headers['x-c'], '');
    assert.equal(head.headers['x-d'], '');
    assert.deepEqual(head.raw.slice(2), ['X-A', 'spaced  out', 'X-B', 'v', 'X-C', '', 'X-D', '']);
  });

  it('keeps obs-text (bytes >= 0x80) in values as latin1', () => {
    assert.equal(request(get('X-A: caf\xe9')).headers['x-a'], 'caf\xe9');
  });

  it('a __proto__ field is an own entry and pollutes nothing', () => {
    const head = request(get('__proto__: polluted', 'constructor: c', 'toString: t'));
    assert.equal(Object.getPrototypeOf(head.headers), null);
    assert.ok(Object.hasOwn(head.headers, '__proto__'));
    assert.equal(head.headers.__proto__, 'polluted');
    assert.equal(head.headers.constructor, 'c');
    assert.equal(head.headers.tostring, 't');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.toString.call({}), '[object Object]');
    // A repeat does not find an inherited value to join with.
    const fresh = request(get('constructor: 1', 'Constructor: 2', '__proto__: a', '__proto__: b'));
    assert.equal(fresh.headers.constructor, '1, 2');
    assert.equal(fresh.headers.__proto__, 'a, b');
  });

  it('refuses whitespace before the colon, obs-fold and bad name characters with 400', () => {
    refused(get('X-A : b'), 400);
    refused(get('X-A\t: b'), 400);
    refused(get('X-A: b', ' folded'), 400);
    refused(get('X-A: b', '\tfolded'), 400);
    refused(get('X(A): b'), 400);
    refused(get('X A: b'), 400);
    refused(get('X-\xe9: b'), 400);
    refused(get('X-A\x00: b'), 400);
    refused(get('no colon'), 400);
    refused(get('nocolon'), 400);
  });

  it('refuses a field with an empty name with 400', () => {
    refused(get(': x'), 400);
  });

  it('refuses NUL, CR, DEL and other controls in values with 400', () => {
    refused(get('X-A: a\x00b'), 400);
    refused(get('X-A: a\rb'), 400);
    refused(get('X-A: a\x7fb'), 400);
    refused(get('X-A: a\x01b'), 400);
    refused(get('X-A: a\x1bb'), 400);
    refused(get('X-A: ab\r'), 400); // CR CR LF
  });

  it('refuses a bare LF inside a head that was not delimited by findHeadEnd', () => {
    const buf = bytes('GET / HTTP/1.1\r\nHost: h\r\nX-A: a\nb\r\n\r\n');
    assert.throws(() => parseRequestHead(buf, 0, buf.length), h1(400));
  });

  it(`allows ${MAX_HEADER_FIELDS} fields and answers 431 beyond`, () => {
    const lines = (n: number): string[] => Array.from({ length: n }, (_, i) => `X-${i}: ${i}`);
    const atLimit = request(get(...lines(MAX_HEADER_FIELDS - 1)));
    assert.equal(atLimit.raw.length, MAX_HEADER_FIELDS * 2);
    refused(get(...lines(MAX_HEADER_FIELDS)), 431);
  });

  it('property: raw is the fields as sent (values trimmed) and headers folds them as Node does', () => {
    fc.assert(
      fc.property(fields, (list) => {
        const text = `GET / HTTP/1.1\r\nHost: h\r\n${list.map(([n, v]) => `${n}:${v}\r\n`).join('')}\r\n`;
        const head = request(text);
        const expectedRaw = ['Host', 'h', ...list.flatMap(([n, v]) => [n, trimOws(v)])];
        assert.deepEqual(head.raw, expectedRaw);
        const expected: Record<string, string | string[]> = { host: 'h' };
        for (const [n, v] of list) {
          const key = n.toLowerCase();
          const value = trimOws(v);
          const prior = expected[key];
          if (key === 'set-cookie')
            expected[key] = [...((prior as string[] | undefined) ?? []), value];
          else if (prior === undefined) expected[key] = value;
          else expected[key] = `${prior as string}${key === 'cookie' ? '; ' : ', '}${value}`;
        }
        assert.deepEqual(plain(head.headers), expected);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('parseRequestHead: Host', () => {
  it('an HTTP/1.1 request needs exactly one Host', () => {
    refused('GET / HTTP/1.1\r\n\r\n', 400);
    refused('GET / HTTP/1.1\r\nX: y\r\n\r\n', 400);
    refused(get('Host: other'), 400);
    refused(get('host: example.com'), 400); // identical repeats too
    refused(get('HOST: x'), 400);
  });

  it('an empty Host is refused (nginx too: no route can be chosen on it)', () => {
    refused('GET / HTTP/1.1\r\nHost:\r\n\r\n', 400);
    refused('GET / HTTP/1.1\r\nHost:   \r\n\r\n', 400);
    refused('GET / HTTP/1.0\r\nHost:\r\n\r\n', 400);
  });

  it('an HTTP/1.0 request may lack a Host but may not repeat it', () => {
    assert.equal(request(get10()).headers.host, undefined);
    assert.equal(request(get10('Host: a')).headers.host, 'a');
    refused(get10('Host: a', 'Host: b'), 400);
  });
});

describe('parseRequestHead: absolute-form targets (RFC 9110 §4.2)', () => {
  it('refuses userinfo in the authority (§4.2.4)', () => {
    refused('GET http://user@h/x HTTP/1.1\r\nHost: h\r\n\r\n', 400);
    refused('GET http://u:p@h HTTP/1.1\r\nHost: h\r\n\r\n', 400);
    refused('GET HTTPS://evil@h:8443/?q HTTP/1.1\r\nHost: h:8443\r\n\r\n', 400);
  });

  it('refuses an absolute-form target without a host (§4.2.1)', () => {
    refused('GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n', 400);
  });

  it('keeps an @ in the path or query, and origin-form targets with @', () => {
    assert.equal(request('GET http://h/a@b HTTP/1.1\r\nHost: h\r\n\r\n').target, 'http://h/a@b');
    assert.equal(request('GET http://h?x=@ HTTP/1.1\r\nHost: h\r\n\r\n').target, 'http://h?x=@');
    assert.equal(request('GET /u@h HTTP/1.1\r\nHost: h\r\n\r\n').target, '/u@h');
  });
});

describe('parseRequestHead: field names with _', () => {
  const text = get('X_Forwarded_For: 6.6.6.6', 'X-Real: 1', 'x_y: 2');

  it('drops them by default, so they cannot shadow a field the gateway writes', () => {
    const buf = bytes(text);
    const head = parseRequestHead(buf, 0, buf.length);
    assert.deepEqual(head.raw, ['Host', 'example.com', 'X-Real', '1']);
    assert.equal(head.headers.x_forwarded_for, undefined);
  });

  it('passes them with underscores: pass, refuses them with refuse', () => {
    assert.equal(request(text, { underscores: 'pass' }).headers.x_forwarded_for, '6.6.6.6');
    refused(text, 400, { underscores: 'refuse' });
  });
});

describe('requestLineOf and trailerFieldKept', () => {
  it('reads the method and target as far as they are well formed', () => {
    assert.deepEqual(requestLineOf(bytes('GET /a?b HTTP/2.0\r\n'), 0), {
      method: 'GET',
      target: '/a?b',
    });
    assert.deepEqual(requestLineOf(bytes('xxPOST /p\n'), 2), { method: 'POST', target: '/p' });
    assert.deepEqual(requestLineOf(bytes('\x01GET /'), 0), { method: '-', target: '-' });
    assert.deepEqual(requestLineOf(undefined, 0), { method: '-', target: '-' });
  });

  it('keeps ordinary trailer fields and drops framing, routing and hop-by-hop ones', () => {
    for (const name of ['Checksum', 'X-Sig', 'grpc-status'])
      assert.ok(trailerFieldKept(name, false));
    for (const name of [
      'Content-Length',
      'transfer-encoding',
      'Host',
      'Connection',
      'TE',
      'Trailer',
      'Keep-Alive',
      'Upgrade',
      'Proxy-Authorization',
      'X-Forwarded-For',
      'x_sig',
    ])
      assert.equal(trailerFieldKept(name, false), false, name);
    assert.ok(trailerFieldKept('x_sig', true));
  });
});

describe('parseRequestHead: message framing', () => {
  it('reads Content-Length', () => {
    assert.equal(request(get('Content-Length: 0')).contentLength, 0);
    assert.equal(request(get('Content-Length: 42')).contentLength, 42);
    assert.equal(request(get('Content-Length: 007')).contentLength, 7);
    assert.equal(request(get('Content-Length:  5  ')).contentLength, 5);
    assert.equal(
      request(get(`Content-Length: ${Number.MAX_SAFE_INTEGER}`)).contentLength,
      Number.MAX_SAFE_INTEGER,
    );
  });

  it('accepts identical repeated Content-Length values', () => {
    assert.equal(request(get('Content-Length: 5', 'Content-Length: 5')).contentLength, 5);
    assert.equal(request(get('Content-Length: 5, 5')).contentLength, 5);
    assert.equal(request(get('Content-Length: 5,5')).contentLength, 5);
  });

  it('refuses differing or malformed Content-Length values with 400', () => {
    for (const value of [
      '5, 6',
      '+5',
      '-1',
      '0x10',
      '1e3',
      '5.0',
      '5 5',
      '',
      ',',
      '5,',
      ',5',
      '5,,5',
      '\xb5',
      '99999999999999999999',
      String(Number.MAX_SAFE_INTEGER + 1),
    ])
      refused(get(`Content-Length: ${value}`), 400);
    refused(get('Content-Length: 5', 'Content-Length: 6'), 400);
    refused(get('Content-Length: 5', 'Content-Length:'), 400);
  });

  it('reads Transfer-Encoding: chunked (any case) as a chunked body', () => {
    for (const te of ['chunked', 'Chunked', 'CHUNKED', ' chunked ']) {
      const head = request(get(`Transfer-Encoding: ${te}`));
      assert.equal(head.chunked, true, te);
      assert.equal(head.contentLength, -1);
    }
  });

  it('refuses Content-Length with Transfer-Encoding (either order) with 400', () => {
    refused(get('Content-Length: 5', 'Transfer-Encoding: chunked'), 400);
    refused(get('Transfer-Encoding: chunked', 'Content-Length: 5'), 400);
    refused(get('Transfer-Encoding: chunked', 'Content-Length: 0'), 400);
  });

  it('refuses Transfer-Encoding in an HTTP/1.0 request with 400', () => {
    refused(get10('Transfer-Encoding: chunked'), 400);
    refused(get10('Host: h', 'Transfer-Encoding: chunked'), 400);
  });

  it('refuses codings that do not end in chunked: 400 when chunked is elsewhere, else 501', () => {
    refused(get('Transfer-Encoding: chunked, gzip'), 400);
    refused(get('Transfer-Encoding: chunked', 'Transfer-Encoding: gzip'), 400);
    refused(get('Transfer-Encoding: gzip'), 501);
    refused(get('Transfer-Encoding: identity'), 501);
    refused(get('Transfer-Encoding: xchunked'), 501);
    refused(get('Transfer-Encoding: chunked;q=1'), 501);
  });

  it('refuses chunked twice with 400 and other codings before chunked with 501', () => {
    refused(get('Transfer-Encoding: chunked, chunked'), 400);
    refused(get('Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'), 400);
    refused(get('Transfer-Encoding: gzip, chunked'), 501);
    refused(get('Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'), 501);
  });
});

describe('parseRequestHead: connection', () => {
  it('HTTP/1.1 keeps the connection unless Connection says close', () => {
    assert.equal(request(get()).close, false);
    assert.equal(request(get('Connection: keep-alive')).close, false);
    assert.equal(request(get('Connection: close')).close, true);
    assert.equal(request(get('Connection: Keep-Alive, CLOSE')).close, true);
    assert.equal(request(get('Connection: foo', 'Connection: close')).close, true);
    assert.equal(request(get('Connection: closed')).close, false);
  });

  it('HTTP/1.0 closes unless Connection says keep-alive', () => {
    assert.equal(request(get10()).close, true);
    assert.equal(request(get10('Connection: foo')).close, true);
    assert.equal(request(get10('Connection: keep-alive')).close, false);
    assert.equal(request(get10('Connection: Keep-Alive')).close, false);
    assert.equal(request(get10('Connection: keep-alive, close')).close, true);
  });

  it('upgrade needs both Connection: upgrade and an Upgrade header', () => {
    assert.equal(request(get('Connection: Upgrade', 'Upgrade: websocket')).upgrade, true);
    assert.equal(request(get('Connection: keep-alive, upgrade', 'Upgrade: h2c')).upgrade, true);
    assert.equal(request(get('Connection: Upgrade')).upgrade, false);
    assert.equal(request(get('Upgrade: websocket')).upgrade, false);
    assert.equal(request(get('Connection: close', 'Upgrade: websocket')).upgrade, false);
  });

  it('expectContinue is Expect: 100-continue, case-insensitive', () => {
    assert.equal(request(get('Expect: 100-continue')).expectContinue, true);
    assert.equal(request(get('Expect: 100-Continue')).expectContinue, true);
    assert.equal(request(get('Expect: 200-ok')).expectContinue, false);
    assert.equal(request(get()).expectContinue, false);
  });
});

describe('parseResponseHead', () => {
  it('reads version, status and reason', () => {
    const head = response(ok('Content-Length: 3'));
    assert.equal(head.versionMinor, 1);
    assert.equal(head.status, 200);
    assert.equal(head.reason, 'OK');
    assert.equal(head.contentLength, 3);
    assert.equal(head.chunked, false);
    assert.equal(head.close, false);
    assert.equal(head.fields, '');
  });

  it('reads a reason with spaces and obs-text, an empty reason and a missing reason SP', () => {
    assert.equal(response('HTTP/1.1 404 Not  Found\r\n\r\n').reason, 'Not  Found');
    assert.equal(response('HTTP/1.1 200 D\xe9j\xe0\r\n\r\n').reason, 'D\xe9j\xe0');
    const empty = response('HTTP/1.1 204 \r\n\r\n');
    assert.equal(empty.status, 204);
    assert.equal(empty.reason, '');
    const bare = response('HTTP/1.1 204\r\n\r\n');
    assert.equal(bare.status, 204);
    assert.equal(bare.reason, '');
  });

  it('reads 1xx answers', () => {
    const cont = response('HTTP/1.1 100 Continue\r\n\r\n');
    assert.equal(cont.status, 100);
    assert.equal(cont.contentLength, -1);
    const hints = response('HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n');
    assert.equal(hints.status, 103);
    assert.equal(hints.fields, 'Link: </a>; rel=preload\r\n');
    const up = response(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ws\r\n\r\n',
    );
    assert.equal(up.status, 101);
    assert.equal(up.upgrade, true);
  });

  it('parses a response that starts after other bytes', () => {
    const prefix = 'body bytes';
    const buf = bytes(`${prefix}HTTP/1.0 500 Oops\r\nX: y\r\n\r\n`);
    const head = parseResponseHead(buf, prefix.length, buf.length);
    assert.equal(head.status, 500);
    assert.equal(head.reason, 'Oops');
    assert.equal(head.versionMinor, 0);
    assert.equal(head.fields, 'X: y\r\n');
  });

  it('framing: chunked, Content-Length or none (the body then runs to the close)', () => {
    const chunked = response(ok('Transfer-Encoding: chunked'));
    assert.deepEqual([chunked.chunked, chunked.contentLength], [true, -1]);
    const length = response(ok('Content-Length: 10'));
    assert.deepEqual([length.chunked, length.contentLength], [false, 10]);
    const none = response(ok());
    assert.deepEqual([none.chunked, none.contentLength], [false, -1]);
  });

  it('refuses a transfer coding it cannot decode with 502 (gzip, chunked twice)', () => {
    for (const te of ['gzip, chunked', 'gzip', 'chunked, gzip', 'chunked, chunked', 'identity'])
      assert.throws(() => response(ok(`Transfer-Encoding: ${te}`)), { status: 502 }, te);
  });

  it('Transfer-Encoding overrides Content-Length', () => {
    const head = response(ok('Content-Length: 10', 'Transfer-Encoding: chunked'));
    assert.equal(head.chunked, true);
    assert.equal(head.contentLength, -1);
    // Even a malformed Content-Length is ignored then.
    assert.equal(response(ok('Content-Length: x', 'Transfer-Encoding: chunked')).chunked, true);
  });

  it('accepts identical Content-Length repeats and refuses bad ones with 502', () => {
    assert.equal(response(ok('Content-Length: 4', 'Content-Length: 4')).contentLength, 4);
    for (const value of ['4, 5', '+4', '-1', '0x4', '', '99999999999999999999'])
      assert.throws(() => response(ok(`Content-Length: ${value}`)), h1(502), value);
  });

  it('the close flag: HTTP/1.0 by default, Connection otherwise', () => {
    assert.equal(response(ok()).close, false);
    assert.equal(response(ok('Connection: close')).close, true);
    assert.equal(response('HTTP/1.0 200 OK\r\n\r\n').close, true);
    assert.equal(response('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n').close, false);
  });

  it('keeps end-to-end lines as received (repeats, case, order) and drops hop-by-hop ones', () => {
    const head = response(
      ok(
        'Set-Cookie: a=1',
        'Connection: keep-alive, X-Hop',
        'Keep-Alive: timeout=5',
        'Set-Cookie: b=2',
        'X-Hop: gone',
        'Proxy-Authenticate: Basic',
        'Trailer: X-T',
        'TE: trailers',
        'Upgrade: h2c',
        'HTTP2-Settings: AAA',
        'vary: a',
      ),
    );
    assert.equal(head.fields, 'Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nvary: a\r\n');
    assert.equal(head.close, false);
    assert.equal(head.upgrade, false);
    const plain = response(ok('Server: x', 'Connection: close', 'Date: y'));
    assert.equal(plain.fields, 'Server: x\r\nDate: y\r\n');
    assert.equal(plain.close, true);
  });

  it('drops Content-Length from the lines and reads it: repeats must agree', () => {
    const head = response(ok('Content-Length: 5', 'X: 1', 'content-length: 5'));
    assert.equal(head.contentLength, 5);
    assert.equal(head.fields, 'X: 1\r\n');
    assert.throws(() => response(ok('Content-Length: 5', 'Content-Length: 6')), {
      status: 502,
    });
  });

  it('refuses malformed status lines and codes with 502', () => {
    for (const line of [
      'HTTP/1.1 099 Low',
      'HTTP/1.1 000 Zero',
      'HTTP/1.1 600 High',
      'HTTP/1.1 999 High',
      'HTTP/1.1 20 Short',
      'HTTP/1.1 2000 Long',
      'HTTP/1.1 20x OK',
      'HTTP/1.1 -20 OK',
      'HTTP/1.1 +20 OK',
      'HTTP/1.1  200 OK',
      'HTTP/1.1 200\tOK',
      'HTTP/1.1 200OK',
      'HTTP/1.1 2',
      'HTTP/1.1',
      'HTTP/1.1 ',
      'HTTP/1.1 200 O\x00K',
      'HTTP/1.1 200 O\x7fK',
      'HTTP/1.1 200 O\rK',
      'http/1.1 200 OK',
      'HTTP/1.2 200 OK',
      'HTTP/2.0 200 OK',
      'HTTP/1.x 200 OK',
      'HTTP/11 200 OK',
      'ICY 200 OK',
    ])
      assert.throws(() => response(`${line}\r\n\r\n`), h1(502), JSON.stringify(line));
  });

  it('refuses malformed header fields with an H1Error', () => {
    for (const line of ['X : y', ' folded', 'X: a\x00b', 'no colon'])
      assert.throws(() => response(ok('A: b', line)), H1Error, JSON.stringify(line));
  });
});
