import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import { routingTable, routingTableJson } from '../../../src/proxy/config/routing-table.js';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { issuesOf, kindsAndPaths, minimalRaw } from '../config/helpers.js';

function withUpstream(upstream: Record<string, unknown>) {
  const raw = minimalRaw();
  raw.upstreams = [{ name: 'app', ...upstream }];
  return raw;
}

describe('discovery config', () => {
  it('resolves a file source relative to the config file, as TLS paths are', () => {
    const config = parseConfig(
      withUpstream({ discovery: { type: 'file', path: 'targets.yaml' } }),
      '/etc/gw/gw.yaml',
    );
    const app = config.upstreams.get('app');
    assert.deepEqual(app?.discovery, {
      type: 'file',
      written: 'targets.yaml',
      path: '/etc/gw/targets.yaml',
    });
    assert.deepEqual(app.targets, []);
    const abs = parseConfig(
      withUpstream({ discovery: { type: 'file', path: '/srv/t.json' } }),
      '/etc/gw/gw.yaml',
    );
    assert.deepEqual(abs.upstreams.get('app')?.discovery, {
      type: 'file',
      written: '/srv/t.json',
      path: '/srv/t.json',
    });
  });

  it('defaults DNS to SRV for _service names, to A+AAAA otherwise, every 5000 ms', () => {
    const srv = parseConfig(
      withUpstream({ discovery: { type: 'dns', name: '_http._tcp.api.test' } }),
      'gw.yaml',
    );
    assert.deepEqual(srv.upstreams.get('app')?.discovery, {
      type: 'dns',
      name: '_http._tcp.api.test',
      recordType: 'SRV',
      intervalMs: 5000,
    });
    const a = parseConfig(
      withUpstream({
        discovery: { type: 'dns', name: 'api.test', port: 8080, server: '127.0.0.1:5353' },
      }),
      'gw.yaml',
    );
    assert.deepEqual(a.upstreams.get('app')?.discovery, {
      type: 'dns',
      name: 'api.test',
      recordType: 'A+AAAA',
      port: 8080,
      intervalMs: 5000,
      server: { host: '127.0.0.1', port: 5353 },
    });
  });

  it('takes etcd endpoints and a prefix', () => {
    const config = parseConfig(
      withUpstream({
        discovery: { type: 'etcd', endpoints: ['http://127.0.0.1:2379'], prefix: '/services/api/' },
      }),
      'gw.yaml',
    );
    assert.deepEqual(config.upstreams.get('app')?.discovery, {
      type: 'etcd',
      endpoints: ['http://127.0.0.1:2379'],
      prefix: '/services/api/',
    });
  });

  it('wants exactly one of targets and discovery', () => {
    const both = withUpstream({
      targets: ['127.0.0.1:9001'],
      discovery: { type: 'file', path: 't.yaml' },
    });
    const bothIssues = issuesOf(() => parseConfig(both, 'gw.yaml'));
    assert.deepEqual(kindsAndPaths(bothIssues), ['conflict upstreams[0].discovery']);
    assert.match(bothIssues[0]?.problem ?? '', /targets or discovery, not both/);
    const neither = issuesOf(() => parseConfig(withUpstream({}), 'gw.yaml'));
    assert.deepEqual(kindsAndPaths(neither), ['missing upstreams[0].targets']);
    assert.match(neither[0]?.problem ?? '', /needs targets or discovery/);
  });

  it('wants a port for A/AAAA and none for SRV; refuses unknown types and keys, with places', () => {
    const yaml = `listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:8080, routes: [{ upstream: a }] }
upstreams:
  - name: a
    discovery: { type: dns, name: api.test }
  - name: b
    discovery: { type: dns, name: _x._tcp.test, port: 80 }
  - name: c
    discovery: { type: consul }
  - name: d
    discovery: { type: etcd, endpoints: [127.0.0.1:2379], prefix: /x/, ttl: 3 }
`;
    const issues = issuesOf(() => parseConfigText(yaml, 'gw.yaml'));
    assert.deepEqual(kindsAndPaths(issues), [
      'missing upstreams[0].discovery.port',
      'conflict upstreams[1].discovery.port',
      'invalid upstreams[2].discovery.type',
      'invalid upstreams[3].discovery.endpoints[0]',
      'unknown-setting upstreams[3].discovery.ttl',
    ]);
    assert.equal(issues[0]?.line, 5);
    assert.equal(issues[1]?.line, 7);
  });

  it("--check names each upstream's source instead of target rows (text and JSON)", () => {
    const raw = minimalRaw();
    raw.upstreams = [
      { name: 'app', discovery: { type: 'file', path: 'x.yaml' } },
      { name: 'dns', discovery: { type: 'dns', name: '_h._tcp.test' } },
      { name: 'reg', discovery: { type: 'etcd', endpoints: ['http://e:2379'], prefix: '/s/' } },
      { name: 'fixed', targets: ['127.0.0.1:9001'] },
    ];
    const config = parseConfig(raw, '/etc/gw/gw.yaml');
    const lines = routingTable(config);
    assert.ok(lines.includes('  targets from file x.yaml'), lines.join('\n'));
    assert.ok(lines.includes('  targets from dns _h._tcp.test SRV'), lines.join('\n'));
    assert.ok(lines.includes('  targets from etcd http://e:2379 /s/'), lines.join('\n'));
    assert.ok(lines.includes('  127.0.0.1:9001  weight 1'), lines.join('\n'));
    const json = routingTableJson(config);
    const byName = new Map(json.upstreams.map((u) => [u.name, u]));
    assert.equal(byName.get('app')?.source, 'file');
    assert.deepEqual(byName.get('app')?.targets, []);
    assert.equal(byName.get('fixed')?.source, 'static');
    assert.equal(byName.get('fixed')?.discovery, undefined);
    assert.deepEqual(byName.get('reg')?.discovery, {
      type: 'etcd',
      endpoints: ['http://e:2379'],
      prefix: '/s/',
    });
  });
});
