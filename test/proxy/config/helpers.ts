import assert from 'node:assert/strict';
import { ConfigError, type ConfigIssue } from '../../../src/shared/errors.js';

/** A fresh, valid raw config (as parsed from YAML) for a test to change. */
export function minimalRaw(): Record<string, unknown> & {
  listeners: Record<string, unknown>[];
  upstreams: Record<string, unknown>[];
} {
  return {
    listeners: [
      {
        name: 'web',
        protocol: 'http',
        listen: '127.0.0.1:8080',
        routes: [{ upstream: 'app' }],
      },
    ],
    upstreams: [{ name: 'app', targets: ['127.0.0.1:9001'] }],
  };
}

/** Runs `fn`, asserts it throws a GW_ERR_CONFIG ConfigError with exit code 2, returns its issues. */
export function issuesOf(fn: () => unknown): readonly ConfigIssue[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'GW_ERR_CONFIG');
    assert.equal(err.exitCode, 2);
    return err.issues;
  }
  assert.fail('expected a config error');
}

/** `kind path` of each issue, the stable parts tests assert on. */
export function kindsAndPaths(issues: readonly ConfigIssue[]): string[] {
  return issues.map((issue) => `${issue.kind} ${issue.path}`);
}
