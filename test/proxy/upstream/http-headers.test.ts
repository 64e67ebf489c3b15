import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrMatcher } from '../../../src/shared/cidr-matcher.js';
import {
  requestFieldLines,
  trustedClientIp,
  type ForwardedContext,
  type HeaderMap,
} from '../../../src/proxy/upstream/http-headers.js';

// Header maps are as Node (and h1/head.ts) give them: lower-case names, a repeated field joined
// with ", " (set-cookie an array). Raw field lines are the flat [name, value, ...] list as
// received, names in the client's case.

const untrusted: ForwardedContext = { peerIp: '203.0.113.9', peerTrusted: false, proto: 'http' };
const trusted: ForwardedContext = { peerIp: '10.0.0.2', peerTrusted: true, proto: 'https' };

/** The field lines as [name, value] pairs, in order. */
function lines(fields: string): [string, string][] {
  assert.ok(fields.endsWith('\r\n'), 'every field line ends in CRLF');
  return fields
    .slice(0, -2)
    .split('\r\n')
    .map((line) => {
      const colon = line.indexOf(': ');
      assert.ok(colon > 0, `a field line: ${JSON.stringify(line)}`);
      return [line.slice(0, colon), line.slice(colon + 2)];
    });
}

/** The lower-case names of the field lines. */
function names(fields: string): string[] {
  return lines(fields).map(([name]) => name.toLowerCase());
}

