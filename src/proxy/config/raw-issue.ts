import type { ConfigIssue, ConfigIssueKind } from '../../shared/errors.js';
import { configPath, renderValue, valueAt } from './config-path.js';
import type { Locator } from './yaml-locator.js';

/** A problem found by validation, before it is given a line and column. */
export interface RawIssue {
  readonly kind: ConfigIssueKind;
  readonly segments: readonly PropertyKey[];
  /** Point at the setting's key (unknown, unsupported or misplaced settings) or its value. */
  readonly at: 'key' | 'value';
  readonly problem: string;
  readonly got?: string;
  readonly allowed?: string;
}

/** How {@link rawIssue} classifies, points at and explains an issue. */
export interface RawIssueOptions {
  /** Default `invalid`. */
  readonly kind?: ConfigIssueKind;
  readonly at?: 'key' | 'value';
  readonly allowed?: string | undefined;
  /** Show the value found at the path as `got` (default true; a missing value is never shown). */
  readonly showValue?: boolean;
}

/** Builds a {@link RawIssue}, reading the offending value from the document `root`. */
export function rawIssue(
  root: unknown,
  segments: readonly PropertyKey[],
  problem: string,
  options: RawIssueOptions = {},
): RawIssue {
  const value = valueAt(root, segments);
  const showValue = (options.showValue ?? true) && value !== undefined;
  return {
    kind: options.kind ?? 'invalid',
    segments,
    at: options.at ?? 'value',
    problem,
    ...(showValue ? { got: renderValue(value) } : {}),
    ...(options.allowed === undefined ? {} : { allowed: options.allowed }),
  };
}

/**
 * Turns raw issues into {@link ConfigIssue}s with paths and, given a locator,
 * line and column; located issues are sorted in document order so the list
 * reads top to bottom like the file.
 */
export function placeIssues(issues: readonly RawIssue[], locate?: Locator): ConfigIssue[] {
  const placed = issues.map((issue): ConfigIssue => {
    const position = locate?.(issue.segments, issue.at);
    return {
      kind: issue.kind,
      path: configPath(issue.segments),
      problem: issue.problem,
      ...(issue.got === undefined ? {} : { got: issue.got }),
      ...(issue.allowed === undefined ? {} : { allowed: issue.allowed }),
      ...(position === undefined ? {} : { line: position.line, column: position.column }),
    };
  });
  return placed
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => compare(a.issue, b.issue) || a.index - b.index)
    .map(({ issue }) => issue);
}

function compare(a: ConfigIssue, b: ConfigIssue): number {
  if (a.line === undefined || b.line === undefined) {
    return (a.line === undefined ? 1 : 0) - (b.line === undefined ? 1 : 0);
  }
  return a.line - b.line || (a.column ?? 0) - (b.column ?? 0);
}
