import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import type { HttpListenerConfig } from '../../../src/proxy/config/types.js';
import { issuesOf, kindsAndPaths, minimalRaw } from './helpers.js';

function httpListener(raw: unknown, source = '/etc/gw/gw.yaml'): HttpListenerConfig {
  const listener = parseConfig(raw, source).listeners[0];
  assert.equal(listener?.protocol, 'http');
  return listener;
}

describe('parseConfig: defaults and resolution', () => {
  it('fills every default of a minimal config', () => {
    const config = parseConfig(minimalRaw(), 'gw.yaml');
    assert.equal(config.source, 'gw.yaml');
    assert.deepEqual(config.listeners, [
      {
        name: 'web',
        protocol: 'http',
        listen: { host: '127.0.0.1', port: 8080 },
        timeouts: { idleMs: 60_000, headerMs: 10_000, bodyMs: 30_000, bodyMinBytesPerSecond: 100 },
        routes: [
          { name: 'route-1', match: {}, upstream: 'app', stripPrefix: false, features: new Map() },
        ],
        limits: { maxHeaderBytes: 16_384, maxBodyBytes: 10 * 1024 * 1024, bufferBodyBytes: 16_384 },
        trustedProxies: [],
        accessLog: true,
        underscoreHeaders: 'drop',
      },
    ]);
    assert.deepEqual(
      [...config.upstreams],
      [
        [
          'app',
          {
            name: 'app',
            balance: 'round-robin',
            hashKey: { kind: 'client-ip' },
            targets: [
              { id: '127.0.0.1:9001', address: { host: '127.0.0.1', port: 9001 }, weight: 1 },
            ],
            timeouts: { connectMs: 5_000, headerMs: 30_000, idleMs: 60_000 },
            tls: false,
            panicThreshold: 0.5,
          },
        ],
      ],
    );
  });

  it('names unnamed routes route-N, counting from 1 within each listener', () => {
    const raw = minimalRaw();
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: [{ upstream: 'app' }, { name: 'named', upstream: 'app' }, { upstream: 'app' }],
    };
    raw.listeners.push({
      name: 'two',
      protocol: 'grpc',
      listen: '127.0.0.1:0',
      routes: [{ upstream: 'app' }],
    });
    const config = parseConfig(raw, 'gw.yaml');
    const names = config.listeners.map((l) =>
      l.protocol === 'tcp' ? [] : l.routes.map((r) => r.name),
    );
    assert.deepEqual(names, [['route-1', 'named', 'route-3'], ['route-1']]);
  });

  it('accepts targets as strings or { address, weight } objects', () => {
    const raw = minimalRaw();
    raw.upstreams[0] = {
      name: 'app',
      balance: 'weighted',
      targets: ['[::1]:9001', { address: 'Localhost:9002', weight: 3 }, { address: '10.0.0.1:80' }],
    };
    const upstream = parseConfig(raw, 'gw.yaml').upstreams.get('app');
    assert.deepEqual(upstream?.targets, [
      { id: '[::1]:9001', address: { host: '::1', port: 9001 }, weight: 1 },
      { id: 'Localhost:9002', address: { host: 'localhost', port: 9002 }, weight: 3 },
      { id: '10.0.0.1:80', address: { host: '10.0.0.1', port: 80 }, weight: 1 },
    ]);
  });

  it('upper-cases methods, lower-cases header names and the host match', () => {
    const raw = minimalRaw();
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: [
        {
          match: {
            host: 'API.Example.Test',
            methods: ['get', 'Post'],
            headers: { 'X-Env': 'Prod' },
          },
          upstream: 'app',
        },
      ],
    };
    assert.deepEqual(httpListener(raw).routes[0]?.match, {
      host: 'api.example.test',
      methods: ['GET', 'POST'],
      // A null-prototype map: no inherited key can pass for a header name.
      headers: Object.assign(Object.create(null) as object, { 'x-env': 'Prod' }),
    });
  });

  it('parses hashKey for a hash upstream and defaults it to client-ip', () => {
    const raw = minimalRaw();
    raw.upstreams = [
      { name: 'app', balance: 'hash', hashKey: 'header:X-User', targets: ['127.0.0.1:1'] },
      { name: 'b', balance: 'hash', hashKey: 'cookie:sid', targets: ['127.0.0.1:2'] },
      { name: 'c', balance: 'hash', hashKey: 'path', targets: ['127.0.0.1:3'] },
      { name: 'd', balance: 'hash', targets: ['127.0.0.1:4'] },
    ];
    const keys = [...parseConfig(raw, 'gw.yaml').upstreams.values()].map((u) => u.hashKey);
    assert.deepEqual(keys, [
      { kind: 'header', name: 'x-user' },
      { kind: 'cookie', name: 'sid' },
      { kind: 'path' },
      { kind: 'client-ip' },
    ]);
  });

  it('resolves relative TLS paths from the config file directory and keeps absolute ones', () => {
    const raw = minimalRaw();
    raw.listeners[0] = { ...raw.listeners[0], tls: { cert: 'certs/a.pem', key: '/abs/k.pem' } };
    assert.deepEqual(httpListener(raw, '/etc/gw/gw.yaml').tls, {
      cert: '/etc/gw/certs/a.pem',
      key: '/abs/k.pem',
    });
    assert.deepEqual(httpListener(raw, '<embedded>').tls, {
      cert: 'certs/a.pem',
      key: '/abs/k.pem',
    });
  });

  it('builds a tcp listener with its upstream and a grpc listener with its routes', () => {
    const raw = minimalRaw();
    raw.listeners = [
      { name: 'raw', protocol: 'tcp', listen: '0.0.0.0:9000', upstream: 'app' },
      {
        name: 'rpc',
        protocol: 'grpc',
        listen: '[::]:50051',
        routes: [{ upstream: 'app' }],
        accessLog: false,
      },
    ];
    const [tcp, grpc] = parseConfig(raw, 'gw.yaml').listeners;
    assert.deepEqual(tcp, {
      name: 'raw',
      protocol: 'tcp',
      listen: { host: '0.0.0.0', port: 9000 },
      timeouts: { idleMs: 60_000, headerMs: 10_000, bodyMs: 30_000, bodyMinBytesPerSecond: 100 },
      upstream: 'app',
      features: new Map(),
    });
    assert.equal(grpc?.protocol, 'grpc');
    assert.deepEqual(grpc.listen, { host: '::', port: 50051 });
    assert.equal(grpc.accessLog, false);
  });
});

