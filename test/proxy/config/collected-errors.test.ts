import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../../src/proxy/config/load.js';
import { ConfigError } from '../../../src/shared/errors.js';
import { issuesOf } from './helpers.js';

const FIXTURE = fileURLToPath(
  new URL('../../../fixtures/configs/invalid-many.yaml', import.meta.url),
);

describe('collected config errors', () => {
  it('reports every mistake of a file at once, in file order, with kind, path and line', () => {
    const text = readFileSync(FIXTURE, 'utf8');
    const issues = issuesOf(() => parseConfigText(text, 'invalid-many.yaml'));
    assert.deepEqual(
      issues.map((i) => `${i.line ?? '?'} ${i.kind} ${i.path}`),
      [
        '2 not-supported-yet admin',
        '6 invalid listeners[0].listen',
        '8 unknown-setting listeners[0].routes[0].match.pathPrefx',
        '10 conflict listeners[0].routes[0].stripPrefix',
        '11 invalid listeners[0].routes[1].match.pathRegex',
        '12 reference listeners[0].routes[1].upstream',
        '13 missing listeners[1].upstream',
        '13 duplicate listeners[1].name',
        '15 invalid listeners[1].listen',
        '16 misplaced listeners[1].routes',
        '20 conflict upstreams[0].hashKey',
        '22 invalid upstreams[0].targets[0].weight',
        '23 invalid upstreams[0].circuitBreaker.failureRate',
        '25 invalid upstreams[1].targets',
      ],
    );
  });

  it('points at the offending value, or at the key of an unknown setting', () => {
    const text =
      'listeners:\n  - name: web\n    protocol: http\n    listen: 127.0.0.1:99999\n    routes: [{ upstream: app, bogus: 1 }]\nupstreams: [{ name: app, targets: [127.0.0.1:1] }]\n';
    const issues = issuesOf(() => parseConfigText(text, 'gw.yaml'));
    assert.deepEqual(
      issues.map((i) => [i.path, i.line, i.column]),
      [
        ['listeners[0].listen', 4, 13],
        ['listeners[0].routes[0].bogus', 5, 31],
      ],
    );
  });

  it('lists every issue in the message, one per line, prefixed with file:line:col and path', () => {
    const text = readFileSync(FIXTURE, 'utf8');
    try {
      parseConfigText(text, 'invalid-many.yaml');
      assert.fail('expected a config error');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const lines = err.message.split('\n').slice(1);
      assert.equal(lines.length, err.issues.length);
      err.issues.forEach((issue, n) => {
        const prefix = `invalid-many.yaml:${issue.line}:${issue.column}: ${issue.path}: `;
        assert.ok(lines[n]?.trim().startsWith(prefix), `line ${n}: ${lines[n]}`);
      });
      assert.ok(err.hint?.includes('--check'));
    }
  });

  it('locates issues in JSON text too', () => {
    const text = '{\n  "listeners": [],\n  "upstreams": []\n}\n';
    const issues = issuesOf(() => parseConfigText(text, 'gw.json'));
    assert.deepEqual(
      issues.map((i) => [i.kind, i.path, i.line]),
      [['invalid', 'listeners', 2]],
    );
  });
});
