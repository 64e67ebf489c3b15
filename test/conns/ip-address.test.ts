import assert from 'node:assert/strict';
import { SocketAddress } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  cidrContains,
  decodeProcAddress,
  formatIpv6,
  parseCidr,
  parseIp,
  procHexBytes,
} from '../../src/conns/ip-address.js';

/** 16 bytes biased towards zero runs and v4-mapped prefixes, where the formatting rules bite. */
const ipv6Bytes = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc
    .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
      minLength: 8,
      maxLength: 8,
    })
    .map((words) => {
      const bytes = new Uint8Array(16);
      words.forEach((w, i) => {
        bytes[i * 2] = w >> 8;
        bytes[i * 2 + 1] = w & 0xff;
      });
      return bytes;
    }),
  fc
    .uint8Array({ minLength: 4, maxLength: 4 })
    .map((v4) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4])),
);

function reference(bytes: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) =>
    (((bytes[i * 2] ?? 0) << 8) | (bytes[i * 2 + 1] ?? 0)).toString(16),
  );
  return new SocketAddress({ address: words.join(':'), family: 'ipv6' }).address;
}

describe('IP addresses', () => {
  it('prints IPv6 exactly as inet_ntop does (checked against libuv through net.SocketAddress)', () => {
    fc.assert(
      fc.property(ipv6Bytes, (bytes) => {
        assert.equal(formatIpv6(bytes), reference(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('parses what it prints back to the same bytes', () => {
    fc.assert(
      fc.property(ipv6Bytes, (bytes) => {
        assert.deepEqual(parseIp(formatIpv6(bytes))?.bytes, bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it('decodes /proc hex words in host byte order', () => {
    assert.equal(decodeProcAddress('0100007F'), '127.0.0.1');
    assert.equal(decodeProcAddress('00000000'), '0.0.0.0');
    assert.equal(decodeProcAddress('00000000000000000000000001000000'), '::1');
    assert.equal(decodeProcAddress('0000000000000000FFFF00000100007F'), '::ffff:127.0.0.1');
    assert.equal(decodeProcAddress('B80D0120000000000000000001000000'), '2001:db8::1');
    assert.equal(decodeProcAddress('000080FE000000000000000001000000'), 'fe80::1');
    assert.equal(procHexBytes('0100007'), undefined);
    assert.equal(procHexBytes('0100007G'), undefined);
  });

  it('parses addresses and CIDR blocks, refusing malformed ones', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), {
      family: 4,
      bytes: Uint8Array.from([10, 0, 0, 0]),
      prefix: 8,
    });
    assert.equal(parseCidr('[::1]')?.prefix, 128);
    for (const bad of [
      '10.0.0.256',
      '10.0.0',
      '1::2::3',
      '10.0.0.0/33',
      '::/129',
      'host',
      '1:2:3:4:5:6:7:8:9',
      '',
    ]) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
  });

  it('matches addresses in blocks, and IPv4 blocks against IPv4-mapped IPv6 peers', () => {
    const ten = parseCidr('10.0.0.0/8');
    assert.ok(ten);
    assert.ok(cidrContains(ten, '10.1.2.3'));
    assert.ok(!cidrContains(ten, '11.0.0.1'));
    assert.ok(cidrContains(ten, '::ffff:10.9.9.9'));
    assert.ok(!cidrContains(ten, '::1'));
    const odd = parseCidr('192.168.0.0/23');
    assert.ok(odd && cidrContains(odd, '192.168.1.255') && !cidrContains(odd, '192.168.2.0'));
    const v6 = parseCidr('fe80::/10');
    assert.ok(v6 && cidrContains(v6, 'febf::1') && !cidrContains(v6, 'fec0::1'));
    const one = parseCidr('::1');
    assert.ok(one && cidrContains(one, '::1') && !cidrContains(one, '127.0.0.1'));
  });
});
