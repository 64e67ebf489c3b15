import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkRequestFields,
  checkTrailerFields,
  declaredLength,
} from '../../../src/proxy/h2/request-check.js';

const BASE = [':method', 'POST', ':scheme', 'http', ':path', '/p.S/M', ':authority', 'a.test'];

/** The base request plus `extra` fields. */
function req(...extra: string[]): string[] {
  return [...BASE, 'content-type', 'application/grpc', ...extra];
}

describe('checkRequestFields (RFC 9113 §8.2, §8.3)', () => {
  it('accepts a gRPC request, te: trailers, a matching host and a digit content-length', () => {
    assert.equal(checkRequestFields(req('te', 'trailers'), false), undefined);
    assert.equal(checkRequestFields(req('host', 'A.test'), false), undefined);
    assert.equal(checkRequestFields(req('content-length', '5'), false), undefined);
    assert.equal(checkRequestFields(req('content-length', '0'), true), undefined);
    assert.equal(checkRequestFields(req('x-empty', ''), false), undefined);
    assert.equal(checkRequestFields(req('x-a', 'in side'), false), undefined);
    // No :authority is allowed (Host, or neither).
    assert.equal(
      checkRequestFields([':method', 'GET', ':scheme', 'http', ':path', '/'], true),
      undefined,
    );
    assert.equal(
      checkRequestFields([':method', 'OPTIONS', ':scheme', 'http', ':path', '*'], true),
      undefined,
    );
    assert.equal(
      checkRequestFields([':method', 'CONNECT', ':authority', 'a:443'], false),
      undefined,
    );
  });

  const malformed: [string, string[], boolean][] = [
    ['CRLF in a value', req('x-crlf', 'a\r\nx-injected: 1'), false],
    ['LF in a value', req('x-lf', 'a\nb'), false],
    ['NUL in a value', req('x-nul', 'a\0b'), false],
    ['leading space', req('x-a', ' a'), false],
    ['trailing tab', req('x-a', 'a\t'), false],
    ['upper-case name', req('X-Upper', '1'), false],
    ['space in a name', req('x a', '1'), false],
    ['colon inside a name', req('x:a', '1'), false],
    ['non-ASCII name', req('x-\u00e9', '1'), false],
    ['empty name', req('', '1'), false],
    ['te: gzip', req('te', 'gzip'), false],
    ['connection', req('connection', 'close'), false],
    ['keep-alive', req('keep-alive', '5'), false],
    ['proxy-connection', req('proxy-connection', 'x'), false],
    ['transfer-encoding', req('transfer-encoding', 'chunked'), false],
    ['upgrade', req('upgrade', 'h2c'), false],
    ['host != :authority', req('host', 'evil.test'), false],
    ['two hosts', [...req('host', 'a.test'), 'host', 'a.test'], false],
    ['content-length: 5 without content', req('content-length', '5'), true],
    ['content-length not digits', req('content-length', '5x'), false],
    ['content-length negative', req('content-length', '-1'), false],
    ['content-length empty', req('content-length', ''), false],
    ['content-length too long', req('content-length', '1'.repeat(16)), false],
    ['two content-lengths', [...req('content-length', '5'), 'content-length', '5'], false],
    ['duplicated :path', [...BASE, ':path', '/b'], false],
    ['pseudo after regular', [...req(), ':path', '/b'], false],
    ['unknown pseudo', [...BASE, ':protocol', 'websocket'], false],
    ['response pseudo', [...BASE, ':status', '200'], false],
    ['missing :method', [':scheme', 'http', ':path', '/'], false],
    ['missing :scheme', [':method', 'POST', ':path', '/'], false],
    ['missing :path', [':method', 'POST', ':scheme', 'http'], false],
    ['empty :path', [':method', 'POST', ':scheme', 'http', ':path', ''], false],
    ['absolute :path', [':method', 'POST', ':scheme', 'http', ':path', 'http://x/'], false],
    ['* for POST', [':method', 'POST', ':scheme', 'http', ':path', '*'], false],
    ['empty :method', [':method', '', ':scheme', 'http', ':path', '/'], false],
    ['CRLF in :path', [':method', 'POST', ':scheme', 'http', ':path', '/a\r\nb'], false],
    ['CONNECT with :path', [':method', 'CONNECT', ':authority', 'a', ':path', '/'], false],
    ['CONNECT without :authority', [':method', 'CONNECT'], false],
  ];
  for (const [what, fields, end] of malformed) {
    it(`refuses ${what}`, () => {
      const reason = checkRequestFields(fields, end);
      assert.equal(typeof reason, 'string');
      // Reasons never quote the client's bytes.
      assert.ok(!/[\r\n\0]/.test(reason ?? ''));
    });
  }
});

describe('checkTrailerFields', () => {
  it('accepts regular fields and refuses pseudo-headers and bad fields', () => {
    assert.equal(checkTrailerFields(['x-checksum', 'abc']), undefined);
    assert.equal(checkTrailerFields([]), undefined);
    assert.equal(typeof checkTrailerFields([':path', '/x']), 'string');
    assert.equal(typeof checkTrailerFields(['X-A', '1']), 'string');
    assert.equal(typeof checkTrailerFields(['x-a', 'a\nb']), 'string');
    assert.equal(typeof checkTrailerFields(['transfer-encoding', 'chunked']), 'string');
  });
});

describe('declaredLength', () => {
  it('is the content-length, or -1 without one', () => {
    assert.equal(declaredLength(req('content-length', '12')), 12);
    assert.equal(declaredLength(req()), -1);
  });
});
