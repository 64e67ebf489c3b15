import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import { routingTable, routingTableJson } from '../../../src/proxy/config/routing-table.js';
import { issuesOf } from '../config/helpers.js';

function configWith(upstreamExtra: string): string {
  return `
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, routes: [{ upstream: api }] }
upstreams:
  - { name: api, targets: [127.0.0.1:9001, 127.0.0.1:9002]${upstreamExtra} }
`;
}

function upstream(extra: string) {
  const u = parseConfigText(configWith(extra), 'gw.yaml').upstreams.get('api');
  assert.ok(u);
  return u;
}

describe('healthCheck and panicThreshold in the config', () => {
  it('fills every default of an http check', () => {
    const u = upstream(', healthCheck: { type: http }');
    assert.deepEqual(u.healthCheck, {
      type: 'http',
      method: 'GET',
      path: '/healthz',
      expectStatus: [[200, 299]],
      intervalMs: 5000,
      timeoutMs: 1000,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      unhealthyIntervalMs: 2500,
      jitterMs: 500,
    });
    assert.equal(u.panicThreshold, 0.5);
  });

  it('takes status lists and ranges, body, host, port and every timing', () => {
    const u = upstream(
      ', healthCheck: { type: http, method: head, path: "/ready?x=1", expectStatus: [200, "204", "300-302"], body: ok, host: api.test, port: 9100, intervalMs: 100, timeoutMs: 50, healthyThreshold: 1, unhealthyThreshold: 2, unhealthyIntervalMs: 40, jitterMs: 0 }, panicThreshold: 0',
    );
    assert.deepEqual(u.healthCheck, {
      type: 'http',
      method: 'HEAD',
      path: '/ready?x=1',
      expectStatus: [
        [200, 200],
        [204, 204],
        [300, 302],
      ],
      body: 'ok',
      host: 'api.test',
      port: 9100,
      intervalMs: 100,
      timeoutMs: 50,
      healthyThreshold: 1,
      unhealthyThreshold: 2,
      unhealthyIntervalMs: 40,
      jitterMs: 0,
    });
    assert.equal(u.panicThreshold, 0);
    assert.equal(
      upstream(', healthCheck: { type: http, expectStatus: 204 }').healthCheck?.type,
      'http',
    );
  });

  it('takes tcp send/expect and a grpc service (any upstream may use any type)', () => {
    const tcp = upstream(', healthCheck: { type: tcp, send: "PING\\r\\n", expect: PONG }');
    assert.equal(tcp.healthCheck?.type, 'tcp');
    assert.deepEqual([tcp.healthCheck.send, tcp.healthCheck.expect], ['PING\r\n', 'PONG']);
    const grpc = upstream(', healthCheck: { type: grpc, service: gw.echo.v1.Echo }');
    assert.deepEqual(
      grpc.healthCheck?.type === 'grpc' && grpc.healthCheck.service,
      'gw.echo.v1.Echo',
    );
    const plain = upstream(', healthCheck: { type: grpc }');
    assert.deepEqual(plain.healthCheck?.type === 'grpc' && plain.healthCheck.service, '');
  });

  it('refuses bad values with their paths', () => {
    const cases: [string, string][] = [
      [', healthCheck: { type: udp }', 'upstreams[0].healthCheck.type'],
      [
        ', healthCheck: { type: http, expectStatus: "299-200" }',
        'upstreams[0].healthCheck.expectStatus',
      ],
      [', healthCheck: { type: http, expectStatus: 700 }', 'upstreams[0].healthCheck.expectStatus'],
      [', healthCheck: { type: http, path: healthz }', 'upstreams[0].healthCheck.path'],
      [', healthCheck: { type: http, path: "/a b" }', 'upstreams[0].healthCheck.path'],
      [', healthCheck: { type: http, path: "/a\\u0000" }', 'upstreams[0].healthCheck.path'],
      [', healthCheck: { type: http, host: "a\\r\\nx: y" }', 'upstreams[0].healthCheck.host'],
      [', healthCheck: { type: http, intervalMs: 0 }', 'upstreams[0].healthCheck.intervalMs'],
      [
        ', healthCheck: { type: http, unhealthyThreshold: 0 }',
        'upstreams[0].healthCheck.unhealthyThreshold',
      ],
      [', healthCheck: { type: tcp, path: /x }', 'upstreams[0].healthCheck.path'],
      [', healthCheck: { type: grpc, port: 70000 }', 'upstreams[0].healthCheck.port'],
      [', panicThreshold: 1.5', 'upstreams[0].panicThreshold'],
    ];
    for (const [extra, path] of cases) {
      const issues = issuesOf(() => parseConfigText(configWith(extra), 'gw.yaml'));
      assert.ok(
        issues.some((i) => i.path.startsWith(path)),
        `${extra}: ${issues.map((i) => `${i.path} ${i.problem}`).join('; ')}`,
      );
    }
  });

  it('gw proxy --check shows the settings per upstream, in text and JSON', () => {
    const config = parseConfigText(
      configWith(
        ', healthCheck: { type: http, path: /ready, expectStatus: [200, "300-399"], intervalMs: 1000 }, panicThreshold: 0.25',
      ),
      'gw.yaml',
    );
    const text = routingTable(config).join('\n');
    assert.match(
      text,
      /health http {2}GET \/ready expect 200,300-399 {2}every 1000ms \(unhealthy 500ms\) jitter 100ms {2}timeout 1000ms {2}healthy after 2 unhealthy after 3 {2}panic below 25% available/,
    );
    const json = routingTableJson(config).upstreams[0];
    assert.ok(json);
    assert.equal(json.panicThreshold, 0.25);
    assert.deepEqual(json.healthCheck, {
      type: 'http',
      method: 'GET',
      path: '/ready',
      expectStatus: '200,300-399',
      intervalMs: 1000,
      timeoutMs: 1000,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      unhealthyIntervalMs: 500,
      jitterMs: 100,
    });
    const none = routingTable(parseConfigText(configWith(''), 'gw.yaml')).join('\n');
    assert.doesNotMatch(none, /health/);
  });
});
