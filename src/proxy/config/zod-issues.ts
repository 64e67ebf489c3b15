import { z } from 'zod';
import { valueAt } from './config-path.js';
import { rawIssue, type RawIssue } from './raw-issue.js';
import { MISPLACED } from './not-yet.js';

type ZodIssue = z.core.$ZodIssue;

/**
 * Translates zod's issues into {@link RawIssue}s that name the setting's path,
 * the value found and what is allowed. "Allowed" comes from the `describe()`
 * text on the schema at that path, so it is written once, next to the rule.
 * Unions are reported through the branch the value was meant for (a string
 * target as a string, an object target field by field), unknown keys one by
 * one with the keys that are valid there and a "did you mean" guess.
 */
export function zodIssues(
  issues: readonly ZodIssue[],
  root: unknown,
  schema: z.ZodType,
): RawIssue[] {
  const out: RawIssue[] = [];
  for (const issue of issues) convert(issue, [], root, schema, out);
  return out;
}

function convert(
  issue: ZodIssue,
  prefix: readonly PropertyKey[],
  root: unknown,
  schema: z.ZodType,
  out: RawIssue[],
): void {
  const segments = [...prefix, ...issue.path];
  const allowed = descriptionOf(schemaAt(schema, segments));
  const value = valueAt(root, segments);
  switch (issue.code) {
    case 'unrecognized_keys':
      for (const key of issue.keys) out.push(unknownKey(root, schema, [...segments, key]));
      return;
    case 'invalid_union': {
      const branch = intendedBranch(issue.errors);
      if (branch === undefined) out.push(rawIssue(root, segments, typeProblem(value), { allowed }));
      else for (const inner of branch) convert(inner, segments, root, schema, out);
      return;
    }
    case 'invalid_key':
      out.push(
        rawIssue(root, segments, issue.issues.map((i) => i.message).join('; '), {
          at: 'key',
          showValue: false,
          allowed: keyDescription(schemaAt(schema, segments.slice(0, -1))),
        }),
      );
      return;
    case 'invalid_type':
      if (issue.expected === 'never') {
        out.push(
          rawIssue(root, segments, issue.message, {
            kind: 'not-supported-yet',
            at: 'key',
            showValue: false,
          }),
        );
      } else {
        const kind = value === undefined ? 'missing' : 'invalid';
        out.push(rawIssue(root, segments, typeProblem(value, issue.expected), { kind, allowed }));
      }
      return;
    case 'too_small':
    case 'too_big':
      out.push(rawIssue(root, segments, sizeProblem(issue), { allowed }));
      return;
    case 'invalid_value':
      out.push(
        rawIssue(root, segments, 'not one of the choices', {
          allowed: allowed ?? issue.values.map((v) => String(v)).join(', '),
        }),
      );
      return;
    case 'custom': {
      // A check written in code may say what is allowed and point at the key itself.
      const params = (issue.params ?? {}) as {
        allowed?: string;
        at?: 'key';
        kind?: 'misplaced';
      };
      const at = params.at ?? 'value';
      out.push(
        rawIssue(root, segments, issue.message, {
          ...(params.kind === undefined ? {} : { kind: params.kind }),
          allowed: params.allowed ?? allowed,
          at,
          showValue: at === 'value',
        }),
      );
      return;
    }
    default:
      out.push(rawIssue(root, segments, issue.message, { allowed }));
  }
}

/** The one union branch whose type matched (its errors are deeper than "wrong type"). */
function intendedBranch(
  branches: readonly (readonly ZodIssue[])[],
): readonly ZodIssue[] | undefined {
  const matched = branches.filter(
    (issues) => !issues.every((i) => i.code === 'invalid_type' && i.path.length === 0),
  );
  return matched.length === 1 ? matched[0] : undefined;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

function typeProblem(value: unknown, expected?: string): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'empty';
  if (typeof value === 'number' && !Number.isFinite(value)) return 'must be a finite number';
  return expected === undefined ? 'wrong type' : `must be ${TYPE_WORDS[expected] ?? expected}`;
}

