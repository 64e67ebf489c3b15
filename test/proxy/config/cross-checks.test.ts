import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { issuesOf, kindsAndPaths, minimalRaw } from './helpers.js';

function check(raw: unknown): string[] {
  return kindsAndPaths(issuesOf(() => parseConfig(raw, 'gw.yaml')));
}

describe('parseConfig: cross-checks', () => {
  it('reports a route upstream that no upstream defines', () => {
    const raw = minimalRaw();
    raw.listeners[0] = { ...raw.listeners[0], routes: [{ upstream: 'app' }, { upstream: 'nope' }] };
    assert.deepEqual(check(raw), ['reference listeners[0].routes[1].upstream']);
  });

  it('reports a tcp listener upstream that no upstream defines', () => {
    const raw = minimalRaw();
    raw.listeners.push({
      name: 'raw',
      protocol: 'tcp',
      listen: '127.0.0.1:9000',
      upstream: 'echo',
    });
    assert.deepEqual(check(raw), ['reference listeners[1].upstream']);
  });

  it('names the defined upstreams as the allowed values of a bad reference', () => {
    const raw = minimalRaw();
    raw.upstreams.push({ name: 'other', targets: ['127.0.0.1:2'] });
    raw.listeners[0] = { ...raw.listeners[0], routes: [{ upstream: 'ap' }] };
    const [issue] = issuesOf(() => parseConfig(raw, 'gw.yaml'));
    assert.equal(issue?.allowed, 'app, other');
  });

  it('reports duplicate listener names and duplicate upstream names', () => {
    const raw = minimalRaw();
    raw.listeners.push({
      name: 'web',
      protocol: 'http',
      listen: '127.0.0.1:8081',
      routes: [{ upstream: 'app' }],
    });
    raw.upstreams.push({ name: 'app', targets: ['127.0.0.1:2'] });
    assert.deepEqual(check(raw), ['duplicate listeners[1].name', 'duplicate upstreams[1].name']);
  });

  it('reports two listeners on the same host:port, comparing IPv6 in canonical form', () => {
    const raw = minimalRaw();
    raw.listeners = [
      { name: 'a', protocol: 'tcp', listen: '[::1]:9000', upstream: 'app' },
      { name: 'b', protocol: 'tcp', listen: '[0:0::1]:9000', upstream: 'app' },
      { name: 'c', protocol: 'tcp', listen: '127.0.0.1:9000', upstream: 'app' },
    ];
    assert.deepEqual(check(raw), ['duplicate listeners[1].listen']);
  });

  it('reports a wildcard listener overlapping another on the same port', () => {
    const raw = minimalRaw();
    raw.listeners = [
      { name: 'a', protocol: 'tcp', listen: '127.0.0.1:9000', upstream: 'app' },
      { name: 'b', protocol: 'tcp', listen: '0.0.0.0:9000', upstream: 'app' },
      { name: 'c', protocol: 'tcp', listen: '[::]:9001', upstream: 'app' },
      { name: 'd', protocol: 'tcp', listen: '127.0.0.1:9001', upstream: 'app' },
      { name: 'e', protocol: 'tcp', listen: '0.0.0.0:9002', upstream: 'app' },
      { name: 'f', protocol: 'tcp', listen: '[::1]:9002', upstream: 'app' },
    ];
    assert.deepEqual(check(raw), ['conflict listeners[1].listen', 'conflict listeners[3].listen']);
  });

  it('lets any number of listeners use port 0', () => {
    const raw = minimalRaw();
    raw.listeners = [
      { name: 'a', protocol: 'tcp', listen: '127.0.0.1:0', upstream: 'app' },
      { name: 'b', protocol: 'tcp', listen: '127.0.0.1:0', upstream: 'app' },
    ];
    assert.equal(parseConfig(raw, 'gw.yaml').listeners.length, 2);
  });

  it('reports an upstream without targets', () => {
    const raw = minimalRaw();
    raw.upstreams[0] = { name: 'app', targets: [] };
    raw.upstreams.push({ name: 'b' });
    assert.deepEqual(check(raw), ['invalid upstreams[0].targets', 'missing upstreams[1].targets']);
  });

  it('reports the same target listed twice in one upstream', () => {
    const raw = minimalRaw();
    raw.upstreams[0] = {
      name: 'app',
      targets: ['127.0.0.1:1', { address: '127.0.0.1:1', weight: 2 }],
    };
    assert.deepEqual(check(raw), ['duplicate upstreams[0].targets[1]']);
  });

  it('reports stripPrefix and rewritePrefix without match.pathPrefix, and both together', () => {
    const raw = minimalRaw();
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: [
        { upstream: 'app', stripPrefix: true, match: { path: '/a' } },
        { upstream: 'app', rewritePrefix: '/v1' },
        { upstream: 'app', stripPrefix: true, rewritePrefix: '/v1', match: { pathPrefix: '/a' } },
        { upstream: 'app', stripPrefix: false },
      ],
    };
    assert.deepEqual(check(raw), [
      'conflict listeners[0].routes[0].stripPrefix',
      'conflict listeners[0].routes[1].rewritePrefix',
      'conflict listeners[0].routes[2].rewritePrefix',
    ]);
  });

  it('reports hashKey on an upstream whose balance is not hash, including the default', () => {
    const raw = minimalRaw();
    raw.upstreams = [
      { name: 'app', hashKey: 'client-ip', targets: ['127.0.0.1:1'] },
      { name: 'b', balance: 'random', hashKey: 'path', targets: ['127.0.0.1:2'] },
    ];
    assert.deepEqual(check(raw), [
      'conflict upstreams[0].hashKey',
      'conflict upstreams[1].hashKey',
    ]);
  });

  it('requires a tcp listener to have an upstream and no routes', () => {
    const raw = minimalRaw();
    raw.listeners.push({
      name: 'raw',
      protocol: 'tcp',
      listen: '127.0.0.1:9000',
      routes: [{ upstream: 'app' }],
    });
    assert.deepEqual(check(raw), [
      'misplaced listeners[1].routes',
      'missing listeners[1].upstream',
    ]);
  });

  it('requires http and grpc listeners to have at least one route and no listener upstream', () => {
    const raw = minimalRaw();
    raw.listeners = [
      { name: 'a', protocol: 'http', listen: '127.0.0.1:1', routes: [] },
      { name: 'b', protocol: 'grpc', listen: '127.0.0.1:2', upstream: 'app' },
    ];
    assert.deepEqual(check(raw), [
      'missing listeners[0].routes',
      'misplaced listeners[1].upstream',
      'missing listeners[1].routes',
    ]);
  });

  it('reports settings the listener protocol does not take', () => {
    const raw = minimalRaw();
    raw.listeners.push(
      {
        name: 'raw',
        protocol: 'tcp',
        listen: '127.0.0.1:9000',
        upstream: 'app',
        tls: { cert: 'c.pem', key: 'k.pem' },
        accessLog: true,
      },
      {
        name: 'rpc',
        protocol: 'grpc',
        listen: '127.0.0.1:9001',
        limits: { maxBodyBytes: 0 },
        trustedProxies: ['10.0.0.0/8'],
        routes: [{ upstream: 'app', match: { methods: ['POST'] } }],
      },
    );
    assert.deepEqual(check(raw), [
      'misplaced listeners[1].tls',
      'misplaced listeners[1].accessLog',
      'misplaced listeners[2].limits',
      'misplaced listeners[2].trustedProxies',
      'misplaced listeners[2].routes[0].match.methods',
    ]);
  });

  it('reports two routes of one listener with the same name, explicit or default', () => {
    const raw = minimalRaw();
    raw.listeners[0] = {
      ...raw.listeners[0],
      routes: [
        { name: 'a', upstream: 'app' },
        { name: 'a', upstream: 'app' },
        { name: 'route-4', upstream: 'app' },
        { upstream: 'app' },
      ],
    };
    assert.deepEqual(check(raw), [
      'duplicate listeners[0].routes[1].name',
      'duplicate listeners[0].routes[3]',
    ]);
  });

  it('runs the cross-checks even when fields also fail their own checks', () => {
    const raw = minimalRaw();
    raw.listeners[0] = { ...raw.listeners[0], listen: 'nope', routes: [{ upstream: 'missing' }] };
    assert.deepEqual(check(raw), [
      'invalid listeners[0].listen',
      'reference listeners[0].routes[0].upstream',
    ]);
  });
});
