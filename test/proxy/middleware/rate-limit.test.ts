import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import type { ProxyConfig } from '../../../src/proxy/config/types.js';
import type { FeatureDeps } from '../../../src/proxy/middleware/feature.js';
import { policyField, sfString } from '../../../src/proxy/middleware/rate-limit/fields.js';
import { gcra, gcraPolicy } from '../../../src/proxy/middleware/rate-limit/gcra.js';
import { connectionsPerSecond, rateLimit } from '../../../src/proxy/middleware/rate-limit/index.js';
import { MemoryRateLimitStore } from '../../../src/proxy/middleware/rate-limit/store.js';
import {
  L7Exchange,
  type Exchange,
  type ExchangeStart,
  type Handler,
  type L4Exchange,
} from '../../../src/proxy/pipeline/types.js';
import { ManualClock } from '../../../src/shared/clock.js';
import { GwError } from '../../../src/shared/errors.js';
import { Sweeper } from '../../../src/shared/sweeper.js';
import { issuesOf, kindsAndPaths, minimalRaw } from '../config/helpers.js';

// GCRA, the store and the two features, without sockets: every time is a ManualClock's.

const MS = 1000; // µs per ms

describe('gcra: exact admissions', () => {
  it('admits a burst at once from idle, then refuses the next with Retry-After = one interval', () => {
    const policy = gcraPolicy(10, 5); // T = 100 ms, τ = 500 ms
    assert.deepEqual(policy, { intervalUs: 100_000, burst: 5, toleranceUs: 500_000 });
    let tat: number | undefined;
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = gcra(tat, 0, policy);
      assert.equal(r.allowed, true, `request ${i + 1} of the burst`);
      remaining.push(r.remaining);
      tat = r.tatUs;
    }
    assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
    const refused = gcra(tat, 0, policy);
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterUs, 100_000, 'the next slot is one interval away');
    assert.equal(refused.tatUs, tat, 'a refusal does not move the TAT');
    // 1 µs early: still refused, by exactly 1 µs; on time: admitted.
    assert.equal(gcra(tat, 99_999, policy).retryAfterUs, 1);
    assert.equal(gcra(tat, 100_000, policy).allowed, true);
  });

  it('admits exactly rps × t + burst over t seconds of a client sending far more', () => {
    for (const [rps, burst] of [
      [50, 10],
      [4, 1],
      [1000, 1],
      [0.5, 2],
    ] as const) {
      const policy = gcraPolicy(rps, burst);
      let tat: number | undefined;
      let admitted = 0;
      // A request every millisecond for 10 s (t = 0 .. 10 000 ms inclusive).
      for (let ms = 0; ms <= 10_000; ms++) {
        const r = gcra(tat, ms * MS, policy);
        if (r.allowed) {
          admitted++;
          tat = r.tatUs;
        }
      }
      assert.equal(admitted, Math.floor(rps * 10) + burst, `rps ${rps} burst ${burst}`);
    }
  });

  it('a client at exactly the rate is never refused; the burst comes back after idling', () => {
    const policy = gcraPolicy(100, 1); // T = 10 ms
    let tat: number | undefined;
    for (let i = 0; i < 1000; i++) {
      const r = gcra(tat, i * 10 * MS, policy);
      assert.equal(r.allowed, true, `request ${i}`);
      tat = r.tatUs;
    }
    const strict = gcraPolicy(100, 3);
    let t2: number | undefined;
    for (let i = 0; i < 3; i++) t2 = gcra(t2, 0, strict).tatUs;
    assert.equal(gcra(t2, 0, strict).allowed, false);
    const after = gcra(t2, 30 * MS, strict);
    assert.equal(after.allowed, true);
    assert.equal(after.remaining, 2, 'idle for the whole burst: it is all back');
  });

  it('Retry-After grows with how far ahead the key is, and reset says when it is full again', () => {
    const policy = gcraPolicy(2, 4); // T = 500 ms, τ = 2 s
    let tat: number | undefined;
    for (let i = 0; i < 4; i++) tat = gcra(tat, 0, policy).tatUs;
    const refused = gcra(tat, 0, policy);
    assert.equal(refused.retryAfterUs, 500_000);
    assert.equal(refused.resetUs, 2_000_000);
    const later = gcra(tat, 400 * MS, policy);
    assert.equal(later.retryAfterUs, 100_000);
    const admitted = gcra(tat, 500 * MS, policy);
    assert.equal(admitted.allowed, true);
    assert.equal(admitted.resetUs, 2_000_000, 'TAT 2.5 s, now 0.5 s');
  });

  it('rounds the interval to whole microseconds, at least 1', () => {
    assert.equal(gcraPolicy(3, 1).intervalUs, 333_333);
    assert.equal(gcraPolicy(1e9, 1).intervalUs, 1);
    assert.equal(gcraPolicy(0.001, 1).intervalUs, 1e9);
  });
});