function sizeProblem(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  if (issue.origin === 'array' || issue.origin === 'string') {
    if (small && limit === 1) return 'must not be empty';
    const unit = issue.origin === 'array' ? 'entries' : 'characters';
    return `${small ? 'needs at least' : 'allows at most'} ${limit} ${unit}`;
  }
  const bound =
    issue.inclusive === false
      ? small
        ? 'more than'
        : 'less than'
      : small
        ? 'at least'
        : 'at most';
  return `must be ${bound} ${limit}`;
}

function unknownKey(root: unknown, schema: z.ZodType, segments: readonly PropertyKey[]): RawIssue {
  const key = String(segments[segments.length - 1]);
  const known = objectKeys(schemaAt(schema, segments.slice(0, -1)));
  const guess = closest(key, known);
  const problem =
    guess === undefined ? 'unknown setting' : `unknown setting; did you mean ${guess}?`;
  return rawIssue(root, segments, problem, {
    kind: 'unknown-setting',
    at: 'key',
    showValue: false,
    allowed: known.length === 0 ? undefined : known.join(', '),
  });
}

/** The schema that validates the value at `segments`, following objects, lists, records and unions. */
function schemaAt(schema: z.ZodType, segments: readonly PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  for (const segment of segments) {
    if (current === undefined) return undefined;
    current = step(current, segment);
  }
  return current;
}

function step(schema: z.ZodType, segment: PropertyKey): z.ZodType | undefined {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject)
    return (inner.shape as Record<string, z.ZodType>)[String(segment)];
  if (inner instanceof z.ZodArray)
    return typeof segment === 'number' ? (inner.element as z.ZodType) : undefined;
  if (inner instanceof z.ZodRecord) return inner.valueType as z.ZodType;
  if (inner instanceof z.ZodUnion) {
    for (const option of inner.options as readonly z.ZodType[]) {
      const found = step(option, segment);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Peels optional, default and pipe (transform) wrappers. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodOptional || current instanceof z.ZodDefault) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else return current;
  }
}

/** The `describe()` text of a record's key schema. */
function keyDescription(schema: z.ZodType | undefined): string | undefined {
  const inner = schema === undefined ? undefined : unwrap(schema);
  return inner instanceof z.ZodRecord ? descriptionOf(inner.keyType as z.ZodType) : undefined;
}

/** The outermost `describe()` text between `schema` and its innermost wrapped schema. */
function descriptionOf(schema: z.ZodType | undefined): string | undefined {
  let current = schema;
  while (current !== undefined) {
    if (current.description !== undefined) return current.description;
    const inner = unwrapOnce(current);
    current = inner === current ? undefined : inner;
  }
  return undefined;
}

function unwrapOnce(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault)
    return schema.unwrap() as z.ZodType;
  if (schema instanceof z.ZodPipe) return schema.in as z.ZodType;
  return schema;
}

/**
 * The keys an object schema (or a union's object branch) accepts, without later releases' settings
 * and without settings that go elsewhere (`auth` on an upstream).
 */
function objectKeys(schema: z.ZodType | undefined): string[] {
  const inner = schema === undefined ? undefined : unwrap(schema);
  if (inner instanceof z.ZodUnion) {
    return (inner.options as readonly z.ZodType[]).flatMap((option) => objectKeys(option));
  }
  if (!(inner instanceof z.ZodObject)) return [];
  const shape = inner.shape as Record<string, z.ZodType>;
  return Object.keys(shape).filter((key) => {
    const field = shape[key];
    return field === undefined || !(unwrap(field) instanceof z.ZodNever || MISPLACED.has(field));
  });
}

/** The known key nearest to a mistyped one (same letters ignoring case, or ≤ 2 edits). */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    // The distance is at least the difference in length: a 100 KB key costs nothing.
    if (Math.abs(candidate.length - key.length) >= bestDistance) continue;
    const distance =
      candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
