import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  withoutFieldLines,
  withoutQueryParam,
} from '../../../src/proxy/upstream/consumed-credential.js';

describe('withoutQueryParam', () => {
  it('removes every pair of that name, keeping the others in order', () => {
    assert.equal(withoutQueryParam('/a?x=1&key=s&y=2&key=t', 'key'), '/a?x=1&y=2');
    assert.equal(withoutQueryParam('/a?key=s', 'key'), '/a');
    assert.equal(withoutQueryParam('/a?key', 'key'), '/a');
    assert.equal(withoutQueryParam('/a?akey=1&key2=2&KEY=3', 'key'), '/a?akey=1&key2=2&KEY=3');
    assert.equal(withoutQueryParam('/a', 'key'), '/a');
    assert.equal(withoutQueryParam('/a?', 'key'), '/a?');
  });

  it('leaves no pair of that name and every other pair, whatever the query', () => {
    const name = fc.constantFrom('key', 'k', 'x', 'api_key');
    const pair = fc
      .tuple(name, fc.option(fc.stringMatching(/^[a-z0-9=%]{0,4}$/)))
      .map(([n, v]) => (v === null ? n : `${n}=${v}`));
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 6 }), name, (pairs, drop) => {
        const url = `/p?${pairs.join('&')}`;
        const out = withoutQueryParam(url, drop);
        const nameOf = (p: string) => p.split('=')[0];
        const kept = pairs.filter((p) => nameOf(p) !== drop);
        if (kept.length === pairs.length) assert.equal(out, url);
        else assert.equal(out, kept.length === 0 ? '/p' : `/p?${kept.join('&')}`);
      }),
    );
  });
});

describe('withoutFieldLines', () => {
  it('removes the named field in any case, and only it', () => {
    const lines = 'Host: h\r\nX-Api-Key: s\r\nx-api-key-2: keep\r\nx-api-key: t\r\naccept: */*\r\n';
    assert.equal(
      withoutFieldLines(lines, 'x-api-key'),
      'Host: h\r\nx-api-key-2: keep\r\naccept: */*\r\n',
    );
    assert.equal(withoutFieldLines('', 'authorization'), '');
    assert.equal(
      withoutFieldLines('Authorization: Basic x\r\n', 'authorization'),
      '',
      'the only line',
    );
  });
});