describe('requestFieldLines', () => {
  it('keeps names as sent, order and repeats, and adds the X-Forwarded-* lines last', () => {
    const raw = [
      'Host',
      'a.test',
      'Accept',
      'text/html',
      'X-Tag',
      'one',
      'accept',
      'x/y',
      'X-Tag',
      'two',
    ];
    const headers: HeaderMap = { host: 'a.test', accept: 'text/html, x/y', 'x-tag': 'one, two' };
    assert.equal(
      requestFieldLines(raw, headers, untrusted),
      'Host: a.test\r\nAccept: text/html\r\nX-Tag: one\r\naccept: x/y\r\nX-Tag: two\r\n' +
        'x-forwarded-for: 203.0.113.9\r\nx-forwarded-proto: http\r\nx-forwarded-host: a.test\r\n',
    );
  });

  it('leaves out the fixed hop-by-hop fields, proxy-*, Expect and Content-Length, in any case', () => {
    const raw = [
      'Host',
      'a.test',
      'Connection',
      'keep-alive',
      'Keep-Alive',
      'timeout=5',
      'TE',
      'trailers',
      'Trailer',
      'x-sum',
      'Transfer-Encoding',
      'chunked',
      'Upgrade',
      'h2c',
      'Proxy-Connection',
      'keep-alive',
      'Proxy-Authorization',
      'Basic x',
      'Proxy-Foo',
      'bar',
      'HTTP2-Settings',
      'AAA',
      'Expect',
      '100-continue',
      'Content-Length',
      '5',
      'X-Kept',
      'yes',
    ];
    const headers: HeaderMap = { host: 'a.test', connection: 'keep-alive' };
    assert.deepEqual(lines(requestFieldLines(raw, headers, untrusted)), [
      ['Host', 'a.test'],
      ['X-Kept', 'yes'],
      ['x-forwarded-for', '203.0.113.9'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'a.test'],
    ]);
  });

  it('leaves out the fields Connection names, but never Host for it', () => {
    const raw = [
      'Host',
      'a.test',
      'Connection',
      'X-Secret, host',
      'X-Secret',
      's',
      'x-secret',
      't',
      'X-Kept',
      'k',
    ];
    const headers: HeaderMap = { host: 'a.test', connection: 'X-Secret, host', 'x-secret': 's, t' };
    assert.deepEqual(names(requestFieldLines(raw, headers, untrusted)), [
      'host',
      'x-kept',
      'x-forwarded-for',
      'x-forwarded-proto',
      'x-forwarded-host',
    ]);
  });

  it('from an untrusted peer writes one X-Forwarded-For of the peer, however many were sent', () => {
    const raw = [
      'Host',
      'a.test',
      'X-Forwarded-For',
      '1.2.3.4',
      'x-forwarded-for',
      '5.6.7.8',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Host',
      'forged.test',
    ];
    const headers: HeaderMap = {
      host: 'a.test',
      'x-forwarded-for': '1.2.3.4, 5.6.7.8',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'forged.test',
    };
    assert.deepEqual(lines(requestFieldLines(raw, headers, untrusted)), [
      ['Host', 'a.test'],
      ['x-forwarded-for', '203.0.113.9'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'a.test'],
    ]);
  });

  it('from a trusted peer appends to X-Forwarded-For and keeps Proto and Host, in one line each', () => {
    const raw = [
      'Host',
      'inner.test',
      'X-Forwarded-For',
      '198.51.100.1',
      'X-Forwarded-For',
      '10.0.0.7',
      'X-Forwarded-Proto',
      'http',
      'X-Forwarded-Host',
      'outer.test',
    ];
    const headers: HeaderMap = {
      host: 'inner.test',
      'x-forwarded-for': '198.51.100.1, 10.0.0.7',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'outer.test',
    };
    assert.deepEqual(lines(requestFieldLines(raw, headers, trusted)), [
      ['Host', 'inner.test'],
      ['x-forwarded-for', '198.51.100.1, 10.0.0.7, 10.0.0.2'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'outer.test'],
    ]);
  });

  it('joins X-Forwarded-* values given as arrays', () => {
    const headers: HeaderMap = {
      host: 'h.test',
      'x-forwarded-for': ['198.51.100.1', '10.0.0.7'],
      'x-forwarded-proto': ['http', 'https'],
      'x-forwarded-host': ['o.test', 'p.test'],
    };
    assert.deepEqual(lines(requestFieldLines(['Host', 'h.test'], headers, trusted)), [
      ['Host', 'h.test'],
      ['x-forwarded-for', '198.51.100.1, 10.0.0.7, 10.0.0.2'],
      ['x-forwarded-proto', 'http, https'],
      ['x-forwarded-host', 'o.test, p.test'],
    ]);
  });

  it('fills Proto and Host in for a trusted peer that sent none, and writes no Host line itself', () => {
    assert.deepEqual(lines(requestFieldLines(['Host', 'h.test'], { host: 'h.test' }, trusted)), [
      ['Host', 'h.test'],
      ['x-forwarded-for', '10.0.0.2'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'h.test'],
    ]);
  });

  it('writes no X-Forwarded-Host without a Host', () => {
    assert.equal(
      requestFieldLines(
        ['X-Forwarded-Host', 'forged.test'],
        { 'x-forwarded-host': 'forged.test' },
        untrusted,
      ),
      'x-forwarded-for: 203.0.113.9\r\nx-forwarded-proto: http\r\n',
    );
  });

  it('keeps only the end-to-end fields of a mixed head, and rewrites X-Forwarded-*', () => {
    const raw = [
      'Host',
      'a.test',
      'Connection',
      'x-a, content-length',
      'X-A',
      '1',
      'Content-Length',
      '3',
      'Expect',
      '100-continue',
      'Proxy-Thing',
      'p',
      'Accept',
      '*/*',
      'X-Forwarded-For',
      '9.9.9.9',
    ];
    const headers: HeaderMap = {};
    for (let i = 0; i < raw.length; i += 2) headers[(raw[i] ?? '').toLowerCase()] = raw[i + 1];
    assert.deepEqual(lines(requestFieldLines(raw, headers, untrusted)), [
      ['Host', 'a.test'],
      ['Accept', '*/*'],
      ['x-forwarded-for', '203.0.113.9'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'a.test'],
    ]);
  });
});

