/**
 * The places outside middleware/auth that authentication relies on: the
 * consumer field sent upstream, the access log's redaction, route matching
 * that a protected route cannot be dodged around, and key files read from the
 * config file's directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../../src/proxy/config/schema.js';
import { loadConfig } from '../../../../src/proxy/config/load.js';
import { loadJwtKey } from '../../../../src/proxy/middleware/auth/jwt.js';
import type { JwtSettings } from '../../../../src/proxy/middleware/auth/schema.js';
import { redactParams } from '../../../../src/proxy/middleware/access-log/access-log.js';
import { compileRoutes, matchRoute } from '../../../../src/proxy/routing/compile-routes.js';
import { hostOf } from '../../../../src/proxy/routing/host-of.js';
import { normalizePath } from '../../../../src/proxy/routing/normalize-path.js';
import { requestFieldLines } from '../../../../src/proxy/upstream/http-headers.js';

const context = { peerIp: '10.0.0.1', peerTrusted: false, proto: 'http' };

describe('x-gw-consumer in requestFieldLines', () => {
  const raw = ['Host', 'h.test', 'X-GW-Consumer', 'root', 'x-gw-consumer', 'admin', 'x-a', '1'];
  const headers = { host: 'h.test' };
  it('drops every client copy, in any case, when no one is authenticated', () => {
    const out = requestFieldLines(raw, headers, context);
    assert.doesNotMatch(out, /x-gw-consumer/i);
    assert.match(out, /^Host: h.test\r\nx-a: 1\r\n/);
  });
  it('sends the authenticated consumer once, in place of the client copies', () => {
    const out = requestFieldLines(raw, headers, { ...context, consumer: 'alice' });
    assert.deepEqual(
      out.split('\r\n').filter((l) => /^x-gw-consumer/i.test(l)),
      ['x-gw-consumer: alice'],
    );
  });
  it('leaves out the header of a consumed credential, in any case, and nothing else', () => {
    const fields = ['Host', 'h.test', 'Authorization', 'Basic x', 'x-a', '1', 'authorization', 'y'];
    const consumed = { field: 'authorization', param: '' };
    const out = requestFieldLines(fields, headers, { ...context, consumer: 'alice', consumed });
    assert.doesNotMatch(out, /authorization/i);
    assert.match(out, /^Host: h.test\r\nx-a: 1\r\n/);
    assert.match(requestFieldLines(fields, headers, context), /Authorization: Basic x/);
  });
});

describe('redactParams', () => {
  it('hides the value of the named parameters only, wherever they are', () => {
    assert.equal(redactParams('/a?key=s3cret&b=1&key=2', ['key']), '/a?key=***&b=1&key=***');
    assert.equal(redactParams('/a?akey=1&key', ['key']), '/a?akey=1&key=***');
    assert.equal(redactParams('/a?k=1&b=2&t=3', ['t', 'k']), '/a?k=***&b=2&t=***');
    assert.equal(redactParams('/a', ['key']), '/a');
  });
});

describe('route matching around a protected route', () => {
  const config = parseConfig(
    {
      listeners: [
        {
          name: 'web',
          protocol: 'http',
          listen: '127.0.0.1:8080',
          routes: [
            { name: 'exact', match: { path: '/login' }, upstream: 'app' },
            { name: 'admin', match: { pathPrefix: '/admin' }, upstream: 'app' },
            { name: 'host', match: { host: 'secure.test' }, upstream: 'app' },
            { name: 'rest', upstream: 'app' },
          ],
        },
      ],
      upstreams: [{ name: 'app', targets: ['127.0.0.1:9001'] }],
    },
    'test.yaml',
  );
  const web = config.listeners[0];
  assert.ok(web?.protocol === 'http');
  const compiled = compileRoutes(web.routes);
  const routeOf = (path: string, host = 'gw.test') =>
    matchRoute(compiled, { method: 'GET', host, path, headers: {} })?.name;

  it('takes ";" parameters as the end of a segment for path and pathPrefix', () => {
    assert.equal(routeOf('/admin;jsessionid=1'), 'admin');
    assert.equal(routeOf('/admin;a=b/users'), 'admin');
    assert.equal(routeOf('/login;x'), 'exact');
    assert.equal(routeOf('/adminx'), 'rest');
    assert.equal(routeOf('/loginx'), 'rest');
  });
  it('is case-sensitive on the path', () => {
    assert.equal(routeOf('/ADMIN'), 'rest');
  });
  it('matches a fully qualified Host (one trailing dot) as the name', () => {
    assert.equal(routeOf('/', hostOf('secure.test.')), 'host');
    assert.equal(routeOf('/', hostOf('Secure.Test.:8080')), 'host');
    assert.equal(hostOf('secure.test..'), 'secure.test.');
    assert.equal(hostOf('.'), '.');
  });
  it('refuses a dot segment carrying ";" parameters', () => {
    for (const path of ['/public/..;/admin', '/a/.;x/b', '/public/%2E%2E;/admin'])
      assert.deepEqual(normalizePath(path), { refused: 'a dot segment with ";" parameters' });
    assert.equal(normalizePath('/a/...;b'), '/a/...;b');
  });
});

describe('loadJwtKey', () => {
  it("reads a key file relative to the config file's directory, and reports a missing one", () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-jwt-'));
    try {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      writeFileSync(join(dir, 'k.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
      const settings: JwtSettings = { type: 'jwt', publicKeyFile: 'k.pem', algorithms: ['ES256'] };
      const key = loadJwtKey(settings, join(dir, 'gw.yaml'), 'route r');
      assert.ok(typeof key === 'object' && 'asymmetricKeyType' in key);
      assert.equal(key.asymmetricKeyType, 'ec');
      assert.throws(
        () =>
          loadJwtKey({ ...settings, publicKeyFile: 'nope.pem' }, join(dir, 'gw.yaml'), 'route r'),
        (err: Error) =>
          err.message.includes(join(dir, 'nope.pem')) && err.message.includes('auth.publicKeyFile'),
      );
      writeFileSync(join(dir, 'priv.pem'), 'not a key');
      assert.throws(() =>
        loadJwtKey({ ...settings, publicKeyFile: 'priv.pem' }, join(dir, 'gw.yaml'), 'route r'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('loadConfig', () => {
  it('reports a JWT key file that is missing or holds no key, with its place, before anything starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-jwt-'));
    try {
      writeFileSync(join(dir, 'bad.json'), '{ "keys": "no" }');
      const file = join(dir, 'gw.yaml');
      writeFileSync(
        file,
        `listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    routes:
      - { upstream: u, auth: { type: jwt, publicKeyFile: gone.pem, algorithms: [RS256] } }
      - { upstream: u, auth: { type: jwt, jwksFile: bad.json, algorithms: [ES256] } }
upstreams: [{ name: u, targets: ["127.0.0.1:1"] }]
`,
      );
      await assert.rejects(loadConfig(file), (err: Error) => {
        assert.match(
          err.message,
          /gw\.yaml:6:\d+: listeners\[0\]\.routes\[0\]\.auth\.publicKeyFile: cannot use .*gone\.pem/,
        );
        assert.match(
          err.message,
          /listeners\[0\]\.routes\[1\]\.auth\.jwksFile: cannot use .*bad\.json/,
        );
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
