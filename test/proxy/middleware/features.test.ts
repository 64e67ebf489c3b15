import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import type { ProxyConfig, RouteConfig } from '../../../src/proxy/config/types.js';
import { allowFrom } from '../../../src/proxy/middleware/allow-from/index.js';
import type { AnyFeature, FeatureDeps } from '../../../src/proxy/middleware/feature.js';
import { FEATURES } from '../../../src/proxy/middleware/features.js';
import { responseHeaders } from '../../../src/proxy/middleware/response-headers/index.js';
import {
  addReplyField,
  newExchange,
  type Exchange,
  type Handler,
  type L4Exchange,
} from '../../../src/proxy/pipeline/types.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { GwError } from '../../../src/shared/errors.js';
import { Sweeper } from '../../../src/shared/sweeper.js';
import { issuesOf, kindsAndPaths } from '../config/helpers.js';

// The two features through the config schema (where each key may go, what it accepts, what
// the resolved config holds) and their middleware called directly, without sockets.

const UPSTREAMS = [{ name: 'app', targets: ['127.0.0.1:9001'] }];

function withRoute(route: Record<string, unknown>, protocol = 'http'): ProxyConfig {
  return parseConfig(
    {
      listeners: [
        {
          name: 'web',
          protocol,
          listen: '127.0.0.1:8080',
          routes: [{ upstream: 'app', ...route }],
        },
      ],
      upstreams: UPSTREAMS,
    },
    'test.yaml',
  );
}

function routeOf(config: ProxyConfig): RouteConfig {
  const listener = config.listeners[0];
  assert.ok(listener !== undefined && listener.protocol !== 'tcp');
  const route = listener.routes[0];
  assert.ok(route);
  return route;
}

function tcpWith(extra: Record<string, unknown>): ProxyConfig {
  return parseConfig(
    {
      listeners: [
        { name: 'raw', protocol: 'tcp', listen: '127.0.0.1:8081', upstream: 'app', ...extra },
      ],
      upstreams: UPSTREAMS,
    },
    'test.yaml',
  );
}

function listenerWith(protocol: string, extra: Record<string, unknown>): () => ProxyConfig {
  return () =>
    parseConfig(
      {
        listeners: [
          {
            name: 'web',
            protocol,
            listen: '127.0.0.1:8080',
            routes: [{ upstream: 'app' }],
            ...extra,
          },
        ],
        upstreams: UPSTREAMS,
      },
      'test.yaml',
    );
}

const deps: FeatureDeps = {
  clock: new ManualClock(),
  sweeper: new Sweeper(new ManualClock()),
  config: parseConfig(
    {
      listeners: [
        { name: 'web', protocol: 'http', listen: '127.0.0.1:8080', routes: [{ upstream: 'app' }] },
      ],
      upstreams: UPSTREAMS,
    },
    'test.yaml',
  ),
  log: () => undefined,
  where: 'listener web, route r',
  upstream: () => undefined,
  keep: (_id, make) => make().value,
};

function exchange(clientIp: string): Exchange {
  return newExchange({
    kind: 'http',
    listener: 'web',
    clientIp,
    method: 'GET',
    host: '',
    url: '/',
    path: '/',
    route: 'r',
    upstream: 'app',
  });
}

/** The route middleware a feature builds for `settings`, around a terminal that records calls. */
function routeHandler(
  feature: AnyFeature,
  settings: unknown,
): { handler: Handler; calls: Exchange[] } {
  const calls: Exchange[] = [];
  const wrap = feature.build(settings, deps).route;
  assert.ok(wrap, `${feature.key} builds route middleware`);
  const handler = wrap((ex) => {
    calls.push(ex);
    return Promise.resolve();
  });
  return { handler, calls };
}