describe('MemoryRateLimitStore', () => {
  it('keeps keys apart', () => {
    const store = new MemoryRateLimitStore();
    const policy = gcraPolicy(1, 1);
    assert.equal(store.take('a', 0, policy).allowed, true);
    assert.equal(store.take('a', 0, policy).allowed, false);
    assert.equal(store.take('b', 0, policy).allowed, true);
    assert.equal(store.size, 2);
  });

  it('holds at most maxKeys, evicting the key updated longest ago', () => {
    const store = new MemoryRateLimitStore(3);
    const policy = gcraPolicy(1, 1);
    store.take('a', 0, policy);
    store.take('b', 0, policy);
    store.take('c', 0, policy);
    // a is admitted again later: now b is the stalest.
    store.take('a', 1_000_000, policy);
    store.take('d', 1_000_000, policy);
    assert.equal(store.size, 3);
    assert.equal(store.evicted, 1);
    assert.equal(store.take('a', 1_000_000, policy).allowed, false, 'a kept its state');
    assert.equal(store.take('c', 0, policy).allowed, false, 'c kept its state');
    assert.equal(store.take('b', 1_000_000, policy).allowed, true, 'b was evicted');
    for (let i = 0; i < 10_000; i++) store.take(`k${i}`, 2_000_000, policy);
    assert.equal(store.size, 3, 'bounded under a flood of new keys');
  });

  it('a refused request stores nothing new', () => {
    const store = new MemoryRateLimitStore(2);
    const policy = gcraPolicy(1, 1);
    store.take('a', 0, policy);
    store.take('a', 0, policy);
    assert.equal(store.size, 1);
  });

  it('sweep drops the keys idle long enough to be back to a full burst, and only those', () => {
    const store = new MemoryRateLimitStore();
    const policy = gcraPolicy(10, 2); // T = 100 ms
    store.take('once', 0, policy); // TAT 100 ms
    store.take('twice', 0, policy);
    store.take('twice', 0, policy); // TAT 200 ms
    assert.equal(store.sweep(99 * MS), 0);
    assert.equal(store.sweep(100 * MS), 1);
    assert.equal(store.size, 1);
    assert.equal(store.sweep(200 * MS), 1);
    assert.equal(store.size, 0);
  });
});

describe('fields: RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers-10)', () => {
  it('states the sustained rate as whole q per w seconds', () => {
    assert.equal(policyField('client-ip', 100), '"client-ip";q=100;w=1');
    assert.equal(policyField('route', 0.5), '"route";q=1;w=2');
    assert.equal(policyField('route', 2.5), '"route";q=150;w=60');
  });

  it('quotes names as sf-strings', () => {
    assert.equal(sfString('a"b\\c'), '"a\\"b\\\\c"');
  });
});

// --- The features through the config schema ---------------------------------

function routeConfig(rateLimitSetting: unknown): ProxyConfig {
  const raw = minimalRaw();
  raw.listeners[0] = {
    ...raw.listeners[0],
    routes: [{ upstream: 'app', rateLimit: rateLimitSetting }],
  };
  return parseConfig(raw, 'gw.yaml');
}

