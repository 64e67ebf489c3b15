import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostOf } from '../../../src/proxy/routing/host-of.js';
import { splitTarget } from '../../../src/proxy/routing/request-target.js';

describe('splitTarget', () => {
  it('returns an origin-form target as its url, with no authority', () => {
    for (const target of ['/', '/ws?x=1', '/a/b/', '//double', '/http://x.test/']) {
      assert.deepEqual(splitTarget(target), { authority: undefined, url: target });
    }
  });

  it('splits an absolute-form target into its authority and its path and query', () => {
    assert.deepEqual(splitTarget('http://example.test/ws?x=1'), {
      authority: 'example.test',
      url: '/ws?x=1',
    });
    assert.deepEqual(splitTarget('https://example.test:8443/a/b/'), {
      authority: 'example.test:8443',
      url: '/a/b/',
    });
    assert.deepEqual(splitTarget('http://[::1]:8080/p'), { authority: '[::1]:8080', url: '/p' });
    assert.deepEqual(splitTarget('http://10.0.0.1/x?y=http://z/'), {
      authority: '10.0.0.1',
      url: '/x?y=http://z/',
    });
  });

  it('accepts the scheme in any case and keeps the authority as written', () => {
    assert.deepEqual(splitTarget('HTTP://Example.TEST/x'), {
      authority: 'Example.TEST',
      url: '/x',
    });
    assert.deepEqual(splitTarget('HtTpS://a.test:1/'), { authority: 'a.test:1', url: '/' });
  });

  it('gives "/" for an absolute-form target without a path, keeping a query', () => {
    assert.deepEqual(splitTarget('http://example.test'), { authority: 'example.test', url: '/' });
    assert.deepEqual(splitTarget('http://example.test:80'), {
      authority: 'example.test:80',
      url: '/',
    });
    assert.deepEqual(splitTarget('http://example.test?x=1'), {
      authority: 'example.test',
      url: '/?x=1',
    });
  });

  it('leaves the asterisk-form (OPTIONS *) alone', () => {
    assert.deepEqual(splitTarget('*'), { authority: undefined, url: '*' });
  });

  it('does not take another scheme or the authority-form (CONNECT) for an absolute-form target', () => {
    for (const target of [
      'ftp://example.test/x',
      'ws://example.test/x',
      'example.test:443',
      'http:/x',
    ]) {
      assert.deepEqual(splitTarget(target), { authority: undefined, url: target });
    }
  });

  it('gives an authority that hostOf turns into the host routes match on', () => {
    const split = splitTarget('http://API.Example.Test:8080/v1');
    assert.equal(hostOf(split.authority), 'api.example.test');
    assert.equal(hostOf(splitTarget('http://[2001:DB8::1]:8080/').authority), '2001:db8::1');
    assert.equal(hostOf(splitTarget('/origin-form').authority), '');
  });
});

describe('hostOf', () => {
  it('gives "" for a missing Host', () => {
    assert.equal(hostOf(undefined), '');
    assert.equal(hostOf(''), '');
  });

  it('removes the port and lower-cases', () => {
    assert.equal(hostOf('example.test'), 'example.test');
    assert.equal(hostOf('Example.TEST'), 'example.test');
    assert.equal(hostOf('Example.TEST:8080'), 'example.test');
    assert.equal(hostOf('example.test:'), 'example.test');
    assert.equal(hostOf('10.0.0.1:443'), '10.0.0.1');
  });

  it('unwraps a bracketed IPv6 literal, with or without a port', () => {
    assert.equal(hostOf('[::1]:8080'), '::1');
    assert.equal(hostOf('[::1]'), '::1');
    assert.equal(hostOf('[2001:DB8::A]:443'), '2001:db8::a');
    assert.equal(hostOf('[::ffff:10.0.0.1]'), '::ffff:10.0.0.1');
  });

  it('takes the rest of an unclosed bracket as the host', () => {
    assert.equal(hostOf('[::1'), '::1');
  });
});
