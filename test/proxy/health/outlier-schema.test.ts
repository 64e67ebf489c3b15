import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routingTable, routingTableJson } from '../../../src/proxy/config/routing-table.js';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { issuesOf, kindsAndPaths, minimalRaw } from '../config/helpers.js';

function withOutliers(value: unknown): Record<string, unknown> {
  const raw = minimalRaw();
  raw.upstreams[0] = { name: 'app', targets: ['127.0.0.1:9001'], outlierDetection: value };
  return raw;
}

describe('outlierDetection in the config', () => {
  it('is off unless given; {} takes every default', () => {
    assert.equal(
      parseConfig(minimalRaw(), 'gw.yaml').upstreams.get('app')?.outlierDetection,
      undefined,
    );
    assert.deepEqual(
      parseConfig(withOutliers({}), 'gw.yaml').upstreams.get('app')?.outlierDetection,
      {
        consecutiveFailures: 5,
        on: ['connect-failed', 'timeout', 'reset', 'status-5xx'],
        baseEjectionMs: 30_000,
        maxEjectionMs: 300_000,
        maxEjectedShare: 0.5,
      },
    );
  });

  it('takes its settings, the outcomes once each in a fixed order', () => {
    const settings = parseConfig(
      withOutliers({
        consecutiveFailures: 2,
        on: ['status-5xx', 'reset', 'reset'],
        baseEjectionMs: 1000,
        maxEjectionMs: 5000,
        maxEjectedShare: 0.34,
      }),
      'gw.yaml',
    ).upstreams.get('app')?.outlierDetection;
    assert.deepEqual(settings, {
      consecutiveFailures: 2,
      on: ['reset', 'status-5xx'],
      baseEjectionMs: 1000,
      maxEjectionMs: 5000,
      maxEjectedShare: 0.34,
    });
  });

  it('raises the default cap to a longer base', () => {
    const settings = parseConfig(
      withOutliers({ baseEjectionMs: 600_000 }),
      'gw.yaml',
    ).upstreams.get('app')?.outlierDetection;
    assert.equal(settings?.maxEjectionMs, 600_000);
  });

  it('refuses bad values, each at its path', () => {
    const issues = issuesOf(() =>
      parseConfig(
        withOutliers({
          consecutiveFailures: 0,
          on: ['5xx'],
          maxEjectedShare: 1.5,
          extra: true,
        }),
        'gw.yaml',
      ),
    );
    const paths = kindsAndPaths(issues).map((s) => s.split(' ').at(-1));
    for (const path of [
      'upstreams[0].outlierDetection.consecutiveFailures',
      'upstreams[0].outlierDetection.on[0]',
      'upstreams[0].outlierDetection.maxEjectedShare',
    ]) {
      assert.ok(paths.includes(path), `${path} in ${paths.join(', ')}`);
    }
    assert.ok(
      kindsAndPaths(issues).includes('unknown-setting upstreams[0].outlierDetection.extra'),
    );
    assert.ok(issuesOf(() => parseConfig(withOutliers({ on: [] }), 'gw.yaml')).length > 0);
  });

  it('refuses a cap below the base', () => {
    const issues = issuesOf(() =>
      parseConfig(withOutliers({ baseEjectionMs: 5000, maxEjectionMs: 1000 }), 'gw.yaml'),
    );
    assert.equal(issues.length, 1);
    assert.match(issues[0]?.path ?? '', /outlierDetection\.maxEjectionMs$/);
    assert.equal(issues[0]?.problem, 'must be at least baseEjectionMs (5000)');
  });

  it('shows in gw proxy --check, text and JSON', () => {
    const config = parseConfig(
      withOutliers({ consecutiveFailures: 3, on: ['connect-failed', 'status-5xx'] }),
      'gw.yaml',
    );
    const text = routingTable(config).join('\n');
    assert.match(
      text,
      /upstream app .*\n {2}outliers: 3 consecutive connect-failed\|status-5xx → eject 30000ms × n \(max 300000ms\), at most 50% ejected\n {2}127\.0\.0\.1:9001/,
    );
    const json = routingTableJson(config).upstreams[0];
    assert.deepEqual(json?.outlierDetection?.on, ['connect-failed', 'status-5xx']);
    assert.equal(
      routingTableJson(parseConfig(minimalRaw(), 'gw.yaml')).upstreams[0]?.outlierDetection,
      undefined,
    );
  });
});