describe('rateLimit: config', () => {
  it('fills the defaults: burst one second of rps (rounded up), key client-ip, no headers', () => {
    const config = routeConfig({ rps: 2.5 });
    const listener = config.listeners[0];
    assert.ok(listener !== undefined && listener.protocol !== 'tcp');
    assert.deepEqual(listener.routes[0]?.features.get('rateLimit'), {
      rps: 2.5,
      burst: 3,
      key: { kind: 'client-ip' },
      headers: false,
      store: 'memory',
    });
  });

  it('takes every key form; header names in lower case', () => {
    const keys = ['client-ip', 'consumer', 'route', 'header:X-Api-Key'].map((key) => {
      const listener = routeConfig({ rps: 1, key }).listeners[0];
      assert.ok(listener !== undefined && listener.protocol !== 'tcp');
      return rateLimit.toJson(listener.routes[0]?.features.get('rateLimit'));
    });
    assert.deepEqual(
      keys.map((k) => (k as { key: string }).key),
      ['client-ip', 'consumer', 'route', 'header:x-api-key'],
    );
  });

  it('refuses bad values, each with its path', () => {
    const bad: [unknown, string][] = [
      [{}, 'missing listeners[0].routes[0].rateLimit.rps'],
      [{ rps: 0 }, 'invalid listeners[0].routes[0].rateLimit.rps'],
      [{ rps: -1 }, 'invalid listeners[0].routes[0].rateLimit.rps'],
      [{ rps: 2e9 }, 'invalid listeners[0].routes[0].rateLimit.rps'],
      [{ rps: 1, burst: 0 }, 'invalid listeners[0].routes[0].rateLimit.burst'],
      [{ rps: 1, burst: 1.5 }, 'invalid listeners[0].routes[0].rateLimit.burst'],
      [{ rps: 0.001, burst: 1e6 }, 'invalid listeners[0].routes[0].rateLimit.burst'],
      [{ rps: 1, key: 'ip' }, 'invalid listeners[0].routes[0].rateLimit.key'],
      [{ rps: 1, key: 'header:' }, 'invalid listeners[0].routes[0].rateLimit.key'],
      [{ rps: 1, key: 'header:a b' }, 'invalid listeners[0].routes[0].rateLimit.key'],
      [{ rps: 1, headers: 'yes' }, 'invalid listeners[0].routes[0].rateLimit.headers'],
      [{ rps: 1, window: 1 }, 'unknown-setting listeners[0].routes[0].rateLimit.window'],
      [100, 'invalid listeners[0].routes[0].rateLimit'],
    ];
    for (const [value, expected] of bad) {
      assert.deepEqual(
        kindsAndPaths(issuesOf(() => routeConfig(value))),
        [expected],
        JSON.stringify(value),
      );
    }
  });

  it('refuses connectionsPerSecond on an http listener and on a route, takes it on tcp', () => {
    const raw = minimalRaw();
    raw.listeners[0] = { ...raw.listeners[0], connectionsPerSecond: 10 };
    assert.deepEqual(
      kindsAndPaths(issuesOf(() => parseConfig(raw, 'gw.yaml'))).map((s) => s.split(' ')[0]),
      ['misplaced'],
    );
    const onRoute = minimalRaw();
    onRoute.listeners[0] = {
      ...onRoute.listeners[0],
      routes: [{ upstream: 'app', connectionsPerSecond: 10 }],
    };
    assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfig(onRoute, 'gw.yaml'))), [
      'unknown-setting listeners[0].routes[0].connectionsPerSecond',
    ]);
    for (const [value, expected] of [
      [10, { rate: 10, burst: 10 }],
      [{ rate: 0.5 }, { rate: 0.5, burst: 1 }],
      [
        { rate: 100, burst: 300 },
        { rate: 100, burst: 300 },
      ],
    ] as const) {
      const config = parseConfig(
        {
          listeners: [
            {
              name: 'raw',
              protocol: 'tcp',
              listen: '127.0.0.1:9000',
              upstream: 'app',
              connectionsPerSecond: value,
            },
          ],
          upstreams: [{ name: 'app', targets: ['127.0.0.1:9001'] }],
        },
        'gw.yaml',
      );
      const listener = config.listeners[0];
      assert.ok(listener?.protocol === 'tcp');
      assert.deepEqual(listener.features.get('connectionsPerSecond'), expected);
    }
  });
});

// --- The middleware, called directly -------------------------------------------

class TestExchange extends L7Exchange {
  private readonly headers: Record<string, string>;