describe('features: allowFrom in the config', () => {
  it('is accepted on a route, canonicalised to address/bits', () => {
    const route = routeOf(withRoute({ allowFrom: ['10.0.0.0/8', '::1', '192.0.2.7'] }));
    assert.deepEqual(route.features.get('allowFrom'), ['10.0.0.0/8', '::1/128', '192.0.2.7/32']);
  });

  it('is accepted on a grpc route', () => {
    const route = routeOf(withRoute({ allowFrom: ['127.0.0.1'] }, 'grpc'));
    assert.deepEqual(route.features.get('allowFrom'), ['127.0.0.1/32']);
  });

  it('is accepted on a tcp listener', () => {
    const listener = tcpWith({ allowFrom: ['127.0.0.0/8'] }).listeners[0];
    assert.ok(listener?.protocol === 'tcp');
    assert.deepEqual(listener.features.get('allowFrom'), ['127.0.0.0/8']);
    assert.deepEqual([...listener.features.keys()], ['allowFrom']);
  });

  for (const protocol of ['http', 'grpc']) {
    it(`is refused on a ${protocol} listener itself, pointing at routes[].allowFrom`, () => {
      const issues = issuesOf(listenerWith(protocol, { allowFrom: ['10.0.0.0/8'] }));
      assert.deepEqual(kindsAndPaths(issues), ['misplaced listeners[0].allowFrom']);
      assert.match(issues[0]?.problem ?? '', /routes\[\]\.allowFrom/);
    });
  }

  it('refuses host names, wrong prefixes and an empty list', () => {
    for (const bad of [['localhost'], ['example.com/8'], ['10.0.0.0/33'], ['::1/129'], []]) {
      const issues = issuesOf(() => withRoute({ allowFrom: bad }));
      assert.equal(issues.length, 1, JSON.stringify(bad));
      assert.match(issues[0]?.path ?? '', /^listeners\[0\]\.routes\[0\]\.allowFrom/);
    }
    const issues = issuesOf(() => tcpWith({ allowFrom: ['gateway.internal'] }));
    assert.deepEqual(kindsAndPaths(issues).length, 1);
    assert.match(issues[0]?.path ?? '', /^listeners\[0\]\.allowFrom\[0\]/);
  });
});

describe('features: responseHeaders in the config', () => {
  it('keeps name, value pairs with names in lower case, in the order written', () => {
    const route = routeOf(
      withRoute({ responseHeaders: { 'X-Served-By': 'gw', 'Cache-Control': 'no-store' } }),
    );
    assert.deepEqual(route.features.get('responseHeaders'), [
      'x-served-by',
      'gw',
      'cache-control',
      'no-store',
    ]);
  });

  for (const name of [
    'content-length',
    'Connection',
    'x-gw-error',
    ':status',
    'transfer-encoding',
  ]) {
    it(`refuses the reserved name ${name}`, () => {
      const issues = issuesOf(() => withRoute({ responseHeaders: { [name]: 'x', ok: 'y' } }));
      assert.equal(issues.length, 1);
      const path = issues[0]?.path ?? '';
      assert.ok(path.startsWith('listeners[0].routes[0].responseHeaders'), path);
      assert.ok(path.includes(name), `the issue names ${name}: ${path}`);
    });
  }

  for (const [what, value] of [
    ['a number', 60],
    ['a boolean', true],
    ['null', null],
    ['a list', ['a']],
    ['a mapping', { a: 'b' }],
  ] as const) {
    it(`refuses ${what} as a value`, () => {
      const issues = issuesOf(() => withRoute({ responseHeaders: { 'cache-control': value } }));
      assert.equal(issues.length, 1);
      assert.match(issues[0]?.path ?? '', /responseHeaders/);
    });
  }

  it('refuses the same name twice, whatever its case', () => {
    const issues = issuesOf(() =>
      withRoute({ responseHeaders: { 'X-Tag': 'a', 'x-tag': 'b', 'X-TAG': 'c' } }),
    );
    assert.equal(issues.length, 2, 'the second and third');
  });

  it('refuses an empty mapping and a list', () => {
    assert.equal(issuesOf(() => withRoute({ responseHeaders: {} })).length, 1);
    assert.equal(issuesOf(() => withRoute({ responseHeaders: ['x-a: b'] })).length, 1);
  });

  it('is refused on a tcp listener, which has no headers', () => {
    const issues = issuesOf(() => tcpWith({ responseHeaders: { 'x-a': 'b' } }));
    assert.equal(issues.length, 1);
    assert.match(issues[0]?.path ?? '', /responseHeaders/);
  });
});

describe('features: RouteConfig.features', () => {
  it('lists the features in FEATURES order, whatever order the route writes them in', () => {
    assert.deepEqual(
      FEATURES.map((f) => f.key),
      [
        'allowFrom',
        'auth',
        'rateLimit',
        'connectionsPerSecond',
        'fallback',
        'priority',
        'responseHeaders',
      ],
    );
    const route = routeOf(
      withRoute({ responseHeaders: { 'x-a': 'b' }, allowFrom: ['10.0.0.0/8'] }),
    );
    assert.deepEqual([...route.features.keys()], ['allowFrom', 'responseHeaders']);
    assert.deepEqual(route.features.get('allowFrom'), ['10.0.0.0/8']);
    assert.deepEqual(route.features.get('responseHeaders'), ['x-a', 'b']);
  });

  it('is empty for a route without features', () => {
    assert.equal(routeOf(withRoute({})).features.size, 0);
    const listener = tcpWith({}).listeners[0];
    assert.ok(listener?.protocol === 'tcp');
    assert.equal(listener.features.size, 0);
  });
});

