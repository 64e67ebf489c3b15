import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import type { RouteConfig } from '../../../src/proxy/config/types.js';
import {
  compileRoutes,
  matchRoute,
  type CompiledRoute,
  type RouteRequest,
} from '../../../src/proxy/routing/compile-routes.js';
import { hostOf } from '../../../src/proxy/routing/host-of.js';

// Routes are built through parseConfig, as the gateway builds them (host and header names lower
// case, methods upper case), so the tests see the RouteConfig that production code compiles.

/** The compiled routes of one http listener whose `routes` are `raw`. */
function routes(raw: Record<string, unknown>[]): CompiledRoute[] {
  const config = parseConfig(
    {
      listeners: [{ name: 'web', protocol: 'http', listen: '127.0.0.1:8080', routes: raw }],
      upstreams: [
        { name: 'app', targets: ['127.0.0.1:9001'] },
        { name: 'other', targets: ['127.0.0.1:9002'] },
      ],
    },
    'test.yaml',
  );
  const web = config.listeners[0];
  assert.ok(web?.protocol === 'http');
  return compileRoutes(web.routes);
}

/** The one compiled route of `raw`. */
function route(raw: Record<string, unknown>): CompiledRoute {
  const [only] = routes([{ upstream: 'app', ...raw }]);
  assert.ok(only);
  return only;
}

function request(partial: Partial<RouteRequest> = {}): RouteRequest {
  return { method: 'GET', host: 'example.test', path: '/', headers: {}, ...partial };
}

/** The name of the route `request` goes to, or undefined for none (404). */
function winner(compiled: readonly CompiledRoute[], partial: Partial<RouteRequest>) {
  return matchRoute(compiled, request(partial))?.name;
}

/** True when the single route of `raw` matches the request. */
function matches(raw: Record<string, unknown>, partial: Partial<RouteRequest>): boolean {
  return route(raw).matches(request(partial));
}

describe('compileRoutes', () => {
  it('compiles one route per config route, in order, keeping name, upstream and config', () => {
    const compiled = routes([
      { name: 'a', match: { pathPrefix: '/a' }, upstream: 'app' },
      { name: 'b', upstream: 'other' },
    ]);
    assert.deepEqual(
      compiled.map((r) => [r.name, r.upstream, r.config.name]),
      [
        ['a', 'app', 'a'],
        ['b', 'other', 'b'],
      ],
    );
    assert.equal(compiled[0]?.config.match.pathPrefix, '/a');
  });

  it('compiles no routes to none', () => {
    assert.deepEqual(compileRoutes([]), []);
  });
});

describe('matchRoute', () => {
  it('returns undefined when no route matches, or there are none', () => {
    assert.equal(matchRoute([], request()), undefined);
    assert.equal(
      winner(routes([{ match: { path: '/x' }, upstream: 'app' }]), { path: '/y' }),
      undefined,
    );
  });

  it('returns the first route that matches, even when a later one is more specific', () => {
    const compiled = routes([
      { name: 'api', match: { pathPrefix: '/api' }, upstream: 'app' },
      { name: 'users', match: { pathPrefix: '/api/users' }, upstream: 'other' },
      { name: 'all', upstream: 'other' },
    ]);
    assert.equal(winner(compiled, { path: '/api/users/1' }), 'api');
    assert.equal(winner(compiled, { path: '/api' }), 'api');
    assert.equal(winner(compiled, { path: '/else' }), 'all');
  });

  it('skips a route whose conditions do not all hold and goes on to the next', () => {
    const compiled = routes([
      { name: 'post-api', match: { pathPrefix: '/api', methods: ['POST'] }, upstream: 'app' },
      { name: 'api', match: { pathPrefix: '/api' }, upstream: 'other' },
    ]);
    assert.equal(winner(compiled, { path: '/api/x', method: 'POST' }), 'post-api');
    assert.equal(winner(compiled, { path: '/api/x', method: 'GET' }), 'api');
  });

  it('returns the very compiled route object', () => {
    const compiled = routes([
      { name: 'a', match: { path: '/a' }, upstream: 'app' },
      { name: 'b', upstream: 'app' },
    ]);
    assert.equal(matchRoute(compiled, request({ path: '/zzz' })), compiled[1]);
  });
});