  constructor(start: Partial<ExchangeStart>, headers: Record<string, string> = {}) {
    super({
      kind: 'http',
      listener: 'web',
      clientIp: '10.0.0.1',
      method: 'GET',
      host: '',
      url: '/',
      path: '/',
      route: 'r',
      upstream: 'app',
      ...start,
    });
    this.headers = headers;
  }

  header(name: string): string | undefined {
    return this.headers[name];
  }
}

function fields(ex: Exchange): Record<string, string> {
  const out: Record<string, string> = {};
  const list = ex.replyFields ?? [];
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i] ?? ''] = list[i + 1] ?? '';
  return out;
}

function depsWith(clock: ManualClock, log: string[] = []): FeatureDeps {
  return {
    clock,
    sweeper: new Sweeper(clock),
    config: parseConfig(minimalRaw(), 'gw.yaml'),
    log: (line) => log.push(line),
    upstream: () => undefined,
    where: 'listener raw',
    keep: (_id, make) => make().value,
  };
}

async function outcome(handler: Handler, ex: Exchange): Promise<string> {
  try {
    await handler(ex);
    return 'passed';
  } catch (err) {
    assert.ok(err instanceof GwError);
    assert.equal(err.httpStatus, 429);
    assert.equal(err.grpcStatus, 8);
    return err.code;
  }
}

describe('rateLimit: middleware', () => {
  const settings = (s: Record<string, unknown>): unknown => rateLimit.schema.parse(s);

  it('refuses over the limit with 429 fields, never calling next; admits again on time', async () => {
    const clock = new ManualClock(1000);
    let calls = 0;
    const wrap = rateLimit.build(settings({ rps: 10, burst: 2 }), depsWith(clock)).route;
    assert.ok(wrap);
    const handler = wrap(() => {
      calls++;
      return Promise.resolve();
    });
    const first = new TestExchange({});
    assert.equal(await outcome(handler, first), 'passed');
    assert.equal(first.replyFields, undefined, 'no fields on admitted answers without headers');
    assert.equal(await outcome(handler, new TestExchange({})), 'passed');
    const third = new TestExchange({});
    assert.equal(await outcome(handler, third), 'GW_ERR_RATE_LIMITED');
    assert.equal(calls, 2);
    assert.deepEqual(fields(third), {
      'retry-after': '1',
      'ratelimit-policy': '"client-ip";q=10;w=1',
      ratelimit: '"client-ip";r=0;t=1',
    });
    assert.equal(await outcome(handler, new TestExchange({ clientIp: '10.0.0.2' })), 'passed');
    clock.advance(100);
    assert.equal(await outcome(handler, new TestExchange({})), 'passed');
    assert.equal(calls, 4);
  });

  it('Retry-After is whole seconds, rounded up', async () => {
    const clock = new ManualClock();
    const wrap = rateLimit.build(settings({ rps: 0.25, burst: 1 }), depsWith(clock)).route;
    assert.ok(wrap);
    const handler = wrap(() => Promise.resolve());
    await handler(new TestExchange({}));
    clock.advance(1500);
    const refused = new TestExchange({});
    assert.equal(await outcome(handler, refused), 'GW_ERR_RATE_LIMITED');
    assert.equal(fields(refused)['retry-after'], '3', '2.5 s rounds up to 3');
  });

  it('with headers: true, admitted answers carry RateLimit-Policy and RateLimit', async () => {
    const clock = new ManualClock();
    const wrap = rateLimit.build(
      settings({ rps: 5, burst: 3, key: 'route', headers: true }),
      depsWith(clock),
    ).route;
    assert.ok(wrap);
    const handler = wrap(() => Promise.resolve());
    const seen: Record<string, string>[] = [];
    for (let i = 0; i < 3; i++) {
      const ex = new TestExchange({ clientIp: `10.0.0.${i}` });
      await handler(ex);
      seen.push(fields(ex));
    }
    assert.deepEqual(
      seen.map((f) => f.ratelimit),
      ['"route";r=2;t=1', '"route";r=1;t=1', '"route";r=0;t=1'],
    );
    assert.equal(seen[0]?.['ratelimit-policy'], '"route";q=5;w=1');
    assert.ok(
      seen.every((f) => !('retry-after' in f)),
      'no Retry-After when admitted',
    );
  });

  it('keys by header (absent: one shared key) and by consumer (none: one shared key)', async () => {
    const clock = new ManualClock();
    const byHeader = rateLimit.build(
      settings({ rps: 1, burst: 1, key: 'header:x-tenant' }),
      depsWith(clock),
    ).route;
    assert.ok(byHeader);
    const h = byHeader(() => Promise.resolve());
    assert.equal(await outcome(h, new TestExchange({}, { 'x-tenant': 'a' })), 'passed');
    assert.equal(await outcome(h, new TestExchange({}, { 'x-tenant': 'b' })), 'passed');
    assert.equal(
      await outcome(h, new TestExchange({}, { 'x-tenant': 'a' })),
      'GW_ERR_RATE_LIMITED',
    );
    assert.equal(await outcome(h, new TestExchange({ clientIp: '1.1.1.1' })), 'passed');
    assert.equal(
      await outcome(h, new TestExchange({ clientIp: '2.2.2.2' })),
      'GW_ERR_RATE_LIMITED',
      'without the header, clients share the key "-"',
    );
    const byConsumer = rateLimit.build(
      settings({ rps: 1, burst: 1, key: 'consumer' }),
      depsWith(clock),
    ).route;
    assert.ok(byConsumer);
    const c = byConsumer(() => Promise.resolve());
    const alice = (): TestExchange => Object.assign(new TestExchange({}), { consumer: 'alice' });
    assert.equal(await outcome(c, alice()), 'passed');
    assert.equal(await outcome(c, alice()), 'GW_ERR_RATE_LIMITED');
    assert.equal(await outcome(c, new TestExchange({})), 'passed');
    assert.equal(
      await outcome(c, new TestExchange({ clientIp: '9.9.9.9' })),
      'GW_ERR_RATE_LIMITED',
    );
  });

  it('the message names the limit, never the key value (a header may hold a credential)', async () => {
    const clock = new ManualClock();
    const wrap = rateLimit.build(
      settings({ rps: 1, burst: 1, key: 'header:x-api-key' }),
      depsWith(clock),
    ).route;
    assert.ok(wrap);
    const h = wrap(() => Promise.resolve());
    await h(new TestExchange({}, { 'x-api-key': 'secret-123' }));
    await assert.rejects(h(new TestExchange({}, { 'x-api-key': 'secret-123' })), (err: GwError) => {
      assert.doesNotMatch(err.message, /secret/);
      assert.match(err.message, /over 1\/s \(burst 1\) per header:x-api-key/);
      return true;
    });
  });
});

