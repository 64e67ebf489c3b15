import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  gcra,
  gcraPolicy,
  type GcraResult,
} from '../../../src/proxy/middleware/rate-limit/gcra.js';
import { isPending } from '../../../src/proxy/middleware/rate-limit/limiter-store.js';
import { redisGcra } from '../../../src/proxy/middleware/rate-limit/redis-gcra.js';
import { SharedRateLimitStore } from '../../../src/proxy/middleware/rate-limit/shared-store.js';
import { RedisConnection } from '../../../src/proxy/store/redis-connection.js';
import { storeSchema, type StoreSettings } from '../../../src/proxy/store/schema.js';
import { GwError } from '../../../src/shared/errors.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';
import { sleep, until } from '../../helpers/wait.js';

/*
 * The Redis-backed rate-limit store against a real redis-server on a
 * loopback port: the Lua script decides exactly as gcra.ts does, survives
 * SCRIPT FLUSH, sets TTLs, takes its time from Redis; the store admits
 * locally only what it may, charges it, and applies the failure mode while
 * Redis is stopped or gone, logging each change once.
 */

let redis: TestRedis;
const connections: RedisConnection[] = [];

before(async () => {
  redis = await startRedis();
});

after(async () => {
  for (const c of connections) c.close();
  await redis.close();
});

/** A generous timeout unless a test is about timeouts: the test machine may be busy. */
function settings(extra: Record<string, unknown> = {}): StoreSettings {
  return storeSchema.parse({ redis: redis.url, timeoutMs: 1000, ...extra });
}

async function connect(
  extra: Record<string, unknown> = {},
): Promise<{ connection: RedisConnection; log: string[]; store: StoreSettings }> {
  const log: string[] = [];
  const store = settings(extra);
  const connection = new RedisConnection(store.redis, store, (line) => log.push(line));
  connections.push(connection);
  await connection.ready(5000);
  assert.equal(connection.up, true, log.join('\n'));
  return { connection, log, store };
}

const realUs = (): number => Math.floor(performance.now() * 1000);

function sharedStore(
  connection: RedisConnection,
  store: StoreSettings,
  scope: string,
  nowUs: () => number = realUs,
  hashKeys = false,
): SharedRateLimitStore {
  return new SharedRateLimitStore({ settings: store, connection }, scope, { hashKeys, nowUs });
}

/** The number in a reply such as `:1234\r\n`. */
function integer(reply: string): number {
  assert.match(reply, /^:-?\d+\r\n$/);
  return Number(reply.slice(1));
}

