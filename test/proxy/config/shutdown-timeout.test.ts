import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/proxy/config/load.js';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { issuesOf, kindsAndPaths, minimalRaw } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/configs/', import.meta.url));

describe('config: shutdownTimeoutMs', () => {
  it('is 5000 unless set, and read from the top level', async () => {
    assert.equal(parseConfig(minimalRaw(), 'gw.yaml').shutdownTimeoutMs, 5000);
    assert.equal((await loadConfig(`${FIXTURES}valid-full.yaml`)).shutdownTimeoutMs, 8000);
  });

  it('must be a whole number of milliseconds a timer can hold', () => {
    for (const value of [0, -1, 1.5, 2 ** 31, '5s']) {
      const raw = { ...minimalRaw(), shutdownTimeoutMs: value };
      assert.deepEqual(
        kindsAndPaths(issuesOf(() => parseConfig(raw, 'gw.yaml'))).map((k) => k.split(' ')[1]),
        ['shutdownTimeoutMs'],
        String(value),
      );
    }
  });
});
