/**
 * `auth.failureLimit`: failed authentications per client address, refused
 * with 429 before any credential is checked once a client has none left.
 */
import assert from 'node:assert/strict';
import type { Kept } from '../../../../src/proxy/middleware/state-shelf.js';
import { after, describe, it } from 'node:test';
import { ManualClock } from '../../../../src/shared/clock.js';
import { isGwError } from '../../../../src/shared/errors.js';
import { Sweeper } from '../../../../src/shared/sweeper.js';
import type { ProxyConfig } from '../../../../src/proxy/config/types.js';
import { basicStats } from '../../../../src/proxy/middleware/auth/basic.js';
import { sha256Hex, type ConsumerConfig } from '../../../../src/proxy/middleware/auth/consumers.js';
import { FailureLimiter } from '../../../../src/proxy/middleware/auth/failure-limit.js';
import { auth } from '../../../../src/proxy/middleware/auth/index.js';
import { authSchema } from '../../../../src/proxy/middleware/auth/schema.js';
import { gcraPolicy } from '../../../../src/proxy/middleware/rate-limit/gcra.js';
import { MemoryRateLimitStore } from '../../../../src/proxy/middleware/rate-limit/store.js';
import { L7Exchange, type Handler } from '../../../../src/proxy/pipeline/types.js';

/** bcrypt (cost 4) of `secret-pw`. */
const HASH = '$2b$04$tKElURa5Cgu6B/UopNURtOBp5QPJ/SqeiyRmtHqwEt/Jx8saeL1gq';
const S = 1_000_000;

class FakeExchange extends L7Exchange {
  private readonly fields: Record<string, string>;

  constructor(fields: Record<string, string>, clientIp = '127.0.0.1') {
    super({
      kind: 'http',
      listener: 'web',
      clientIp,
      method: 'GET',
      host: 'gw.test',
      url: '/',
      path: '/',
      route: 'r',
      upstream: 'u',
    });
    this.fields = fields;
  }
  header(name: string): string | undefined {
    return this.fields[name];
  }
}

const consumers: ConsumerConfig[] = [
  {
    name: 'alice',
    apiKeyDigests: [sha256Hex('alice-key')],
    plainApiKeys: 0,
    basic: { username: 'alice', passwordHash: HASH },
  },
  { name: 'bob', apiKeyDigests: [sha256Hex('bob-key')], plainApiKeys: 0 },
];
const config = {
  source: '<test>',
  listeners: [],
  upstreams: new Map(),
  consumers,
  shutdownTimeoutMs: 5000,
} as ProxyConfig;