/** A deterministic sequence of pseudo-random numbers in [0, 1). */
function randoms(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('the GCRA script in Redis', () => {
  it('decides as gcra.ts does for the same sequence of times, request by request', async () => {
    const { connection } = await connect();
    const script = redisGcra(connection);
    // Intervals of 1 s and more, so no key expires (in real time) while the sequence runs.
    for (const [rps, burst] of [
      [1, 5],
      [0.5, 2],
      [0.2, 1],
      [1, 30],
    ] as const) {
      const policy = gcraPolicy(rps, burst);
      const key = `gw-test:seq:${rps}:${burst}`;
      const next = randoms(rps * 1000 + burst);
      let now = 1_000_000_000_000;
      let tat: number | undefined;
      for (let i = 0; i < 150; i++) {
        now += Math.floor(next() * policy.intervalUs * 1.5);
        const local = gcra(tat, now, policy);
        if (local.allowed) tat = local.tatUs;
        const reply = await script(key, policy, 1, 'take', now);
        const expected = {
          allowed: local.allowed,
          resetUs: local.resetUs,
          remaining: local.remaining,
          retryAfterUs: local.retryAfterUs,
        };
        assert.deepEqual(reply, expected, `rps ${rps} burst ${burst}, request ${i}`);
      }
    }
  });

  it('charges requests admitted elsewhere even past the limit, and a take then waits them out', async () => {
    const { connection } = await connect();
    const script = redisGcra(connection);
    const policy = gcraPolicy(1, 2); // T = 1 s, τ = 2 s
    const now = 5_000_000_000_000;
    const charged = await script('gw-test:charge', policy, 5, 'charge', now);
    assert.deepEqual(charged, { allowed: true, resetUs: 5_000_000, remaining: 0, retryAfterUs: 0 });
    const refused = await script('gw-test:charge', policy, 1, 'take', now + 1_000_000);
    assert.deepEqual(refused, {
      allowed: false,
      resetUs: 4_000_000,
      remaining: 0,
      retryAfterUs: 3_000_000,
    });
    const paid = await script('gw-test:charge', policy, 1, 'take', now + 4_000_000);
    assert.equal(paid.allowed, true);
  });

  it('sets each key to expire when it is back to its full burst; a refusal leaves it', async () => {
    const { connection } = await connect();
    const script = redisGcra(connection);
    const policy = gcraPolicy(1, 3); // T = 1 s
    const key = 'gw-test:ttl';
    await script(key, policy, 1, 'take');
    const one = integer(await redis.command('PTTL', key));
    assert.ok(one > 900 && one <= 1000, `PTTL ${one} after one request`);
    await script(key, policy, 1, 'take');
    await script(key, policy, 1, 'take');
    const three = integer(await redis.command('PTTL', key));
    assert.ok(three > 2900 && three <= 3000, `PTTL ${three} after three`);
    const refused = await script(key, policy, 1, 'take');
    assert.equal(refused.allowed, false);
    const after = integer(await redis.command('PTTL', key));
    assert.ok(after <= three && after > 2800, `PTTL ${after} after a refusal`);
  });

  it('is sent again in full after SCRIPT FLUSH (EVALSHA answered NOSCRIPT)', async () => {
    const { connection } = await connect();
    const script = redisGcra(connection);
    const policy = gcraPolicy(1, 100);
    await script('gw-test:flush', policy, 1, 'take');
    const before = await redis.command('INFO', 'commandstats');
    assert.match(await redis.command('SCRIPT', 'FLUSH'), /^\+OK/);
    const replies = await Promise.all(
      [1, 2, 3].map(() => script('gw-test:flush', policy, 1, 'take')),
    );
    assert.deepEqual(
      replies.map((r) => r.remaining),
      [98, 97, 96],
    );
    const stats = await redis.command('INFO', 'commandstats');
    const failedEvalsha = (text: string): number =>
      Number(/cmdstat_evalsha:.*failed_calls=(\d+)/.exec(text)?.[1] ?? 0);
    assert.ok(failedEvalsha(stats) > failedEvalsha(before), 'an EVALSHA was answered NOSCRIPT');
    // After the reload, the script is called by its SHA again.
    await script('gw-test:flush', policy, 1, 'take');
    assert.equal(failedEvalsha(await redis.command('INFO', 'commandstats')), failedEvalsha(stats));
  });

  it('takes its time from Redis: instances with clocks an hour apart share one limit', async () => {
    const a = await connect();
    const b = await connect();
    const hour = 3_600_000_000;
    const east = sharedStore(a.connection, a.store, 'skew');
    const west = sharedStore(b.connection, b.store, 'skew', () => realUs() + hour);
    const policy = gcraPolicy(1, 1); // burst 1: every decision is Redis's
    const take = (store: SharedRateLimitStore, nowUs: number): Promise<GcraResult> =>
      Promise.resolve(store.take('client', nowUs, policy));
    const first = await take(east, realUs());
    const second = await take(west, realUs() + hour);
    assert.equal(first.allowed, true);
    assert.equal(second.allowed, false, 'the other instance spent the burst, whatever our clock');
    assert.ok(
      second.retryAfterUs > 900_000 && second.retryAfterUs <= 1_000_000,
      `retry after ${second.retryAfterUs} µs, not an hour off`,
    );
  });
});

describe('SharedRateLimitStore', () => {
  it('admits locally while half the burst is left, charging Redis; asks Redis near the limit', async () => {
    const { connection, store } = await connect();
    const limiter = sharedStore(connection, store, 'web/api');
    const other = sharedStore((await connect()).connection, store, 'web/api');
    const policy = gcraPolicy(1, 20); // T = 1 s: no credit comes back while the test runs
    const kinds: string[] = [];
    const takeSome = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const result = limiter.take('10.0.0.1', realUs(), policy);
        kinds.push(isPending(result) ? 'redis' : 'local');
        assert.equal((await result).allowed, true, `request ${kinds.length}`);
      }
    };
    await takeSome(10);
    // First: a key never seen. Then 9 while ≥ 10 of the 20 would be left.
    assert.deepEqual(kinds, ['redis', ...Array<string>(9).fill('local')]);
    await sleep(50);
    // The local admissions were charged in the background: another instance sees 10 spent.
    assert.equal((await other.take('10.0.0.1', realUs(), policy)).remaining, 20 - 10 - 1);
    // Near the limit (its view refreshed by the charge's answer), Redis decides each one.
    await takeSome(2);
    assert.deepEqual(kinds.slice(10), ['redis', 'redis']);
    assert.equal((await other.take('10.0.0.1', realUs(), policy)).remaining, 20 - 13 - 1);
    assert.equal(integer(await redis.command('EXISTS', 'gw:rl:web/api:10.0.0.1')), 1);
  });

  it('refuses locally what its view refuses, and keeps header keys as their SHA-256', async () => {
    const { connection, store } = await connect();
    const limiter = sharedStore(connection, store, 'web/keys', realUs, true);
    const policy = gcraPolicy(1, 1);
    assert.equal((await limiter.take('secret-key', realUs(), policy)).allowed, true);
    const refused = limiter.take('secret-key', realUs(), policy);
    assert.equal(isPending(refused), false, 'known to be over: no round trip');
    assert.equal((await refused).allowed, false);
    const keys = await redis.command('KEYS', 'gw:rl:web/keys:*');
    assert.doesNotMatch(keys, /secret-key/);
    assert.match(keys, /gw:rl:web\/keys:sha256:/);
  });

  it('decides locally when Redis refuses the script (a key of its own holds a hash), saying so once', async () => {
    const { connection, store, log } = await connect();
    const limiter = sharedStore(connection, store, 'web/wrong');
    assert.equal(integer(await redis.command('HSET', 'gw:rl:web/wrong:k', 'f', 'v')), 1);
    const policy = gcraPolicy(1, 1);
    assert.equal((await limiter.take('k', realUs(), policy)).allowed, true, 'the local store');
    assert.equal((await limiter.take('k', realUs(), policy)).allowed, false, 'burst 1, locally');
    assert.equal(connection.up, true, 'an error Redis answered says nothing of the connection');
    const refusals = log.filter((l) => l.includes('Redis refused'));
    assert.equal(refusals.length, 1, log.join('\n'));
    assert.match(refusals[0] ?? '', /: Redis refused a rate-limit decision: WRONGTYPE/);
  });

  it('fails open while Redis is stopped: limits locally at once, logs each change once', async () => {
    const { connection, store, log } = await connect({ timeoutMs: 200 });
    const limiter = sharedStore(connection, store, 'web/open');
    const policy = gcraPolicy(1, 2);
    assert.equal((await limiter.take('k', realUs(), policy)).allowed, true);
    redis.pause();
    try {
      // Near the limit: this one asks Redis, gets no answer in 200 ms, and is decided locally.
      const waited = await limiter.take('k', realUs(), policy);
      assert.equal(waited.allowed, true, 'the local store starts the key afresh');
      assert.equal(connection.up, false);
      const now = limiter.take('k', realUs(), policy);
      assert.equal(isPending(now), false, 'down: no waiting for Redis');
      assert.equal((await now).allowed, true);
      assert.equal((await limiter.take('k', realUs(), policy)).allowed, false, 'burst 2, locally');
    } finally {
      redis.resume();
    }
    await until(() => connection.up, 4000, 'a PING answered after SIGCONT');
    assert.deepEqual(log, [
      `store redis://127.0.0.1:${redis.port}/0: connected; limits shared`,
      `store redis://127.0.0.1:${redis.port}/0: unreachable (no answer within 200 ms); limiting locally (failureMode open)`,
      `store redis://127.0.0.1:${redis.port}/0: reachable again; limits shared`,
    ]);
    const again = limiter.take('k', realUs(), policy);
    assert.equal(isPending(again), true, 'the view from before is dropped: Redis decides again');
    await again;
  });

  it('fails closed while Redis is gone: 503 GW_ERR_STORE_UNAVAILABLE, and reconnects on its own', async () => {
    const { connection, store, log } = await connect({ failureMode: 'closed' });
    const limiter = sharedStore(connection, store, 'web/closed');
    const policy = gcraPolicy(1, 1);
    assert.equal((await limiter.take('k', realUs(), policy)).allowed, true);
    await redis.kill();
    try {
      await until(() => !connection.up, 4000, 'the connection to notice');
      await assert.rejects(
        Promise.resolve(limiter.take('other', realUs(), policy)),
        (err: GwError) => {
          assert.equal(err.code, 'GW_ERR_STORE_UNAVAILABLE');
          assert.equal(err.httpStatus, 503);
          assert.equal(err.grpcStatus, 14);
          return true;
        },
      );
    } finally {
      await redis.restart();
    }
    await until(() => connection.up, 5000, 'ioredis to reconnect');
    const name = `redis://127.0.0.1:${redis.port}/0`;
    assert.deepEqual(
      log,
      [
        `${name}: connected; limits shared`,
        `${name}: unreachable (connection closed); refusing rate-limited requests with 503 (failureMode closed)`,
        `${name}: reachable again; limits shared`,
      ].map((line) => `store ${line}`),
    );
    // Redis restarted empty (no persistence): the key starts afresh.
    assert.equal((await limiter.take('k', realUs(), policy)).allowed, true);
  });
});
