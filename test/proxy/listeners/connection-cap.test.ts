import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import {
  defaultMaxConnections,
  descriptorLimit,
  parseDescriptorLimit,
} from '../../../src/proxy/listeners/connection-cap.js';
import { issuesOf, kindsAndPaths, minimalRaw } from '../config/helpers.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

describe('connection cap: the default from the descriptor limit', () => {
  it('reads the soft open-files limit of /proc/PID/limits', () => {
    assert.equal(parseDescriptorLimit(LIMITS), 20_000);
    assert.equal(
      parseDescriptorLimit(LIMITS.replace('20000                20000', 'unlimited  unlimited')),
      undefined,
    );
    assert.equal(parseDescriptorLimit('nothing here'), undefined);
  });

  it('reads this process limit where /proc exists', () => {
    const limit = descriptorLimit();
    assert.ok(limit === undefined || limit > 0);
  });

  it('defaults to 2/5 of the limit (a proxied connection may hold two descriptors), 10000 if unknown', () => {
    assert.equal(defaultMaxConnections(20_000), 8_000);
    assert.equal(defaultMaxConnections(1024), 409);
    assert.equal(defaultMaxConnections(1), 1);
    assert.equal(defaultMaxConnections(undefined), 10_000);
  });
});

describe('config: listeners[].maxConnections', () => {
  it('is absent unless set (the default is derived when the listener starts)', () => {
    const listener = parseConfig(minimalRaw(), 'gw.yaml').listeners[0];
    assert.equal(listener?.maxConnections, undefined);
    const raw = minimalRaw();
    raw.listeners[0] = { ...raw.listeners[0], maxConnections: 5 };
    assert.equal(parseConfig(raw, 'gw.yaml').listeners[0]?.maxConnections, 5);
  });

  it('accepts it on every protocol', () => {
    const raw = minimalRaw();
    raw.listeners.push(
      {
        name: 'rpc',
        protocol: 'grpc',
        listen: '127.0.0.1:0',
        maxConnections: 7,
        routes: [{ upstream: 'app' }],
      },
      { name: 'raw', protocol: 'tcp', listen: '127.0.0.1:0', maxConnections: 9, upstream: 'app' },
    );
    const listeners = parseConfig(raw, 'gw.yaml').listeners;
    assert.deepEqual(
      listeners.map((l) => l.maxConnections),
      [undefined, 7, 9],
    );
  });

  it('refuses anything but a positive whole number', () => {
    for (const bad of [0, -1, 1.5, '100', 20_000_000]) {
      const raw = minimalRaw();
      raw.listeners[0] = { ...raw.listeners[0], maxConnections: bad };
      assert.deepEqual(
        kindsAndPaths(issuesOf(() => parseConfig(raw, 'gw.yaml'))),
        ['invalid listeners[0].maxConnections'],
        String(bad),
      );
    }
  });
});