describe('parseConfig: strict keys', () => {
  it('rejects an unknown key with its path', () => {
    const raw = minimalRaw();
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: [{ upstream: 'app', match: { pathPrefx: '/a' } }],
    };
    raw.upstreams[0] = { ...raw.upstreams[0], retries: 3 };
    raw.version = 1;
    assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfig(raw, 'gw.yaml'))), [
      'unknown-setting listeners[0].routes[0].match.pathPrefx',
      'unknown-setting upstreams[0].retries',
      'unknown-setting version',
    ]);
  });

  it('lists the valid keys of that place and guesses the intended one', () => {
    const raw = minimalRaw();
    raw.upstreams[0] = { ...raw.upstreams[0], Balance: 'random' };
    const [issue] = issuesOf(() => parseConfig(raw, 'gw.yaml'));
    assert.equal(issue?.kind, 'unknown-setting');
    const allowed = issue.allowed?.split(', ') ?? [];
    assert.ok(allowed.includes('balance'));
    assert.ok(!allowed.includes('auth'), 'settings of other places are not offered');
    assert.ok(!allowed.includes('rateLimit'), 'settings of other places are not offered');
    assert.match(issue.problem, /balance/);
  });

  it('rejects settings of later releases as not supported yet, wherever they belong', () => {
    const raw = minimalRaw();
    raw.admin = { listen: '127.0.0.1:9901' };
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: [
        {
          upstream: 'app',
        },
      ],
    };
    assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfig(raw, 'gw.yaml'))).sort(), [
      'not-supported-yet admin',
    ]);
  });

  it('refuses auth and rateLimit outside a route as misplaced, naming where they go', () => {
    const raw = minimalRaw();
    raw.auth = { type: 'api-key' };
    raw.rateLimit = { rps: 1 };
    raw.listeners[0] = { ...raw.listeners[0], auth: { type: 'basic' }, rateLimit: { rps: 1 } };
    raw.upstreams[0] = { ...raw.upstreams[0], auth: { type: 'jwt' }, rateLimit: { rps: 1 } };
    const issues = issuesOf(() => parseConfig(raw, 'gw.yaml'));
    assert.deepEqual(kindsAndPaths(issues).sort(), [
      'misplaced auth',
      'misplaced listeners[0].auth',
      'misplaced listeners[0].rateLimit',
      'misplaced rateLimit',
      'misplaced upstreams[0].auth',
      'misplaced upstreams[0].rateLimit',
    ]);
    for (const issue of issues) {
      assert.equal(issue.kind, 'misplaced');
      assert.match(
        issue.problem,
        /^(auth goes on a route|rateLimit goes on a route or a consumer)/,
      );
      assert.match(issue.problem, /routes\[\]\.(auth|rateLimit)/, 'names the place it will go');
    }
  });
});

