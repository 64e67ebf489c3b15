import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCidr } from '../../../src/proxy/config/parse-cidr.js';
import { formatHashKey, parseHashKey } from '../../../src/proxy/config/parse-hash-key.js';

describe('parseHashKey', () => {
  it('parses client-ip and path', () => {
    assert.deepEqual(parseHashKey('client-ip'), { ok: true, value: { kind: 'client-ip' } });
    assert.deepEqual(parseHashKey('path'), { ok: true, value: { kind: 'path' } });
  });

  it('parses header:NAME and lower-cases the header name', () => {
    assert.deepEqual(parseHashKey('header:X-User'), {
      ok: true,
      value: { kind: 'header', name: 'x-user' },
    });
  });

  it('parses cookie:NAME and keeps the cookie name as written', () => {
    assert.deepEqual(parseHashKey('cookie:SessionId'), {
      ok: true,
      value: { kind: 'cookie', name: 'SessionId' },
    });
  });

  it('refuses unknown kinds, missing names and names that are not HTTP tokens', () => {
    for (const text of [
      'ip',
      'header',
      'header:',
      'cookie:',
      'header:a b',
      'query:x',
      'Client-IP',
    ]) {
      assert.equal(parseHashKey(text).ok, false, text);
    }
  });

  it('formats back to the text it parsed', () => {
    for (const text of ['client-ip', 'path', 'header:x-user', 'cookie:sid']) {
      const parsed = parseHashKey(text);
      assert.ok(parsed.ok);
      assert.equal(formatHashKey(parsed.value), text);
    }
  });
});

describe('parseCidr', () => {
  it('keeps a CIDR and gives a single address its full prefix length', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { ok: true, value: '10.0.0.0/8' });
    assert.deepEqual(parseCidr('127.0.0.1'), { ok: true, value: '127.0.0.1/32' });
    assert.deepEqual(parseCidr('::1'), { ok: true, value: '::1/128' });
    assert.deepEqual(parseCidr('FD00::/8'), { ok: true, value: 'fd00::/8' });
  });

  it('refuses host names, bad prefix lengths and bad addresses', () => {
    for (const text of ['localhost', '10.0.0.0/33', '::/129', '10.0.0.0/x', '1.2.3/8', '1/2/3']) {
      assert.equal(parseCidr(text).ok, false, text);
    }
  });
});
