import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { checkGrpcPath, normalizePath } from '../../../src/proxy/routing/normalize-path.js';
import { issuesOf, kindsAndPaths, minimalRaw } from '../config/helpers.js';

function normal(path: string): string {
  const result = normalizePath(path);
  assert.equal(typeof result, 'string', `${path} was refused: ${JSON.stringify(result)}`);
  return result as string;
}

function refused(path: string): string {
  const result = normalizePath(path);
  assert.notEqual(typeof result, 'string', `${path} was accepted as ${JSON.stringify(result)}`);
  return (result as { refused: string }).refused;
}

describe('normalizePath', () => {
  it('returns a path that needs nothing as the very same string', () => {
    for (const path of ['/', '/api/users/42', '/a.b/c-d_e~f', '/x/y/', '/caf\u00c3\u00a9']) {
      assert.equal(normalizePath(path), path);
    }
  });

  it('removes dot segments (RFC 3986 §5.2.4)', () => {
    assert.equal(normal('/public/../admin'), '/admin');
    assert.equal(normal('/a/./b'), '/a/b');
    assert.equal(normal('/a/b/c/./../../g'), '/a/g');
    assert.equal(normal('/a/b/..'), '/a/');
    assert.equal(normal('/a/b/.'), '/a/b/');
    assert.equal(normal('/a/..'), '/');
    assert.equal(normal('/.well-known/x'), '/.well-known/x');
    assert.equal(normal('/a/..b/c'), '/a/..b/c');
  });

  it('decodes escaped dots before removing dot segments', () => {
    assert.equal(normal('/public/%2e%2e/admin'), '/admin');
    assert.equal(normal('/public/%2E%2E/admin'), '/admin');
    assert.equal(normal('/public/.%2e/admin'), '/admin');
    assert.equal(normal('/public/%2e/x'), '/public/x');
  });

  it('decodes escaped unreserved characters and upper-cases the other escapes', () => {
    assert.equal(normal('/%61dmin'), '/admin');
    assert.equal(normal('/%7Euser/a%2db'), '/~user/a-b');
    assert.equal(normal('/a%20b/%3f/%c3%a9'), '/a%20b/%3F/%C3%A9');
    assert.equal(normal('/100%25'), '/100%25');
  });

  it('merges runs of slashes', () => {
    assert.equal(normal('//admin'), '/admin');
    assert.equal(normal('/a//b///c/'), '/a/b/c/');
  });

  it('refuses encoded slashes and backslashes, backslashes, NUL, "#" and bad escapes', () => {
    assert.match(refused('/public/..%2Fadmin'), /%2F/);
    assert.match(refused('/public%2fadmin'), /%2F/);
    assert.match(refused('/public/..%5Cadmin'), /%5C/);
    assert.match(refused('/public\\..\\admin'), /backslash/);
    assert.match(refused('/a\u0000b'), /NUL/);
    assert.match(refused('/a%00b'), /NUL/);
    assert.match(refused('/admin#x'), /#/);
    assert.match(refused('/a%2'), /hex/);
    assert.match(refused('/a%zz'), /hex/);
  });

  it('refuses ".." above the root', () => {
    refused('/..');
    refused('/../etc/passwd');
    refused('/a/../../b');
    refused('/%2e%2e/x');
  });

  it('leaves a path that is not absolute (OPTIONS *) alone', () => {
    assert.equal(normalizePath('*'), '*');
  });

  it('gives a result that is normal: no dot segments, no "//", and normalising again changes nothing', () => {
    const segment = fc.constantFrom('a', 'b', '.', '..', '', '%2e', '%2E%2e', '%41', '%7e', '%3f');
    const path = fc.array(segment, { maxLength: 8 }).map((s) => `/${s.join('/')}`);
    fc.assert(
      fc.property(path, (p) => {
        const result = normalizePath(p);
        if (typeof result !== 'string') return;
        assert.equal(normalizePath(result), result);
        assert.doesNotMatch(result, /\/\.\.?(\/|$)|\/\//);
      }),
      { numRuns: 500 },
    );
  });
});

describe('checkGrpcPath', () => {
  it('accepts a plain /package.Service/Method path', () => {
    assert.equal(checkGrpcPath('/gw.echo.v1.Echo/Say'), undefined);
  });

  it('refuses dot segments, encoded dots, "//" and encoded slashes', () => {
    for (const path of [
      '/gw.echo.v1.Echo/../Admin/Do',
      '/gw.echo.v1.Echo/%2e%2e/Admin/Do',
      '/gw.echo.v1.Echo//Say',
      '/gw.echo.v1.Echo%2FSay',
      '/gw.echo.v1.Echo/./Say',
    ]) {
      assert.notEqual(checkGrpcPath(path), undefined, path);
    }
  });
});

describe('config: route paths in normal form', () => {
  it('refuses a path, pathPrefix or rewritePrefix no normalised request path could equal', () => {
    const raw = minimalRaw();
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: [
        { match: { pathPrefix: '/public/../admin' }, upstream: 'app' },
        { match: { path: '//x' }, upstream: 'app' },
        { match: { pathPrefix: '/a%2Fb' }, upstream: 'app' },
        { match: { pathPrefix: '/ok/' }, upstream: 'app', rewritePrefix: '/%7Ev' },
      ],
    };
    const issues = issuesOf(() => parseConfig(raw, 'gw.yaml'));
    assert.deepEqual(kindsAndPaths(issues), [
      'invalid listeners[0].routes[0].match.pathPrefix',
      'invalid listeners[0].routes[1].match.path',
      'invalid listeners[0].routes[2].match.pathPrefix',
      'invalid listeners[0].routes[3].rewritePrefix',
    ]);
    assert.match(JSON.stringify(issues[0]), /write \/admin/);
  });
});