function tcpExchange(): L4Exchange {
  return {
    id: 1,
    kind: 'tcp',
    listener: 'raw',
    clientIp: '10.0.0.1',
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
  };
}

describe('connectionsPerSecond: middleware', () => {
  it('refuses connections over the rate, and logs the count once for the second', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const clock = new ManualClock();
    const log: string[] = [];
    const settings = connectionsPerSecond.schema.parse({ rate: 100, burst: 2 });
    const wrap = connectionsPerSecond.build(settings, depsWith(clock, log)).tcp;
    assert.ok(wrap);
    let passed = 0;
    const handler = wrap(() => {
      passed++;
      return Promise.resolve();
    });
    const results: string[] = [];
    for (let i = 0; i < 39; i++) {
      results.push(
        await handler(tcpExchange()).then(
          () => 'ok',
          (err: unknown) => (err instanceof GwError ? err.code : String(err)),
        ),
      );
    }
    assert.equal(passed, 2);
    assert.equal(results.filter((r) => r === 'GW_ERR_RATE_LIMITED').length, 37);
    assert.deepEqual(log, [], 'nothing logged before the second is over');
    t.mock.timers.tick(1000);
    assert.deepEqual(log, [
      'listener raw: 37 connections refused in the last 1 s (connectionsPerSecond 100)',
    ]);
    clock.advance(10);
    assert.equal(await handler(tcpExchange()).then(() => 'ok'), 'ok', 'one interval later');
    t.mock.timers.tick(1000);
    assert.equal(log.length, 1, 'no line for a second without refusals');
  });
});
