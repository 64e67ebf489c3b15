import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configNotes } from '../../../src/proxy/config/config-notes.js';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { minimalRaw } from './helpers.js';

describe('configNotes: what a default chose, said at start', () => {
  it('names an upstream that hashes without hashKey, and says it hashes on client-ip', () => {
    const raw = minimalRaw();
    raw.upstreams[0] = { ...raw.upstreams[0], balance: 'hash' };
    const notes = configNotes(parseConfig(raw, 'gw.yaml'));
    assert.equal(notes.length, 1);
    assert.match(notes[0] ?? '', /upstream app .*without hashKey.*client-ip/);
  });

  it('says nothing when hashKey is set or the balancer does not hash', () => {
    const keyed = minimalRaw();
    keyed.upstreams[0] = { ...keyed.upstreams[0], balance: 'hash', hashKey: 'client-ip' };
    assert.deepEqual(configNotes(parseConfig(keyed, 'gw.yaml')), []);
    assert.deepEqual(configNotes(parseConfig(minimalRaw(), 'gw.yaml')), []);
  });
});