describe('features: allowFrom middleware', () => {
  const settings = routeOf(withRoute({ allowFrom: ['10.0.0.0/8', '::1'] })).features.get(
    'allowFrom',
  );

  it('refuses a client outside the list with GW_ERR_FORBIDDEN (403, gRPC 7), not calling next', async () => {
    const { handler, calls } = routeHandler(allowFrom, settings);
    for (const ip of ['192.0.2.1', '::2', '::ffff:11.0.0.1', '']) {
      await assert.rejects(handler(exchange(ip)), (err: unknown) => {
        assert.ok(err instanceof GwError);
        assert.equal(err.code, 'GW_ERR_FORBIDDEN');
        assert.equal(err.httpStatus, 403);
        assert.equal(err.grpcStatus, 7);
        return true;
      });
    }
    assert.equal(calls.length, 0);
  });

  it('passes a client inside the list on to next, the same exchange', async () => {
    const { handler, calls } = routeHandler(allowFrom, settings);
    const inside = ['10.1.2.3', '::1', '::ffff:10.0.0.9'].map(exchange);
    for (const ex of inside) await handler(ex);
    assert.equal(calls.length, 3);
    calls.forEach((ex, i) => assert.equal(ex, inside[i]));
  });

  it('builds the same check for a tcp listener', async () => {
    const wrap = allowFrom.build(['127.0.0.0/8'], deps).tcp;
    assert.ok(wrap);
    let passed = 0;
    const handler = wrap(() => {
      passed++;
      return Promise.resolve();
    });
    const session = (clientIp: string): L4Exchange => ({
      id: 1,
      kind: 'tcp',
      listener: 'raw',
      clientIp,
      startMs: 0,
      upstream: 'app',
      target: '',
      attempts: 0,
      errorCode: '',
      consumer: '',
      trace: undefined,
      bytesUp: 0,
      bytesDown: 0,
      outcome: '',
    });
    await handler(session('127.0.0.5'));
    await assert.rejects(handler(session('10.0.0.1')), { code: 'GW_ERR_FORBIDDEN' });
    assert.equal(passed, 1);
  });
});

describe('features: responseHeaders middleware', () => {
  const settings = routeOf(withRoute({ responseHeaders: { 'X-Served-By': 'gw' } })).features.get(
    'responseHeaders',
  );

  it('adds its fields to the exchange before calling next', async () => {
    let seen: readonly string[] | undefined;
    const wrap = responseHeaders.build(settings, deps).route;
    assert.ok(wrap);
    await wrap((ex) => {
      seen = ex.replyFields?.slice();
      return Promise.resolve();
    })(exchange('10.0.0.1'));
    assert.deepEqual(seen, ['x-served-by', 'gw']);
  });

  it('gives each exchange its own copy: a later field on one does not reach the other', async () => {
    const { handler } = routeHandler(responseHeaders, settings);
    const one = exchange('10.0.0.1');
    const two = exchange('10.0.0.2');
    await handler(one);
    await handler(two);
    assert.notEqual(one.replyFields, two.replyFields);
    addReplyField(one, 'retry-after', '5');
    assert.deepEqual(one.replyFields, ['x-served-by', 'gw', 'retry-after', '5']);
    assert.deepEqual(two.replyFields, ['x-served-by', 'gw']);
    assert.deepEqual(settings, ['x-served-by', 'gw'], 'the route setting is untouched');
    const three = exchange('10.0.0.3');
    await handler(three);
    assert.deepEqual(three.replyFields, ['x-served-by', 'gw']);
  });

  it('keeps fields an earlier middleware added, before its own', async () => {
    const { handler } = routeHandler(responseHeaders, settings);
    const ex = exchange('10.0.0.1');
    addReplyField(ex, 'ratelimit', 'limit=10');
    const before = ex.replyFields;
    await handler(ex);
    assert.deepEqual(ex.replyFields, ['ratelimit', 'limit=10', 'x-served-by', 'gw']);
    assert.deepEqual(before, ['ratelimit', 'limit=10'], 'the earlier list is not changed in place');
  });
});
