import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseHostPort } from '../../../src/proxy/config/parse-host-port.js';

const target = { allowPortZero: false };
const listen = { allowPortZero: true };

describe('parseHostPort', () => {
  it('parses an IPv4 address and port', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:8080', target), {
      ok: true,
      value: { host: '127.0.0.1', port: 8080 },
    });
  });

  it('parses a host name and lower-cases it', () => {
    assert.deepEqual(parseHostPort('Api.Example.TEST:443', target), {
      ok: true,
      value: { host: 'api.example.test', port: 443 },
    });
  });

  it('parses a bracketed IPv6 address into its canonical form without brackets', () => {
    assert.deepEqual(parseHostPort('[::1]:9000', target), {
      ok: true,
      value: { host: '::1', port: 9000 },
    });
    assert.deepEqual(parseHostPort('[0:0:0:0:0:0:0:1]:9000', target), {
      ok: true,
      value: { host: '::1', port: 9000 },
    });
    assert.deepEqual(parseHostPort('[FE80::A]:1', target), {
      ok: true,
      value: { host: 'fe80::a', port: 1 },
    });
  });

  it('refuses an IPv6 address without brackets', () => {
    assert.equal(parseHostPort('::1:9000', target).ok, false);
  });

  it('refuses malformed IPv6 and unclosed brackets', () => {
    for (const text of ['[::g]:80', '[::1:80', '[::1]80', '[127.0.0.1]:80']) {
      assert.equal(parseHostPort(text, target).ok, false, text);
    }
  });

  it('refuses ports outside 1–65535 and non-numeric or missing ports', () => {
    for (const text of ['a:65536', 'a:99999', 'a:-1', 'a:http', 'a:', 'a', 'a:1.5', 'a:123456']) {
      assert.equal(parseHostPort(text, target).ok, false, text);
    }
  });

  it('accepts port 0 for listeners only', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:0', listen), {
      ok: true,
      value: { host: '127.0.0.1', port: 0 },
    });
    assert.equal(parseHostPort('127.0.0.1:0', target).ok, false);
  });

  it('refuses an empty host, whitespace and invalid names', () => {
    for (const text of [
      ':80',
      ' 127.0.0.1:80',
      'a b:80',
      '-bad.example:80',
      'a_.-b:80',
      'ex!:80',
    ]) {
      assert.equal(parseHostPort(text, target).ok, false, text);
    }
  });

  it('refuses ambiguous IPv4 forms: octets over 255, shorthand, leading zeros', () => {
    for (const text of ['256.0.0.1:80', '127.1:80', '010.0.0.1:80', '1.2.3.4.5:80']) {
      assert.equal(parseHostPort(text, target).ok, false, text);
    }
  });

  it('round-trips every valid port', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), (port) => {
        const parsed = parseHostPort(`10.0.0.1:${port}`, target);
        return parsed.ok && parsed.value.port === port;
      }),
    );
  });
});