describe('CompiledRoute.matches', () => {
  it('matches every request when the route has no conditions', () => {
    const any = route({});
    for (const r of [
      request(),
      request({ method: 'DELETE', host: '', path: '/deep/path', headers: { a: 'b' } }),
      request({ path: '*', method: 'OPTIONS' }),
    ]) {
      assert.equal(any.matches(r), true);
    }
  });

  it('requires every condition: one that fails is enough to miss', () => {
    const raw = {
      match: {
        host: 'example.test',
        pathPrefix: '/api',
        methods: ['GET'],
        headers: { 'x-team': 'blue' },
      },
    };
    const good = {
      host: 'example.test',
      path: '/api/x',
      method: 'GET',
      headers: { 'x-team': 'blue' },
    };
    assert.equal(matches(raw, good), true);
    assert.equal(matches(raw, { ...good, host: 'other.test' }), false);
    assert.equal(matches(raw, { ...good, path: '/web' }), false);
    assert.equal(matches(raw, { ...good, method: 'PUT' }), false);
    assert.equal(matches(raw, { ...good, headers: { 'x-team': 'red' } }), false);
    assert.equal(matches(raw, { ...good, headers: {} }), false);
  });

  describe('host', () => {
    it('matches an exact host and nothing else', () => {
      const raw = { match: { host: 'example.test' } };
      assert.equal(matches(raw, { host: 'example.test' }), true);
      for (const host of [
        'www.example.test',
        'example.test.evil',
        'xexample.test',
        'example',
        '',
      ]) {
        assert.equal(matches(raw, { host }), false, host);
      }
    });

    it('is case-insensitive: the pattern is lower-cased and hostOf lower-cases the request', () => {
      assert.equal(
        matches({ match: { host: 'EXAMPLE.Test' } }, { host: hostOf('Example.TEST') }),
        true,
      );
      // compileRoutes lower-cases the pattern itself, whatever the config layer did.
      const direct: RouteConfig = {
        name: 'direct',
        upstream: 'app',
        stripPrefix: false,
        features: new Map(),
        match: { host: 'Example.TEST' },
      };
      const [compiled] = compileRoutes([direct]);
      assert.ok(compiled);
      assert.equal(compiled.matches(request({ host: 'example.test' })), true);
      const [wild] = compileRoutes([{ ...direct, match: { host: '*.Example.TEST' } }]);
      assert.ok(wild);
      assert.equal(wild.matches(request({ host: 'api.example.test' })), true);
    });

    it('ignores the port of the Host header (hostOf removes it)', () => {
      assert.equal(
        matches({ match: { host: 'example.test' } }, { host: hostOf('example.test:8443') }),
        true,
      );
      assert.equal(
        matches({ match: { host: '*.example.test' } }, { host: hostOf('A.Example.Test:80') }),
        true,
      );
      assert.equal(
        matches({ match: { host: '10.0.0.1' } }, { host: hostOf('10.0.0.1:8080') }),
        true,
      );
    });

    it('matches an IPv6 host written "[::1]" for Host "[::1]:8080"', () => {
      assert.equal(matches({ match: { host: '[::1]' } }, { host: hostOf('[::1]:8080') }), true);
      assert.equal(
        matches({ match: { host: '[2001:DB8::1]' } }, { host: hostOf('[2001:db8::1]') }),
        true,
      );
    });

    it('matches "*.example.test" for exactly one more label', () => {
      const raw = { match: { host: '*.example.test' } };
      for (const host of ['api.example.test', 'a.example.test', 'x-1.example.test']) {
        assert.equal(matches(raw, { host }), true, host);
      }
      for (const host of [
        'example.test', // no label
        '.example.test', // an empty label
        'a.b.example.test', // two labels
        'apiexample.test', // not a label of example.test
        'api.example.test.evil',
        'api.example.tes',
        '',
      ]) {
        assert.equal(matches(raw, { host }), false, host);
      }
    });
  });

  describe('path', () => {
    it('matches the exact path only: no prefix, no trailing slash, case-sensitive', () => {
      const raw = { match: { path: '/exact' } };
      assert.equal(matches(raw, { path: '/exact' }), true);
      for (const path of ['/exact/', '/exact/x', '/exactly', '/Exact', '/', '/ex']) {
        assert.equal(matches(raw, { path }), false, path);
      }
    });
  });

  describe('pathPrefix', () => {
    it('matches on segment boundaries: /api matches /api, /api/ and below, not /apiary', () => {
      const raw = { match: { pathPrefix: '/api' } };
      for (const path of ['/api', '/api/', '/api/users', '/api/users/42/']) {
        assert.equal(matches(raw, { path }), true, path);
      }
      for (const path of ['/apiary', '/api-v2', '/api.json', '/ap', '/', '/x/api', '/API']) {
        assert.equal(matches(raw, { path }), false, path);
      }
    });

    it('a prefix ending in "/" matches anything below it, but not the path without the slash', () => {
      const raw = { match: { pathPrefix: '/api/' } };
      for (const path of ['/api/', '/api/users', '/api/x/y']) {
        assert.equal(matches(raw, { path }), true, path);
      }
      for (const path of ['/api', '/apiary', '/apix/']) {
        assert.equal(matches(raw, { path }), false, path);
      }
    });

    it('"/" matches every path', () => {
      const raw = { match: { pathPrefix: '/' } };
      for (const path of ['/', '/a', '/a/b/c']) assert.equal(matches(raw, { path }), true, path);
      assert.equal(matches(raw, { path: '*' }), false, 'OPTIONS * has no path');
    });

    it('a multi-segment prefix is bounded by its last segment too', () => {
      const raw = { match: { pathPrefix: '/gw.echo.v1.Echo' } };
      assert.equal(matches(raw, { path: '/gw.echo.v1.Echo/Say' }), true);
      assert.equal(matches(raw, { path: '/gw.echo.v1.EchoMore/Say' }), false);
    });
  });

  describe('pathRegex', () => {
    it('tests the path with the regular expression, unanchored unless the pattern anchors it', () => {
      const loose = { match: { pathRegex: '/re/[0-9]+' } };
      assert.equal(matches(loose, { path: '/re/12' }), true);
      assert.equal(matches(loose, { path: '/x/re/1/y' }), true);
      assert.equal(matches(loose, { path: '/re/x' }), false);

      const anchored = { match: { pathRegex: '^/re/[0-9]+$' } };
      assert.equal(matches(anchored, { path: '/re/12' }), true);
      assert.equal(matches(anchored, { path: '/re/12/x' }), false);
      assert.equal(matches(anchored, { path: '/x/re/12' }), false);
    });

    it('gives the same answer on every request (a global regex would keep lastIndex)', () => {
      const r = route({ match: { pathRegex: '^/ws/[a-z]+$' } });
      for (let i = 0; i < 3; i++) {
        assert.equal(r.matches(request({ path: '/ws/chat' })), true);
        assert.equal(r.matches(request({ path: '/ws/CHAT' })), false);
      }
    });
  });

  describe('methods', () => {
    it('matches any listed method, and the config upper-cases the list', () => {
      const raw = { match: { methods: ['get', 'Post'] } };
      assert.equal(matches(raw, { method: 'GET' }), true);
      assert.equal(matches(raw, { method: 'POST' }), true);
      for (const method of ['PUT', 'DELETE', 'HEAD', 'OPTIONS']) {
        assert.equal(matches(raw, { method }), false, method);
      }
    });
  });

  describe('headers', () => {
    it('requires each listed header with exactly that value (names lower case, as Node gives)', () => {
      const raw = { match: { headers: { 'X-Team': 'blue', 'x-env': 'prod' } } };
      assert.equal(
        matches(raw, { headers: { 'x-team': 'blue', 'x-env': 'prod', other: 'y' } }),
        true,
      );
      assert.equal(matches(raw, { headers: { 'x-team': 'blue' } }), false, 'x-env missing');
      assert.equal(
        matches(raw, { headers: { 'x-team': 'Blue', 'x-env': 'prod' } }),
        false,
        'value case',
      );
      assert.equal(matches(raw, { headers: { 'x-team': 'blue ', 'x-env': 'prod' } }), false);
      assert.equal(matches(raw, { headers: { 'x-team': 'blue, red', 'x-env': 'prod' } }), false);
      assert.equal(matches(raw, { headers: { 'x-team': undefined, 'x-env': 'prod' } }), false);
    });

    it('matches a repeated header (an array value) when one of its values is the one asked for', () => {
      const raw = { match: { headers: { 'x-team': 'blue' } } };
      assert.equal(matches(raw, { headers: { 'x-team': ['red', 'blue'] } }), true);
      assert.equal(matches(raw, { headers: { 'x-team': ['red', 'green'] } }), false);
      assert.equal(matches(raw, { headers: { 'x-team': [] } }), false);
    });

    it('does not find a header in the prototype of the request headers', () => {
      const raw = { match: { headers: { constructor: 'x' } } };
      assert.equal(matches(raw, { headers: {} }), false);
      assert.equal(matches(raw, { headers: { constructor: 'x' } }), true);
    });
  });
});

