import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routingTable, routingTableJson } from '../../../src/proxy/config/routing-table.js';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { issuesOf, kindsAndPaths, minimalRaw } from '../config/helpers.js';

function withBreaker(value: unknown): Record<string, unknown> {
  const raw = minimalRaw();
  raw.upstreams[0] = { name: 'app', targets: ['127.0.0.1:9001'], circuitBreaker: value };
  return raw;
}

describe('circuitBreaker in the config', () => {
  it('is taken on an upstream, and shown by gw proxy --check (text and JSON)', () => {
    const config = parseConfig(
      withBreaker({ failureRate: 0.25, minCalls: 10, windowCalls: 50, openMs: 2000 }),
      'gw.yaml',
    );
    const settings = config.upstreams.get('app')?.circuitBreaker;
    assert.equal(settings?.windowCalls, 50);
    assert.match(
      routingTable(config).join('\n'),
      /\n {2}breaker: open at ≥ 0\.25 connect-failed\|timeout\|reset\|status-5xx of the last 50 calls \(min 10 calls\) → open 2000ms × 2\^n \(max 60000ms\), half-open 3 probes \(timeout 10000ms\)\n/,
    );
    assert.deepEqual(routingTableJson(config).upstreams[0]?.circuitBreaker, {
      failureRate: 0.25,
      minCalls: 10,
      windowCalls: 50,
      on: ['connect-failed', 'timeout', 'reset', 'status-5xx'],
      openMs: 2000,
      maxOpenMs: 60_000,
      halfOpenCalls: 3,
      halfOpenTimeoutMs: 10_000,
      perTarget: false,
    });
    const plain = parseConfig(minimalRaw(), 'gw.yaml');
    assert.equal(routingTableJson(plain).upstreams[0]?.circuitBreaker, undefined);
    assert.doesNotMatch(routingTable(plain).join('\n'), /breaker/);
  });

  it('takes perTarget: true, and gw proxy --check says the breakers are per target', () => {
    const config = parseConfig(withBreaker({ perTarget: true, openMs: 2000 }), 'gw.yaml');
    assert.equal(config.upstreams.get('app')?.circuitBreaker?.perTarget, true);
    assert.match(routingTable(config).join('\n'), /\n {2}breaker per target: open at ≥ 0\.5 /);
    assert.equal(routingTableJson(config).upstreams[0]?.circuitBreaker?.perTarget, true);
  });

  it('reports each bad field at its path', () => {
    assert.deepEqual(
      kindsAndPaths(
        issuesOf(() =>
          parseConfig(
            withBreaker({ failureRate: 2, halfOpenCalls: 0, perTarget: 'yes' }),
            'gw.yaml',
          ),
        ),
      ).sort(),
      [
        'invalid upstreams[0].circuitBreaker.failureRate',
        'invalid upstreams[0].circuitBreaker.halfOpenCalls',
        'invalid upstreams[0].circuitBreaker.perTarget',
      ],
    );
  });
});