const basicAuth = (user: string, pw: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`,
});

/** The GwError code `handler(ex)` ends with, or `ok`. */
async function outcome(handler: Handler, ex: FakeExchange): Promise<string> {
  try {
    await handler(ex);
    return 'ok';
  } catch (err) {
    assert.ok(isGwError(err), String(err));
    return err.code;
  }
}

const closes: (() => void)[] = [];
after(() => {
  for (const close of closes) close();
});

/** A route's auth built with its own clock, sweeper and log; `passed` counts what got through. */
function route(settings: unknown) {
  const clock = new ManualClock();
  const log: string[] = [];
  const built = auth.build(authSchema.parse(settings), {
    clock,
    sweeper: new Sweeper(clock),
    config,
    log: (line) => log.push(line),
    upstream: () => undefined,
    where: 'route r',
    keep: <T>(_id: string, make: () => Kept<T>) => {
      const kept = make();
      if (kept.close !== undefined) closes.push(kept.close);
      return kept.value;
    },
  });
  if (built.close !== undefined) closes.push(built.close);
  const counter = { passed: 0 };
  const handler = built.route?.(() => {
    counter.passed++;
    return Promise.resolve();
  });
  assert.ok(handler);
  return { handler, clock, log, counter };
}

describe('MemoryRateLimitStore: peek and charge', () => {
  it('peek stores nothing; charge counts every event, past the burst too', () => {
    const store = new MemoryRateLimitStore();
    const policy = gcraPolicy(1, 2); // one a second, two at once
    assert.equal(store.peek('a', 0, policy).allowed, true);
    assert.equal(store.size, 0);
    assert.equal(store.charge('a', 0, policy).allowed, true, 'one left after the first');
    const second = store.charge('a', 0, policy);
    assert.equal(second.allowed, false, 'none left after the second');
    assert.equal(second.retryAfterUs, 1 * S);
    assert.equal(store.charge('a', 0, policy).retryAfterUs, 2 * S, 'a third is owed too');
    assert.equal(store.peek('a', 2 * S - 1, policy).allowed, false);
    assert.equal(store.peek('a', 2 * S, policy).allowed, true);
    assert.equal(store.peek('b', 0, policy).allowed, true, 'keys apart');
  });
});

describe('auth failureLimit', () => {
  it('after burst failures refuses the client with 429 before bcrypt, the right password too; others and later tries pass', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { handler, clock, log, counter } = route({
      type: 'basic',
      failureLimit: { rps: 1, burst: 3 },
    });
    const before = basicStats.bcryptCompares;
    for (let i = 0; i < 3; i++)
      assert.equal(
        await outcome(handler, new FakeExchange(basicAuth('alice', `wrong-${i}`))),
        'GW_ERR_UNAUTHENTICATED',
      );
    assert.equal(basicStats.bcryptCompares - before, 3);
    assert.deepEqual(log, [
      'route r: 3 failed logins from 127.0.0.1; refused for 1 s (failureLimit 1/s, burst 3)',
    ]);

    const right = new FakeExchange(basicAuth('alice', 'secret-pw'));
    assert.equal(await outcome(handler, right), 'GW_ERR_RATE_LIMITED');
    assert.equal(basicStats.bcryptCompares - before, 3, 'no bcrypt for a client out of failures');
    assert.deepEqual(right.replyFields, ['retry-after', '1']);
    assert.equal(counter.passed, 0);

    const other = new FakeExchange(basicAuth('alice', 'secret-pw'), '10.0.0.2');
    assert.equal(await outcome(handler, other), 'ok', 'another address has its own allowance');

    clock.advance(1000);
    assert.equal(await outcome(handler, right), 'ok', 'after Retry-After');
    assert.equal(counter.passed, 2);

    t.mock.timers.tick(1000);
    assert.deepEqual(log.slice(1), [
      'route r: 1 request refused after failed logins (the last from 127.0.0.1) in the last 1 s (failureLimit 1/s, burst 3)',
    ]);
    t.mock.timers.tick(1000);
    assert.equal(log.length, 2, 'quiet once nothing happens');
  });

  it('counts failures that were already being checked when the allowance ran out', async () => {
    const { handler } = route({ type: 'basic', failureLimit: { rps: 1, burst: 2 } });
    const guesses = [1, 2, 3, 4, 5].map((i) => new FakeExchange(basicAuth('alice', `g${i}`)));
    const codes = await Promise.all(guesses.map((ex) => outcome(handler, ex)));
    assert.deepEqual(new Set(codes), new Set(['GW_ERR_UNAUTHENTICATED']), 'all five were checked');
    const next = new FakeExchange(basicAuth('alice', 'secret-pw'));
    assert.equal(await outcome(handler, next), 'GW_ERR_RATE_LIMITED');
    assert.deepEqual(next.replyFields, ['retry-after', '4'], 'five failures, two allowed at once');
  });

  it('counts neither successes nor 403s (a consumer the route does not allow)', async () => {
    const { handler, counter } = route({
      type: 'api-key',
      allow: ['alice'],
      failureLimit: { rps: 1, burst: 1 },
    });
    for (let i = 0; i < 5; i++) {
      assert.equal(
        await outcome(handler, new FakeExchange({ 'x-api-key': 'bob-key' })),
        'GW_ERR_FORBIDDEN',
      );
      assert.equal(await outcome(handler, new FakeExchange({ 'x-api-key': 'alice-key' })), 'ok');
    }
    assert.equal(counter.passed, 5);
    const none = new FakeExchange({});
    assert.equal(await outcome(handler, none), 'GW_ERR_UNAUTHENTICATED', 'no key is a failure');
    assert.equal(
      await outcome(handler, new FakeExchange({ 'x-api-key': 'alice-key' })),
      'GW_ERR_RATE_LIMITED',
    );
  });

  it('refuses a valid JWT from a client out of failures, unverified', async () => {
    const { handler } = route({
      type: 'jwt',
      secret: 's'.repeat(40),
      algorithms: ['HS256'],
      failureLimit: { burst: 2 },
    });
    for (const token of ['a.b.c', 'd.e.f'])
      assert.equal(
        await outcome(handler, new FakeExchange({ authorization: `Bearer ${token}` })),
        'GW_ERR_UNAUTHENTICATED',
      );
    const ex = new FakeExchange({ authorization: 'Bearer g.h.i' });
    ex.trace = [];
    assert.equal(await outcome(handler, ex), 'GW_ERR_RATE_LIMITED');
    assert.deepEqual(ex.trace, [
      'auth: refused before checking, too many failed logins from this client (failureLimit 1/s, burst 2)',
    ]);
  });

  it('with failureLimit: false, never refuses for failures', async () => {
    const { handler } = route({ type: 'api-key', failureLimit: false });
    for (let i = 0; i < 50; i++)
      assert.equal(
        await outcome(handler, new FakeExchange({ 'x-api-key': 'wrong' })),
        'GW_ERR_UNAUTHENTICATED',
      );
  });

  it('defaults to 10 failures at once, then 1 a second', async () => {
    const { handler, clock } = route({ type: 'api-key' });
    const wrong = () => outcome(handler, new FakeExchange({ 'x-api-key': 'wrong' }));
    for (let i = 0; i < 10; i++) assert.equal(await wrong(), 'GW_ERR_UNAUTHENTICATED', `#${i}`);
    assert.equal(await wrong(), 'GW_ERR_RATE_LIMITED');
    clock.advance(1000);
    assert.equal(await wrong(), 'GW_ERR_UNAUTHENTICATED');
    assert.equal(await wrong(), 'GW_ERR_RATE_LIMITED');
    assert.deepEqual(auth.toJson(authSchema.parse({ type: 'basic' })), {
      type: 'basic',
      failureLimit: { rps: 1, burst: 10 },
    });
  });

  it('keeps its addresses swept in a store kept by id (a reload takes it over), closed by its keeper', () => {
    const clock = new ManualClock();
    const sweeper = new Sweeper(clock);
    const ids: string[] = [];
    let closeStore: (() => void) | undefined;
    const limiter = new FailureLimiter({ rps: 1, burst: 2 }, 'route r', {
      clock,
      sweeper,
      log: () => undefined,
      keep: <T>(id: string, make: () => Kept<T>) => {
        ids.push(id);
        const kept = make();
        closeStore = kept.close;
        return kept.value;
      },
    });
    assert.deepEqual(ids, ['route r failures 1/2']);
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) limiter.failed(new FakeExchange({}, ip));
    assert.equal(limiter.size, 3);
    assert.equal(sweeper.size, 1);
    clock.advance(5000);
    sweeper.tick();
    assert.equal(limiter.size, 0, 'idle addresses are back to a full allowance: dropped');
    limiter.close();
    assert.equal(sweeper.size, 1, 'the store is closed by its keeper, not by the limiter');
    closeStore?.();
    assert.equal(sweeper.size, 0);
  });
});

describe('auth failureLimit: config', () => {
  it('takes { rps, burst } (each defaulting), false, and refuses anything else', () => {
    const parse = (failureLimit: unknown) =>
      authSchema.parse({ type: 'basic', failureLimit }) as { failureLimit?: unknown };
    assert.deepEqual(parse({ rps: 0.5 }).failureLimit, { rps: 0.5, burst: 10 });
    assert.deepEqual(parse({ burst: 3 }).failureLimit, { rps: 1, burst: 3 });
    assert.equal(parse(false).failureLimit, false);
    for (const bad of [true, { rps: 0 }, { burst: 0 }, { burst: 1.5 }, { rate: 1 }])
      assert.throws(() => parse(bad), JSON.stringify(bad));
    assert.equal(
      auth.describe(authSchema.parse({ type: 'basic', failureLimit: false })),
      'auth basic no failureLimit',
    );
  });
});
