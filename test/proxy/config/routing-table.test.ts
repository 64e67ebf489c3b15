import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import { routingTable, routingTableJson } from '../../../src/proxy/config/routing-table.js';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { minimalRaw } from './helpers.js';

const FULL = fileURLToPath(new URL('../../../fixtures/configs/valid-full.yaml', import.meta.url));

function fullConfig() {
  return parseConfigText(readFileSync(FULL, 'utf8'), '/etc/gw/gw.yaml');
}

describe('routingTable', () => {
  it('renders the design example: listener, route match, upstream, balance and targets', () => {
    const raw = minimalRaw();
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: [
        {
          match: { pathPrefix: '/api', host: 'example.test', methods: ['GET', 'POST'] },
          upstream: 'api',
          stripPrefix: true,
        },
      ],
    };
    raw.upstreams = [{ name: 'api', targets: [{ address: '127.0.0.1:9001', weight: 3 }] }];
    assert.deepEqual(routingTable(parseConfig(raw, 'gw.yaml')), [
      'listener web  http  127.0.0.1:8080  idle 60000ms header 10000ms  max header 16.0 KiB body 10.0 MiB',
      '  route-1  host=example.test pathPrefix=/api methods=GET,POST  → api (round-robin; strip /api)',
      'upstream api  round-robin  connect 5000ms header 30000ms idle 60000ms',
      '  127.0.0.1:9001  weight 3',
    ]);
  });

  it('aligns the columns of routes within a listener', () => {
    const lines = routingTable(fullConfig());
    const routes = lines.filter((line) => line.startsWith('  ') && line.includes('→'));
    const web = routes.slice(0, 4).map((line) => line.indexOf('→'));
    assert.equal(new Set(web).size, 1, routes.join('\n'));
    const heads = lines.filter((line) => line.startsWith('listener '));
    assert.equal(new Set(heads.map((line) => line.search(/ (http|grpc|tcp) /))).size, 1);
  });

  it('shows each protocol, rewrites, hash keys, weighted shares and a tcp listener upstream', () => {
    const text = routingTable(fullConfig()).join('\n');
    for (const expected of [
      'rewrite /old to /v1; auth api-key allow alice',
      'hash on cookie:session',
      'hash on header:x-user',
      '→ echo (least-conn; allow 127.0.0.1/32,192.168.0.0/16)',
      'strip /api; allow 10.0.0.0/8,::1/128; +headers cache-control',
      'weight 3  60%',
      '[::1]:8443',
      'tls cert /etc/gw/tls/test-cert.pem',
      'any request',
      'health http  GET /healthz expect 200,204-299  body ~"ok"  host api.internal  port 9090',
      'health grpc  service "helloworld.Greeter"',
      'health tcp  send "PING\\n"  expect "PONG"',
      'panic below 30% available',
    ]) {
      assert.ok(text.includes(expected), `missing ${expected}\n${text}`);
    }
  });

  it('marks an upstream that nothing routes to', () => {
    const raw = minimalRaw();
    raw.upstreams.push({ name: 'spare', targets: ['127.0.0.1:2'] });
    const line = routingTable(parseConfig(raw, 'gw.yaml')).find((l) =>
      l.startsWith('upstream spare'),
    );
    assert.match(line ?? '', /unused/);
  });
});

describe('routingTableJson', () => {
  it('is plain JSON that survives a round trip unchanged', () => {
    const json = routingTableJson(fullConfig());
    assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
  });

  it('gives addresses as strings, hash keys as text and who uses each upstream', () => {
    const json = routingTableJson(fullConfig());
    assert.equal(json.listeners[1]?.listen, '[::1]:8443');
    assert.equal(json.listeners[3]?.upstream, 'echo');
    const sticky = json.upstreams.find((u) => u.name === 'sticky');
    assert.equal(sticky?.hashKey, 'cookie:session');
    assert.deepEqual(sticky.usedBy, ['web/route-3', 'web/route-4']);
    const api = json.upstreams.find((u) => u.name === 'api');
    assert.deepEqual(api?.targets[0], {
      id: '127.0.0.1:9001',
      address: '127.0.0.1:9001',
      weight: 3,
    });
    assert.equal(api.hashKey, undefined);
  });
});
