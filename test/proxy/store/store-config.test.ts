import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { rateLimit } from '../../../src/proxy/middleware/rate-limit/index.js';
import { parseRedisUrl } from '../../../src/proxy/store/schema.js';
import { issuesOf, kindsAndPaths, minimalRaw } from '../config/helpers.js';

// The top-level `store` and `store: redis` on rate limits, through the config schema (no Redis).

function withRedisRoute(store: unknown): ReturnType<typeof minimalRaw> {
  const raw = minimalRaw();
  if (store !== undefined) raw.store = store;
  raw.listeners[0] = {
    ...raw.listeners[0],
    routes: [{ name: 'api', upstream: 'app', rateLimit: { rps: 10, store: 'redis' } }],
  };
  return raw;
}

describe('store: config', () => {
  it('fills the defaults: key prefix gw:, failure mode open, 50 ms; database 0, port 6379', () => {
    const config = parseConfig(withRedisRoute({ redis: 'redis://127.0.0.1' }), 'gw.yaml');
    assert.deepEqual(config.store, {
      redis: {
        host: '127.0.0.1',
        port: 6379,
        db: 0,
        name: 'redis://127.0.0.1:6379/0',
        url: 'redis://127.0.0.1',
      },
      keyPrefix: 'gw:',
      failureMode: 'open',
      timeoutMs: 50,
    });
    const listener = config.listeners[0];
    assert.ok(listener !== undefined && listener.protocol !== 'tcp');
    const settings = listener.routes[0]?.features.get('rateLimit');
    assert.equal((settings as { store: string }).store, 'redis');
    assert.equal(rateLimit.describe(settings), 'limit 10/s burst 10 per client-ip in redis');
    assert.deepEqual(rateLimit.toJson(settings), {
      rps: 10,
      burst: 10,
      key: 'client-ip',
      headers: false,
      store: 'redis',
    });
  });

  it('parses host, port, database and credentials, and names the store without them', () => {
    const parsed = parseRedisUrl('redis://gw:s%40cret@[::1]:6380/3');
    assert.ok(typeof parsed !== 'string');
    assert.deepEqual(
      { ...parsed },
      {
        host: '::1',
        port: 6380,
        db: 3,
        username: 'gw',
        password: 's@cret',
        name: 'redis://[::1]:6380/3',
        url: 'redis://gw:s%40cret@[::1]:6380/3',
      },
    );
  });

  it('refuses store: redis without a top-level store, naming each place', () => {
    const raw = withRedisRoute(undefined);
    raw.consumers = [{ name: 'alice', apiKeys: ['k-1'], rateLimit: { rps: 1, store: 'redis' } }];
    const issues = issuesOf(() => parseConfig(raw, 'gw.yaml'));
    assert.deepEqual(kindsAndPaths(issues), [
      'reference listeners[0].routes[0].rateLimit.store',
      'reference consumers[0].rateLimit.store',
    ]);
    assert.match(issues[0]?.problem ?? '', /top-level store/);
    // With the store, both are fine; memory never needs one.
    raw.store = { redis: 'redis://127.0.0.1:6379' };
    assert.equal(parseConfig(raw, 'gw.yaml').consumers[0]?.rateLimit?.store, 'redis');
    const memory = minimalRaw();
    memory.listeners[0] = {
      ...memory.listeners[0],
      routes: [{ upstream: 'app', rateLimit: { rps: 1, store: 'memory' } }],
    };
    assert.equal(parseConfig(memory, 'gw.yaml').store, undefined);
  });

  it('refuses bad store settings, each with its path, never echoing a password', () => {
    const bad: [unknown, string][] = [
      [{ redis: 'http://127.0.0.1:6379' }, 'invalid store.redis'],
      [{ redis: 'rediss://127.0.0.1:6379' }, 'invalid store.redis'],
      [{ redis: 'redis://127.0.0.1:6379/x' }, 'invalid store.redis'],
      [{ redis: 'redis://127.0.0.1:6379?db=1' }, 'invalid store.redis'],
      [{ redis: '127.0.0.1:6379' }, 'invalid store.redis'],
      [{}, 'missing store.redis'],
      [{ redis: 'redis://h', failureMode: 'ignore' }, 'invalid store.failureMode'],
      [{ redis: 'redis://h', timeoutMs: 0 }, 'invalid store.timeoutMs'],
      [{ redis: 'redis://h', timeoutMs: 1.5 }, 'invalid store.timeoutMs'],
      [{ redis: 'redis://h', keyPrefix: 7 }, 'invalid store.keyPrefix'],
      [{ redis: 'redis://h', db: 1 }, 'unknown-setting store.db'],
    ];
    for (const [store, expected] of bad) {
      assert.deepEqual(
        kindsAndPaths(issuesOf(() => parseConfig(withRedisRoute(store), 'gw.yaml'))),
        [expected],
        JSON.stringify(store),
      );
    }
    const [issue] = issuesOf(() =>
      parseConfig(withRedisRoute({ redis: 'rediss://u:hunter2@h:1' }), 'gw.yaml'),
    );
    assert.equal(issue?.got, undefined);
    assert.doesNotMatch(JSON.stringify(issue), /hunter2/);
    const route = withRedisRoute({ redis: 'redis://h' });
    route.listeners[0] = {
      ...route.listeners[0],
      routes: [{ upstream: 'app', rateLimit: { rps: 1, store: 'disk' } }],
    };
    assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfig(route, 'gw.yaml'))), [
      'invalid listeners[0].routes[0].rateLimit.store',
    ]);
  });
});
