import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { newExchange, nextExchangeId, type Exchange } from '../../../src/proxy/pipeline/types.js';
import { tryTargets, type Attempt } from '../../../src/proxy/upstream/try-targets.js';
import {
  UpstreamRuntime,
  type TargetRuntime,
} from '../../../src/proxy/upstream/upstream-runtime.js';
import { GwError, upstreamConnect } from '../../../src/shared/errors.js';

// tryTargets is the one place an exchange meets its targets: which target, how many attempts,
// when a failure may go elsewhere, and what the exchange records. No sockets here: `send` is
// the test's own.

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
  const app = config.upstreams.get('app');
  assert.ok(app);
  return new UpstreamRuntime(app);
}

function exchange(clientIp = '10.0.0.1'): Exchange {
  return newExchange({
    id: nextExchangeId(),
    kind: 'http',
    listener: 'web',
    clientIp,
    method: 'GET',
    host: '',
    url: '/',
    route: 'r',
    upstream: 'app',
  });
}

/** An attempt whose `send` fails for the targets in `failing`, recording who was tried. */
function attempt(
  failing: ReadonlySet<string>,
  options: { retry?: boolean; gone?: boolean } = {},
): Attempt & { tried: string[]; activeDuring: number[] } {
  const tried: string[] = [];
  const activeDuring: number[] = [];
  return {
    tried,
    activeDuring,
    send: (target: TargetRuntime) => {
      tried.push(target.id);
      activeDuring.push(target.active);
      return failing.has(target.id) ? Promise.reject(new Error('refused')) : Promise.resolve();
    },
    mapError: (_err, target) => upstreamConnect(target.id, 'refused'),
    mayRetry: () => options.retry ?? true,
    clientGone: () => options.gone ?? false,
  };
}

const source = { clientIp: '10.0.0.1', path: '/', headers: {} };

describe('tryTargets', () => {
  it('sends once when the first target answers, and records it on the exchange', async () => {
    const up = upstream(['127.0.0.1:9001', '127.0.0.1:9002']);
    const ex = exchange();
    const a = attempt(new Set());
    await tryTargets(up, ex, source, a);
    assert.equal(a.tried.length, 1);
    assert.equal(ex.attempts, 1);
    assert.equal(ex.target, a.tried[0]);
    assert.deepEqual(a.activeDuring, [1], 'the target counts busy while send runs');
    assert.ok(
      up.targets.every((t) => t.active === 0),
      'and idle after',
    );
  });

  it('retries a retryable failure once, on a different target', async () => {
    const up = upstream(['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003']);
    const first = up.targets[0]?.id ?? '';
    const ex = exchange();
    const a = attempt(new Set([first, ...up.targets.map((t) => t.id)]));
    await assert.rejects(tryTargets(up, ex, source, a), (err: unknown) => {
      assert.ok(err instanceof GwError);
      assert.equal(err.code, 'GW_ERR_UPSTREAM_CONNECT');
      return true;
    });
    assert.equal(a.tried.length, 2, 'at most two attempts');
    assert.notEqual(a.tried[0], a.tried[1], 'never the same target twice');
    assert.equal(ex.attempts, 2);
  });

  it('does not retry when the failure is not retryable or the client is gone', async () => {
    for (const options of [{ retry: false }, { gone: true }]) {
      const up = upstream(['127.0.0.1:9001', '127.0.0.1:9002']);
      const a = attempt(new Set(up.targets.map((t) => t.id)), options);
      await assert.rejects(tryTargets(up, exchange(), source, a));
      assert.equal(a.tried.length, 1, JSON.stringify(options));
    }
  });

  it('answers with the failure itself when no other target is left', async () => {
    const up = upstream(['127.0.0.1:9001']);
    const a = attempt(new Set(['127.0.0.1:9001']));
    await assert.rejects(tryTargets(up, exchange(), source, a), (err: unknown) => {
      assert.ok(err instanceof GwError);
      assert.equal(err.code, 'GW_ERR_UPSTREAM_CONNECT', 'not GW_ERR_NO_TARGET');
      return true;
    });
    assert.equal(a.tried.length, 1);
  });

  it('hashes on the configured key: one client keeps its target', async () => {
    const up = upstream(['127.0.0.1:9001', '127.0.0.1:9002', '127.0.0.1:9003'], {
      balance: 'hash',
      hashKey: 'client-ip',
    });
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const ex = exchange('10.9.8.7');
      await tryTargets(up, ex, { ...source, clientIp: '10.9.8.7' }, attempt(new Set()));
      seen.add(ex.target);
    }
    assert.equal(seen.size, 1);
  });
});
