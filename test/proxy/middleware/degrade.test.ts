import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/shared/clock.js';
import { Sweeper } from '../../../src/shared/sweeper.js';
import { isGwError, noTarget } from '../../../src/shared/errors.js';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { LoadMonitor } from '../../../src/proxy/load/load-monitor.js';
import type { ProxyConfig } from '../../../src/proxy/config/types.js';
import { fallback } from '../../../src/proxy/middleware/fallback/index.js';
import { fallbackReason } from '../../../src/proxy/middleware/fallback/reason.js';
import type { Kept } from '../../../src/proxy/middleware/state-shelf.js';
import { asLocalReply, type Exchange, type LocalReply } from '../../../src/proxy/pipeline/types.js';
import { fallbackSchema } from '../../../src/proxy/middleware/fallback/schema.js';
import { sheddingSchema } from '../../../src/proxy/middleware/priority/schema.js';
import { shedReason } from '../../../src/proxy/middleware/priority/shed-reason.js';

describe('fallback schema', () => {
  it('takes a static answer, content-type split from the other fields, grpcStatus 14 by default', () => {
    const f = fallbackSchema.parse({
      status: 503,
      headers: { 'Content-Type': 'application/json', 'x-note': 'cached' },
      body: '{"degraded":true}',
    });
    assert.deepEqual(f, {
      kind: 'static',
      status: 503,
      fields: ['x-note', 'cached'],
      contentType: 'application/json',
      body: '{"degraded":true}',
      grpcStatus: 14,
    });
  });
  it('takes an alternate upstream', () => {
    assert.deepEqual(fallbackSchema.parse({ upstream: 'b' }), { kind: 'upstream', upstream: 'b' });
  });
  it('refuses body with bodyFile, a 1xx status, x-gw-error, unknown keys, both forms at once', () => {
    for (const bad of [
      { status: 200, body: 'a', bodyFile: 'b' },
      { status: 101 },
      { status: 200, headers: { 'x-gw-error': 'X' } },
      { status: 200, grpcStatus: 17 },
      { status: 200, colour: 'red' },
      { status: 200, upstream: 'b' },
      {},
    ]) {
      assert.equal(fallbackSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
  it('covers an open circuit, no target, upstream failures and shedding, nothing else', () => {
    assert.equal(fallbackReason('GW_ERR_CIRCUIT_OPEN'), 'circuit-open');
    assert.equal(fallbackReason('GW_ERR_NO_TARGET'), 'no-target');
    for (const code of [
      'GW_ERR_UPSTREAM_CONNECT',
      'GW_ERR_UPSTREAM_RESET',
      'GW_ERR_UPSTREAM_TIMEOUT',
    ]) {
      assert.equal(fallbackReason(code), 'upstream-failed');
    }
    assert.equal(fallbackReason('GW_ERR_SHED'), 'shed');
    for (const code of ['GW_ERR_RATE_LIMITED', 'GW_ERR_FORBIDDEN', 'GW_ERR_BODY_TOO_LARGE', '']) {
      assert.equal(fallbackReason(code), undefined);
    }
  });
});

describe('static fallback reply', () => {
  const deps = {
    clock: new ManualClock(),
    sweeper: new Sweeper(new ManualClock()),
    config: { source: '<test>' } as ProxyConfig,
    log: () => undefined,
    where: 'listener rpc, route r',
    upstream: () => undefined,
    keep: <T>(_id: string, make: () => Kept<T>) => make().value,
  };
  /** What the route's fallback throws for an exchange whose upstream had no target. */
  async function replyFor(settings: unknown): Promise<LocalReply> {
    const handler = fallback
      .build(fallbackSchema.parse(settings), deps)
      .route?.(() => Promise.reject(noTarget('api')));
    assert.ok(handler);
    const ex = { replyStarted: () => false } as unknown as Exchange;
    const thrown: unknown = await handler(ex).then(
      () => undefined,
      (err: unknown) => err,
    );
    const reply = asLocalReply(thrown);
    assert.ok(reply);
    return reply;
  }
  it('gives a gRPC client the body as grpc-message, a sentence when there is none or it is long', async () => {
    const reply = await replyFor({ status: 503, body: 'come back later', grpcStatus: 8 });
    assert.equal(reply.message, 'come back later');
    assert.equal(reply.grpcStatus, 8);
    assert.equal(reply.code, '');
    for (const body of [undefined, 'x'.repeat(1025)]) {
      const { message } = await replyFor({ status: 503, ...(body === undefined ? {} : { body }) });
      assert.equal(message, 'listener rpc, route r answers with its fallback');
    }
  });
});

describe('shedding decisions', () => {
  const limits = { maxInFlight: 500, hardMaxInFlight: 1000, maxEventLoopDelayMs: 100 };
  it('sheds normal past the soft limits, core only past the hard ones', () => {
    assert.equal(shedReason('normal', 499, 0, limits), undefined);
    assert.equal(shedReason('normal', 500, 0, limits), '501 in flight > maxInFlight 500');
    assert.equal(
      shedReason('normal', 0, 150.4, limits),
      'event-loop delay 150 ms > maxEventLoopDelayMs 100',
    );
    assert.equal(shedReason('core', 811, 150, limits), undefined);
    assert.equal(shedReason('core', 1000, 0, limits), '1001 in flight > hardMaxInFlight 1000');
  });
  it('never sheds core without a hard limit', () => {
    assert.equal(
      shedReason('core', 1e6, 1e4, { maxInFlight: 1, maxEventLoopDelayMs: 1 }),
      undefined,
    );
  });
  it('needs a soft limit, and hard limits above the soft ones', () => {
    assert.equal(sheddingSchema.safeParse({}).success, false);
    assert.equal(sheddingSchema.safeParse({ maxInFlight: 10, hardMaxInFlight: 10 }).success, false);
    assert.equal(
      sheddingSchema.safeParse({ maxEventLoopDelayMs: 50, hardMaxInFlight: 10 }).success,
      false,
    );
    assert.equal(sheddingSchema.safeParse({ maxInFlight: 10, hardMaxInFlight: 11 }).success, true);
  });
});

describe('load monitor log', () => {
  it('logs what was shed at most once a period, with the last reason', () => {
    const clock = new ManualClock();
    const sweeper = new Sweeper(clock);
    const lines: string[] = [];
    const monitor = new LoadMonitor();
    monitor.use(sweeper, (line) => lines.push(line), false);
    for (let i = 0; i < 123; i++)
      monitor.noteShed('normal', `${700 + i} in flight > maxInFlight 500`);
    monitor.noteShed('core', '1001 in flight > hardMaxInFlight 1000');
    sweeper.tick();
    assert.deepEqual(lines, []);
    clock.advance(1000);
    sweeper.tick();
    assert.deepEqual(lines, [
      'shed 123 normal requests in the last 1 s: 822 in flight > maxInFlight 500',
      'shed 1 core request in the last 1 s: 1001 in flight > hardMaxInFlight 1000',
    ]);
    clock.advance(1000);
    sweeper.tick();
    assert.equal(lines.length, 2, 'nothing shed, nothing logged');
    monitor.stop();
    assert.equal(sweeper.size, 0);
  });
});

describe('config', () => {
  const upstreams = [
    { name: 'a', targets: ['127.0.0.1:1'] },
    { name: 'b', targets: ['127.0.0.1:2'] },
  ];
  const load = (route: object, top: object = {}) =>
    parseConfig(
      {
        listeners: [
          {
            name: 'web',
            protocol: 'http',
            listen: '127.0.0.1:0',
            routes: [{ upstream: 'a', ...route }],
          },
        ],
        upstreams,
        ...top,
      },
      'test.yaml',
    );
  it('takes priority, fallback and shedding', () => {
    const config = load(
      { priority: 'core', fallback: { upstream: 'b' } },
      { shedding: { maxInFlight: 100 } },
    );
    const route =
      config.listeners[0]?.protocol === 'http' ? config.listeners[0].routes[0] : undefined;
    assert.ok(route);
    assert.equal(route.features.get('priority'), 'core');
    assert.deepEqual(route.features.get('fallback'), { kind: 'upstream', upstream: 'b' });
    assert.deepEqual(config.shedding, { maxInFlight: 100 });
  });
  it('refuses a fallback upstream that does not exist, and an unknown priority', () => {
    for (const [route, where] of [
      [{ fallback: { upstream: 'nope' } }, 'fallback.upstream'],
      [{ priority: 'high' }, 'priority'],
    ] as const) {
      assert.throws(
        () => load(route),
        (err: unknown) =>
          isGwError(err) && err.code === 'GW_ERR_CONFIG' && err.message.includes(where),
      );
    }
  });
});
