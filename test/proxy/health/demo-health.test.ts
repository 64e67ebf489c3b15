import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import {
  demoConfigYaml,
  demoPorts,
  fixedBackendPorts,
} from '../../../src/proxy/demo/demo-config.js';

describe('gw demo: health checks', () => {
  it('checks every upstream with the type its backends answer, at short intervals', () => {
    const config = parseConfigText(
      demoConfigYaml(demoPorts(8080), fixedBackendPorts()),
      'demo.yaml',
    );
    const types = Object.fromEntries(
      [...config.upstreams.values()].map((u) => [u.name, u.healthCheck?.type]),
    );
    assert.deepEqual(types, {
      api: 'http',
      'api-weighted': 'http',
      'api-sticky': 'http',
      ws: 'http',
      echo: 'grpc',
      'tcp-echo': 'tcp',
    });
    for (const u of config.upstreams.values()) {
      assert.ok((u.healthCheck?.intervalMs ?? Infinity) <= 1000, u.name);
    }
  });
});
