import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { L7Exchange } from '../../../src/proxy/pipeline/types.js';
import { TargetRegistry } from '../../../src/proxy/upstream/target-registry.js';
import {
  MAX_ATTEMPTS,
  outcomeOf,
  tryTargets,
  type Forwarder,
} from '../../../src/proxy/upstream/try-targets.js';
import type {
  AttemptRecord,
  TargetRuntime,
  UpstreamRuntime,
} from '../../../src/proxy/upstream/upstream-runtime.js';
import {
  badRequest,
  GwError,
  toGwError,
  upstreamConnect,
  upstreamReset,
  upstreamTimeout,
} from '../../../src/shared/errors.js';

// tryTargets is the one place an exchange meets its targets: which target, how many attempts,
// when a failure may go elsewhere, what the exchange records, and the one outcome record per
// attempt that passive health, breakers and metrics will read. No sockets: `send` is the test's.

function upstream(targets: string[], extra: Record<string, unknown> = {}): UpstreamRuntime {
  const config = parseConfig(
    {
      listeners: [
        { name: 'web', protocol: 'http', listen: '127.0.0.1:8080', routes: [{ upstream: 'app' }] },
      ],
      upstreams: [{ name: 'app', targets, ...extra }],
    },
    'test.yaml',
  );
  const app = config.upstreams.get('app')?.name;
  assert.ok(app);
  const runtime = new TargetRegistry().reconcile(config.upstreams).upstreams.get(app);
  assert.ok(runtime);
  return runtime;
}

/** An exchange whose headers the test sets. */
class TestExchange extends L7Exchange {
  readonly fields: Record<string, string>;
  constructor(clientIp = '10.0.0.1', fields: Record<string, string> = {}, path = '/') {
    super({
      kind: 'http',
      listener: 'web',
      clientIp,
      method: 'GET',
      host: '',
      url: path,
      path,
      route: 'r',
      upstream: 'app',
    });
    this.fields = fields;
  }
  header(name: string): string | undefined {
    return this.fields[name];
  }
}

interface Script {
  /** What `send` does per target id: throw this error, or answer with this status. */
  readonly outcome: (targetId: string) => Error | number;
  readonly retry?: boolean;
  readonly gone?: boolean;
  readonly maxAttempts?: number;
}

/** A forwarder following `script`, recording who was tried and how busy each was. */
function forwarder(script: Script): Forwarder<TestExchange> & {
  tried: string[];
  activeDuring: number[];
} {
  const tried: string[] = [];
  const activeDuring: number[] = [];
  return {
    tried,
    activeDuring,
    maxAttempts: script.maxAttempts ?? MAX_ATTEMPTS,
    send: (ex, target: TargetRuntime) => {
      tried.push(target.id);
      activeDuring.push(target.active);
      const result = script.outcome(target.id);
      if (result instanceof Error) return Promise.reject(result);
      ex.status = result;
      return Promise.resolve();
    },
    mapError: (_ex, err) => toGwError(err),
    mayRetry: () => script.retry ?? true,
    clientGone: () => script.gone ?? false,
    answeredFailure: (ex) => ex.status >= 500,
  };
}

const ok = { outcome: () => 200 };
const refuseAll = { outcome: (id: string) => upstreamConnect(id, 'refused') };

function observe(up: UpstreamRuntime): AttemptRecord[] {
  const records: AttemptRecord[] = [];
  up.state.observers.push((r) => records.push(r));
  return records;
}

