/**
 * Parsing a discovery file: a YAML or JSON list of targets, written as in
 * the config's `targets:` (`"host:port"` or `{ address, weight }`), either
 * as the whole document or under a `targets:` key. Validated with the
 * config's own target schema, and every problem placed at its line and
 * column as config errors are. Pure (text in, targets or problems out).
 */
import { isDocument, LineCounter } from 'yaml';
import { formatConfigIssue, type ConfigIssue } from '../../shared/errors.js';
import { parseYamlDocument } from '../config/parse-yaml.js';
import { placeIssues, rawIssue, type RawIssue } from '../config/raw-issue.js';
import { fields } from '../config/raw-fields.js';
import { targetSchema } from '../config/schema.js';
import type { TargetConfig } from '../config/types.js';
import { yamlLocator } from '../config/yaml-locator.js';
import { zodIssues } from '../config/zod-issues.js';
import { z } from 'zod';

export type TargetList =
  | { readonly ok: true; readonly targets: readonly TargetConfig[] }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

const listSchema = z
  .array(targetSchema)
  .describe('a list of targets, "host:port" or { address, weight }');

/** Parses a discovery file's text (problems carry line and column; see {@link formatTargetListIssues}). */
export function parseTargetList(text: string): TargetList {
  const lineCounter = new LineCounter();
  const doc = parseYamlDocument(text, lineCounter);
  if (!isDocument(doc)) {
    return fail({ kind: 'invalid', path: '', problem: 'nested too deeply', ...pos(doc) });
  }
  const [first] = doc.errors;
  if (first !== undefined) {
    const { line, col } = lineCounter.linePos(first.pos[0]);
    return fail({
      kind: 'syntax',
      path: '',
      problem: `YAML syntax error: ${first.message.split('\n')[0] ?? ''}`,
      line,
      column: col,
    });
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (err) {
    return fail({ kind: 'syntax', path: '', problem: String(err) });
  }
  const locate = yamlLocator(doc, lineCounter);
  // An empty file is an empty list: the upstream has no targets (and answers 503) until it has.
  if (raw === null || raw === undefined) return { ok: true, targets: [] };
  const nested = fields(raw) !== undefined;
  const schema = nested ? z.strictObject({ targets: listSchema }) : listSchema;
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issues: RawIssue[] =
      Array.isArray(raw) || nested
        ? zodIssues(result.error.issues, raw, schema)
        : [
            rawIssue(raw, [], 'not a list of targets', {
              allowed: 'a list of "host:port" or { address, weight }, or targets: [ ... ]',
            }),
          ];
    return { ok: false, issues: placeIssues(issues, locate) };
  }
  const targets = Array.isArray(result.data) ? result.data : result.data.targets;
  const prefix: PropertyKey[] = nested ? ['targets'] : [];
  const seen = new Map<string, number>();
  const duplicates: RawIssue[] = [];
  targets.forEach((t, k) => {
    const key = `${t.address.host}:${t.address.port}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, k);
    else {
      duplicates.push(
        rawIssue(raw, [...prefix, k], `the same target as [${first}]`, {
          kind: 'duplicate',
          allowed: 'each target once (give it a larger weight instead)',
        }),
      );
    }
  });
  if (duplicates.length > 0) return { ok: false, issues: placeIssues(duplicates, locate) };
  return { ok: true, targets };
}

/** The problems as `FILE:LINE:COL: PATH: problem` lines. */
export function formatTargetListIssues(source: string, issues: readonly ConfigIssue[]): string {
  return issues.map((issue) => formatConfigIssue(source, issue)).join('; ');
}

function fail(issue: ConfigIssue): TargetList {
  return { ok: false, issues: [issue] };
}

function pos(excess: { line: number; column: number }): { line: number; column: number } {
  return { line: excess.line, column: excess.column };
}