describe('parseConfig: field values', () => {
  it('reports bad addresses with their paths: ports, IPv6 without brackets, port 0 for a target', () => {
    const raw = minimalRaw();
    raw.listeners[0] = { ...raw.listeners[0], listen: '127.0.0.1:65536' };
    raw.upstreams[0] = { name: 'app', targets: ['::1:80', { address: '127.0.0.1:0' }, 'host'] };
    assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfig(raw, 'gw.yaml'))), [
      'invalid listeners[0].listen',
      'invalid upstreams[0].targets[0]',
      'invalid upstreams[0].targets[1].address',
      'invalid upstreams[0].targets[2]',
    ]);
  });

  it('accepts port 0 on a listener (any free port, for tests)', () => {
    const raw = minimalRaw();
    raw.listeners[0] = { ...raw.listeners[0], listen: '127.0.0.1:0' };
    assert.equal(parseConfig(raw, 'gw.yaml').listeners[0]?.listen.port, 0);
  });

  it('reports a bad hashKey, balance, weight, timeout and protocol', () => {
    const raw = minimalRaw();
    raw.listeners[0] = { ...raw.listeners[0], timeouts: { idleMs: 0 } };
    raw.listeners.push({ name: 'x', protocol: 'udp', listen: '127.0.0.1:1' });
    raw.upstreams[0] = {
      name: 'app',
      balance: 'fastest',
      targets: [{ address: '127.0.0.1:1', weight: 1.5 }],
      timeouts: { connectMs: 3_000_000_000 },
    };
    raw.upstreams.push({
      name: 'h',
      balance: 'hash',
      hashKey: 'header:',
      targets: ['127.0.0.1:2'],
    });
    assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfig(raw, 'gw.yaml'))), [
      'invalid listeners[0].timeouts.idleMs',
      'invalid listeners[1].protocol',
      'invalid upstreams[0].balance',
      'invalid upstreams[0].targets[0].weight',
      'invalid upstreams[0].timeouts.connectMs',
      'invalid upstreams[1].hashKey',
    ]);
  });

  it('reports a pathRegex that does not compile, with the regex error', () => {
    const raw = minimalRaw();
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: [
        { upstream: 'app' },
        { upstream: 'app' },
        { upstream: 'app', match: { pathRegex: '(a' } },
      ],
    };
    const [issue] = issuesOf(() => parseConfig(raw, 'gw.yaml'));
    assert.equal(issue?.path, 'listeners[0].routes[2].match.pathRegex');
    assert.equal(issue.got, '"(a"');
    assert.match(issue.problem, /regular expression/);
  });

  it('reports missing required settings as missing', () => {
    const raw = {
      listeners: [{ protocol: 'http', routes: [{}] }],
      upstreams: [{ targets: ['127.0.0.1:1'] }],
    };
    assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfig(raw, 'gw.yaml'))), [
      'missing listeners[0].name',
      'missing listeners[0].listen',
      'missing listeners[0].routes[0].upstream',
      'missing upstreams[0].name',
    ]);
  });

  it('reports an empty document and a document that is not a mapping', () => {
    assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfig(null, 'gw.yaml'))), ['missing ']);
    assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfig(['a'], 'gw.yaml'))), ['invalid ']);
  });

  it('reports bad match values: paths without /, a host with a port, header values that are not strings', () => {
    const raw = minimalRaw();
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: [
        {
          upstream: 'app',
          match: { path: 'api', host: 'example.test:8080', headers: { 'x-v': 2, 'bad name': 'a' } },
        },
      ],
    };
    assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfig(raw, 'gw.yaml'))), [
      'invalid listeners[0].routes[0].match.host',
      'invalid listeners[0].routes[0].match.path',
      'invalid listeners[0].routes[0].match.headers["x-v"]',
      'invalid listeners[0].routes[0].match.headers["bad name"]',
    ]);
  });

  it('reports header match names that differ only in case as duplicates', () => {
    const raw = minimalRaw();
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: [{ upstream: 'app', match: { headers: { 'X-Env': 'a', 'x-env': 'b' } } }],
    };
    assert.deepEqual(kindsAndPaths(issuesOf(() => parseConfig(raw, 'gw.yaml'))), [
      'invalid listeners[0].routes[0].match.headers["x-env"]',
    ]);
  });
});