describe('trustedClientIp', () => {
  const isTrusted = cidrMatcher(['10.0.0.0/8', '2001:db8::/32']);

  it('uses a checker that trusts the CIDRs, IPv6 and mapped IPv4 included (precondition)', () => {
    assert.equal(isTrusted('10.1.2.3'), true);
    assert.equal(isTrusted('::ffff:10.1.2.3'), true);
    assert.equal(isTrusted('2001:db8:1::9'), true);
    assert.equal(isTrusted('203.0.113.5'), false);
    assert.equal(isTrusted('::ffff:203.0.113.5'), false);
    assert.equal(isTrusted('2001:db9::1'), false);
  });

  it('believes the peer when the peer is not trusted, whatever X-Forwarded-For says', () => {
    const headers = { 'x-forwarded-for': '198.51.100.1' };
    assert.equal(trustedClientIp(headers, '203.0.113.9', false, isTrusted), '203.0.113.9');
    // Even a peer the checker would trust is not when the caller says it is not.
    assert.equal(trustedClientIp(headers, '10.0.0.2', false, isTrusted), '10.0.0.2');
  });

  it('believes the peer when a trusted peer sent no X-Forwarded-For, or an empty one', () => {
    assert.equal(trustedClientIp({}, '10.0.0.2', true, isTrusted), '10.0.0.2');
    assert.equal(
      trustedClientIp({ 'x-forwarded-for': '' }, '10.0.0.2', true, isTrusted),
      '10.0.0.2',
    );
    assert.equal(
      trustedClientIp({ 'x-forwarded-for': ' , ,' }, '10.0.0.2', true, isTrusted),
      '10.0.0.2',
    );
    assert.equal(
      trustedClientIp({ 'x-forwarded-for': [] }, '10.0.0.2', true, isTrusted),
      '10.0.0.2',
    );
  });

  it('takes the right-most X-Forwarded-For entry that is not a trusted proxy', () => {
    const ip = (xff: string) =>
      trustedClientIp({ 'x-forwarded-for': xff }, '10.0.0.2', true, isTrusted);
    assert.equal(ip('198.51.100.1'), '198.51.100.1');
    assert.equal(ip('198.51.100.1, 10.0.0.7'), '198.51.100.1');
    assert.equal(ip('198.51.100.1, 10.0.0.7, 10.9.9.9'), '198.51.100.1');
    // The left-most entries are whatever the client wrote: not believed.
    assert.equal(ip('1.1.1.1, 198.51.100.1, 10.0.0.7'), '198.51.100.1');
    assert.equal(
      ip('10.0.0.1, 198.51.100.1'),
      '198.51.100.1',
      'a forged trusted address on the left',
    );
  });

  it('trims the spaces around entries', () => {
    const headers = { 'x-forwarded-for': '  198.51.100.1 ,10.0.0.7  ' };
    assert.equal(trustedClientIp(headers, '10.0.0.2', true, isTrusted), '198.51.100.1');
  });

  it('takes the left-most entry when every entry is a trusted proxy', () => {
    const headers = { 'x-forwarded-for': '10.0.0.5, 10.0.0.6, 10.0.0.7' };
    assert.equal(trustedClientIp(headers, '10.0.0.2', true, isTrusted), '10.0.0.5');
  });

  it('reads repeated X-Forwarded-For fields as one list, in order', () => {
    const headers = { 'x-forwarded-for': ['1.1.1.1, 198.51.100.1', '10.0.0.7'] };
    assert.equal(trustedClientIp(headers, '10.0.0.2', true, isTrusted), '198.51.100.1');
    const later = { 'x-forwarded-for': ['198.51.100.1', '192.0.2.4, 10.0.0.7'] };
    assert.equal(trustedClientIp(later, '10.0.0.2', true, isTrusted), '192.0.2.4');
  });

  it('walks IPv6 entries through trusted IPv6 proxies', () => {
    const headers = { 'x-forwarded-for': '2001:db9::1, 2001:db8::7, 2001:db8:ffff::1' };
    assert.equal(trustedClientIp(headers, '2001:db8::2', true, isTrusted), '2001:db9::1');
  });

  it('treats a mapped IPv4 address like the IPv4 address', () => {
    const skip = { 'x-forwarded-for': '198.51.100.1, ::ffff:10.0.0.7' };
    assert.equal(trustedClientIp(skip, '::ffff:10.0.0.2', true, isTrusted), '198.51.100.1');
    const stop = { 'x-forwarded-for': '198.51.100.1, ::ffff:192.0.2.4, 10.0.0.7' };
    assert.equal(trustedClientIp(stop, '10.0.0.2', true, isTrusted), '::ffff:192.0.2.4');
  });

  it('asks the checker about each entry from the right until one is not trusted', () => {
    const asked: string[] = [];
    const checker = (ip: string) => {
      asked.push(ip);
      return ip.startsWith('10.');
    };
    const headers = { 'x-forwarded-for': '1.1.1.1, 2.2.2.2, 10.0.0.8, 10.0.0.7' };
    assert.equal(trustedClientIp(headers, '10.0.0.2', true, checker), '2.2.2.2');
    assert.deepEqual(asked, ['10.0.0.7', '10.0.0.8', '2.2.2.2']);
  });
});