describe('CompiledRoute.rewrite', () => {
  it('leaves the URL alone without stripPrefix or rewritePrefix', () => {
    for (const raw of [{}, { match: { pathPrefix: '/api' } }, { match: { path: '/api' } }]) {
      const r = route(raw);
      assert.equal(r.rewrite('/api/users?x=1'), '/api/users?x=1');
      assert.equal(r.rewrite('/api'), '/api');
    }
    assert.equal(
      route({ match: { pathPrefix: '/api' }, stripPrefix: false }).rewrite('/api/u'),
      '/api/u',
    );
  });

  it('ignores stripPrefix and rewritePrefix on a route without pathPrefix (the config refuses them)', () => {
    const [compiled] = compileRoutes([
      {
        name: 'r',
        upstream: 'app',
        stripPrefix: true,
        features: new Map(),
        rewritePrefix: '/v2',
        match: { path: '/a' },
      },
    ]);
    assert.ok(compiled);
    assert.equal(compiled.rewrite('/a?q=1'), '/a?q=1');
  });

  it('stripPrefix removes the prefix and never leaves an empty or relative path', () => {
    const r = route({ match: { pathPrefix: '/api' }, stripPrefix: true });
    assert.equal(r.rewrite('/api/users'), '/users');
    assert.equal(r.rewrite('/api/users/42/'), '/users/42/');
    assert.equal(r.rewrite('/api/'), '/');
    assert.equal(r.rewrite('/api'), '/');
  });

  it('stripPrefix keeps the query string as sent', () => {
    const r = route({ match: { pathPrefix: '/api' }, stripPrefix: true });
    assert.equal(r.rewrite('/api/users?x=1&y=%2F'), '/users?x=1&y=%2F');
    assert.equal(r.rewrite('/api?x=1'), '/?x=1');
    assert.equal(r.rewrite('/api/?x=/api'), '/?x=/api');
  });

  it('stripPrefix of a prefix ending in "/" still forwards an absolute path', () => {
    const r = route({ match: { pathPrefix: '/api/' }, stripPrefix: true });
    assert.equal(r.rewrite('/api/users'), '/users');
    assert.equal(r.rewrite('/api/'), '/');
    assert.equal(r.rewrite('/api/?a=b'), '/?a=b');
  });

  it('stripPrefix of "/" forwards the path unchanged', () => {
    const r = route({ match: { pathPrefix: '/' }, stripPrefix: true });
    assert.equal(r.rewrite('/users?x=1'), '/users?x=1');
    assert.equal(r.rewrite('/'), '/');
  });

  it('rewritePrefix replaces the prefix, with and without a query string', () => {
    const r = route({ match: { pathPrefix: '/old' }, rewritePrefix: '/new' });
    assert.equal(r.rewrite('/old/page'), '/new/page');
    assert.equal(r.rewrite('/old'), '/new');
    assert.equal(r.rewrite('/old/'), '/new/');
    assert.equal(r.rewrite('/old/page?x=1'), '/new/page?x=1');
    assert.equal(r.rewrite('/old?x=/old'), '/new?x=/old');
  });

  it('rewritePrefix to a deeper path keeps the rest', () => {
    const r = route({ match: { pathPrefix: '/api' }, rewritePrefix: '/internal/v2' });
    assert.equal(r.rewrite('/api/users/1?full=true'), '/internal/v2/users/1?full=true');
  });

  it('rewritePrefix of a prefix and a replacement both ending in "/" keeps one slash', () => {
    const r = route({ match: { pathPrefix: '/api/' }, rewritePrefix: '/v2/' });
    assert.equal(r.rewrite('/api/users?x=1'), '/v2/users?x=1');
    assert.equal(r.rewrite('/api/'), '/v2/');
  });

  it('rewritePrefix "/" strips like stripPrefix: /api/users → /users', () => {
    const r = route({ match: { pathPrefix: '/api' }, rewritePrefix: '/' });
    assert.equal(r.rewrite('/api/users?x=1'), '/users?x=1');
    assert.equal(r.rewrite('/api'), '/');
  });

  it('rewritePrefix "/v2/" for prefix "/api": /api/users → /v2/users', () => {
    const r = route({ match: { pathPrefix: '/api' }, rewritePrefix: '/v2/' });
    assert.equal(r.rewrite('/api/users'), '/v2/users');
  });

  it('rewritePrefix "/v2" for prefix "/" or "/api/": → /v2/users', () => {
    const root = route({ match: { pathPrefix: '/' }, rewritePrefix: '/v2' });
    assert.equal(root.rewrite('/users?x=1'), '/v2/users?x=1');
    const slash = route({ match: { pathPrefix: '/api/' }, rewritePrefix: '/v2' });
    assert.equal(slash.rewrite('/api/users'), '/v2/users');
  });
});
