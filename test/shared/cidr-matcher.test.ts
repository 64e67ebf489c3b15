import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cidrMatcher } from '../../src/shared/cidr-matcher.js';

/** Asserts which of `ips` the matcher for `cidrs` takes. */
function check(cidrs: string[], inside: string[], outside: string[]): void {
  const matches = cidrMatcher(cidrs);
  for (const ip of inside) assert.equal(matches(ip), true, `${ip} in ${cidrs.join(', ')}`);
  for (const ip of outside) assert.equal(matches(ip), false, `${ip} not in ${cidrs.join(', ')}`);
}

describe('cidrMatcher', () => {
  it('matches IPv4 prefixes on whole octets', () => {
    check(
      ['10.0.0.0/8', '192.168.1.0/24'],
      ['10.0.0.0', '10.255.255.255', '10.1.2.3', '192.168.1.0', '192.168.1.255'],
      ['11.0.0.0', '9.255.255.255', '192.168.2.1', '192.168.0.255', '127.0.0.1'],
    );
  });

  it('matches prefixes that end inside an octet (/7, /12, /31)', () => {
    check(['10.0.0.0/7'], ['10.0.0.1', '11.255.255.255'], ['12.0.0.0', '9.255.255.255']);
    check(['172.16.0.0/12'], ['172.16.0.1', '172.31.255.255'], ['172.32.0.0', '172.15.255.255']);
    check(['192.0.2.4/31'], ['192.0.2.4', '192.0.2.5'], ['192.0.2.3', '192.0.2.6']);
  });

  it('with /32 and a bare IPv4 address takes exactly that address', () => {
    for (const cidrs of [['203.0.113.7/32'], ['203.0.113.7']]) {
      check(cidrs, ['203.0.113.7'], ['203.0.113.6', '203.0.113.8', '203.0.114.7', '::1']);
    }
  });

  it('with 0.0.0.0/0 takes every IPv4 address and no IPv6 one', () => {
    check(['0.0.0.0/0'], ['0.0.0.0', '1.2.3.4', '255.255.255.255'], ['::1', '2001:db8::1']);
  });

  it('matches IPv6 prefixes, compressed or not', () => {
    check(
      ['2001:db8::/32', 'fd00::/8'],
      ['2001:db8::1', '2001:0db8:ffff:0:0:0:0:1', 'fd12:3456::1', 'FD00::'],
      ['2001:db9::1', '2001:db7:ffff::', 'fe80::1', 'fc00::1', '10.0.0.1'],
    );
  });

  it('with /128 and a bare IPv6 address takes exactly that address', () => {
    for (const cidrs of [['::1/128'], ['::1'], ['[::1]']]) {
      check(cidrs, ['::1', '0:0:0:0:0:0:0:1', '[::1]'], ['::2', '::', '127.0.0.1']);
    }
  });

  it('with ::/0 takes every IPv6 address (an IPv4-mapped one matches as IPv4, so not it)', () => {
    check(['::/0'], ['::', '::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], ['10.0.0.1']);
  });

  it('matches prefixes that end inside a group (/7, /33, /127)', () => {
    check(['fc00::/7'], ['fc00::1', 'fdff::1'], ['fe00::1', 'fb00::1']);
    // /33: the first bit of the third group counts.
    check(
      ['2001:db8::/33'],
      ['2001:db8::1', '2001:db8:7fff::1'],
      ['2001:db8:8000::1', '2001:db9::'],
    );
    check(['2001:db8::/127'], ['2001:db8::', '2001:db8::1'], ['2001:db8::2']);
  });

  it('matches an IPv4-mapped IPv6 client (::ffff:a.b.c.d) against an IPv4 block', () => {
    check(
      ['10.0.0.0/8', '127.0.0.1'],
      ['::ffff:10.1.2.3', '::ffff:127.0.0.1', '::FFFF:10.0.0.1', '::ffff:a00:1'],
      ['::ffff:11.0.0.1', '::ffff:127.0.0.2', '::10.0.0.1', '::fffe:10.0.0.1'],
    );
  });

  it('matches an IPv4 client against a single address written IPv4-mapped', () => {
    check(['::ffff:10.0.0.1'], ['10.0.0.1', '::ffff:10.0.0.1'], ['10.0.0.2', '::1']);
    check(['::ffff:10.0.0.1/128'], ['10.0.0.1'], ['10.0.0.2']);
  });

  it('reads the prefix of an IPv4-mapped block as an IPv6 prefix (/104 is the IPv4 /8)', () => {
    // What parseCidr keeps for `::ffff:10.0.0.0/104` and `::ffff:0:0/96`.
    check(['::ffff:a00:0/104'], ['10.1.2.3', '::ffff:10.9.9.9'], ['11.0.0.1']);
    check(['::ffff:0:0/96'], ['10.1.2.3', '192.0.2.1'], ['::1']);
  });

  it('is false for input that is not an IP address', () => {
    check(
      ['0.0.0.0/0', '::/0'],
      [],
      [
        '',
        'localhost',
        '10.0.0',
        '10.0.0.256',
        '10.0.0.1/8',
        '1.2.3.4.5',
        ':::1',
        'g::1',
        ' 10.0.0.1',
      ],
    );
  });

  it('is false for every address with an empty list', () => {
    check([], [], ['10.0.0.1', '::1', '::ffff:127.0.0.1', '']);
  });

  it('skips a block that is not an address and keeps the others', () => {
    check(['not-an-ip/8', '10.0.0.0/8'], ['10.1.1.1'], ['11.1.1.1']);
  });

  it('answers the same for an address seen again, past the verdicts it remembers', () => {
    const inside = cidrMatcher(['10.0.0.0/16']);
    // 10.0.x.y for x < 32 is inside, 10.1.x.y outside: more addresses than the 4096 remembered.
    for (let round = 0; round < 2; round++) {
      for (let x = 0; x < 40; x++) {
        for (let y = 0; y < 256; y += 2) {
          assert.equal(inside(`10.0.${x}.${y}`), true);
          assert.equal(inside(`10.1.${x}.${y}`), false);
        }
      }
    }
  });
});