describe('tryTargets', () => {
  it('sends once when the first target answers, and records it on the exchange', async () => {
    const up = upstream(['127.0.0.1:9001', '127.0.0.1:9002']);
    const ex = new TestExchange();
    const f = forwarder(ok);
    await tryTargets(up, ex, f);
    assert.equal(f.tried.length, 1);
    assert.equal(ex.attempts, 1);
    assert.equal(ex.target, f.tried[0]);
    assert.deepEqual(f.activeDuring, [1], 'the target counts busy while send runs');
    assert.ok(
      up.targets.every((t) => t.active === 0),
      'and idle after',
    );
    assert.equal(up.targets.find((t) => t.id === ex.target)?.served, 1);
  });

  it('retries a retryable failure once, on a different target', async () => {
    const up = upstream(['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003']);
    const ex = new TestExchange();
    const f = forwarder(refuseAll);
    await assert.rejects(tryTargets(up, ex, f), (err: unknown) => {
      assert.ok(err instanceof GwError);
      assert.equal(err.code, 'GW_ERR_UPSTREAM_CONNECT');
      return true;
    });
    assert.equal(f.tried.length, 2, 'at most two attempts');
    assert.notEqual(f.tried[0], f.tried[1], 'never the same target twice');
    assert.equal(ex.attempts, 2);
  });

  it('tries every target once when the forwarder allows it (a TCP connect)', async () => {
    const up = upstream(['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003']);
    const f = forwarder({ ...refuseAll, maxAttempts: Number.POSITIVE_INFINITY });
    await assert.rejects(tryTargets(up, new TestExchange(), f));
    assert.deepEqual([...f.tried].sort(), up.targets.map((t) => t.id).sort());
  });

  it('does not retry when the failure is not retryable or the client is gone', async () => {
    for (const options of [{ retry: false }, { gone: true }]) {
      const up = upstream(['127.0.0.1:9001', '127.0.0.1:9002']);
      const f = forwarder({ ...refuseAll, ...options });
      await assert.rejects(tryTargets(up, new TestExchange(), f));
      assert.equal(f.tried.length, 1, JSON.stringify(options));
    }
  });

  it('answers with the failure itself when no other target is left', async () => {
    const up = upstream(['127.0.0.1:9001']);
    const f = forwarder(refuseAll);
    await assert.rejects(tryTargets(up, new TestExchange(), f), (err: unknown) => {
      assert.ok(err instanceof GwError);
      assert.equal(err.code, 'GW_ERR_UPSTREAM_CONNECT', 'not GW_ERR_NO_TARGET');
      return true;
    });
    assert.equal(f.tried.length, 1);
  });

  it('hashes on the configured key: one client keeps its target', async () => {
    const up = upstream(['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003'], {
      balance: 'hash',
      hashKey: 'client-ip',
    });
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const ex = new TestExchange('10.9.8.7');
      await tryTargets(up, ex, forwarder(ok));
      seen.add(ex.target);
    }
    assert.equal(seen.size, 1);
  });

  it('hashes on a header through the exchange, whatever the protocol keeps headers in', async () => {
    const up = upstream(['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003'], {
      balance: 'hash',
      hashKey: 'header:x-user',
    });
    const targetOf = async (user: string): Promise<string> => {
      const ex = new TestExchange(`10.0.0.${user.length}`, { 'x-user': user });
      await tryTargets(up, ex, forwarder(ok));
      return ex.target;
    };
    const users = ['ann', 'bob', 'carla', 'dmitri', 'eve', 'farida', 'gus', 'hu'];
    const first = await Promise.all(users.map(targetOf));
    const again = await Promise.all(users.map(targetOf));
    assert.deepEqual(again, first, 'each user keeps its target, whatever its address');
    assert.ok(new Set(first).size > 1, 'and users spread over targets');
  });

  it('ends every attempt with one outcome record', async () => {
    const up = upstream(['127.0.0.1:9001', '127.0.0.1:9002']);
    const records = observe(up);
    await tryTargets(up, new TestExchange(), forwarder(ok));
    await tryTargets(up, new TestExchange(), forwarder({ outcome: () => 503 }));
    await assert.rejects(tryTargets(up, new TestExchange(), forwarder(refuseAll)));
    await assert.rejects(
      tryTargets(up, new TestExchange(), forwarder({ ...refuseAll, gone: true })),
    );
    assert.deepEqual(
      records.map((r) => r.outcome),
      ['ok', 'status-5xx', 'connect-failed', 'connect-failed', 'aborted'],
    );
    for (const r of records) {
      assert.equal(r.upstream, 'app');
      assert.ok(r.durationMs >= 0);
      assert.equal(r.error === undefined, r.outcome === 'ok' || r.outcome === 'status-5xx');
    }
  });

  it('maps failures to outcomes by their code', () => {
    assert.equal(outcomeOf(upstreamConnect('t', 'x').code), 'connect-failed');
    assert.equal(outcomeOf(upstreamTimeout('t', 'header', 1).code), 'timeout');
    assert.equal(outcomeOf(upstreamReset('t', 'x').code), 'reset');
    assert.equal(
      outcomeOf(badRequest('x').code),
      'aborted',
      "the client's fault is not the target's",
    );
  });

  it('records nothing (and allocates no record) when nobody observes', async () => {
    const up = upstream(['127.0.0.1:9001']);
    assert.equal(up.state.observers.length, 0);
    await tryTargets(up, new TestExchange(), forwarder(ok));
  });

  it('skips a target the upstream no longer has (drained by a reload)', async () => {
    const up = upstream(['127.0.0.1:9001', '127.0.0.1:9002']);
    const gone = up.targets[0];
    assert.ok(gone);
    await up.state.setTargets([
      { id: '127.0.0.1:9002', address: { host: '127.0.0.1', port: 9002 }, weight: 1 },
    ]);
    assert.equal(gone.drained, true);
    for (let i = 0; i < 4; i++) {
      const ex = new TestExchange();
      await tryTargets(up, ex, forwarder(ok));
      assert.equal(ex.target, '127.0.0.1:9002');
    }
  });
});
