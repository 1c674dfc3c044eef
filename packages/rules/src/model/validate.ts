import * as z from 'zod';
import { joinPath, show } from './issues.js';
import type { IssueList, PathSegment } from './issues.js';

/**
 * zod stays behind this file: schemas are built with {@link strict} and checked with
 * {@link validate}, which turns zod's issues into graylane's {@link IssueList} entries with a path
 * and a message a person can act on.
 */

const KIND_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

/** A strict object schema whose unknown-field message lists the fields it knows. */
export function strict<T extends z.ZodRawShape>(shape: T): z.ZodObject<T, z.core.$strict> {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field; expected one of: ${known}` : undefined),
  });
}

/** Maps a path in the validated value to the path as written (importers that rename keys use it). */
export type PathDisplay = (segments: readonly PathSegment[]) => readonly PathSegment[];

/** Parses `value` with `schema`; on failure records every issue under `prefix` and returns undefined. */
export function validate<T>(
  schema: z.ZodType<T>,
  value: unknown,
  prefix: string,
  issues: IssueList,
  display: PathDisplay = (segments) => segments,
): T | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const at = (segments: readonly PathSegment[]) => joinPath(prefix, display(segments));
  for (const issue of result.error.issues) report(issue, value, [], at, issues);
  return undefined;
}

type Issue = z.core.$ZodIssue;

function report(
  issue: Issue,
  root: unknown,
  base: readonly PathSegment[],
  at: (segments: readonly PathSegment[]) => string,
  issues: IssueList,
): void {
  const path = [...base, ...(issue.path as PathSegment[])];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const branch = closestBranch(issue.errors, valueAt(root, path));
    if (branch) {
      for (const inner of branch) report(inner, root, path, at, issues);
      return;
    }
    const expected = issue.errors.map((errors) => (errors[0] as { expected: string }).expected);
    issues.error(at(path), expectation(expected, valueAt(root, path)));
    return;
  }
  if (issue.code === 'unrecognized_keys') {
    for (const key of issue.keys) issues.error(at([...path, key]), issue.message);
    return;
  }
  issues.error(at(path), message(issue, valueAt(root, path)));
}

/**
 * The union branch the input was most likely meant for: the one with the fewest missing and unknown
 * fields. Returns undefined when every branch failed on the value's type alone (`string | number`).
 */
function closestBranch(branches: readonly (readonly Issue[])[], value: unknown): readonly Issue[] | undefined {
  const typeOnly = branches.every((b) => b.length === 1 && b[0]?.code === 'invalid_type' && b[0].path.length === 0);
  if (typeOnly) return undefined;
  let best = branches[0];
  let bestScore = Infinity;
  for (const branch of branches) {
    let score = 0;
    for (const issue of branch) {
      if (issue.code === 'unrecognized_keys' && issue.path.length === 0) score += 2 * issue.keys.length;
      else if (issue.code === 'invalid_type' && issue.path.length === 0) score += 10;
      // A missing field counts the same whatever its type (a list, or a string-or-number union).
      else if (issue.path.length > 0 && valueAt(value, issue.path as PathSegment[]) === undefined) score += 3;
      else score += 1;
    }
    if (score < bestScore) {
      best = branch;
      bestScore = score;
    }
  }
  return best;
}

function message(issue: Issue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return expectation([issue.expected], value);
    case 'invalid_value':
      return `must be ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${show(value)})`;
    case 'invalid_union':
      if ('options' in issue && Array.isArray(issue.options)) {
        return `must be one of ${issue.options.map((v: unknown) => JSON.stringify(v)).join(', ')} (got ${show(value)})`;
      }
      return `is not valid here (got ${show(value)})`;
    case 'too_small':
      if (issue.origin === 'array') return `must list at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${issue.minimum} (got ${show(value)})`;
    case 'too_big':
      if (issue.origin === 'array') return `must list at most ${issue.maximum} items`;
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters long`;
      return `must be at most ${issue.maximum} (got ${show(value)})`;
    default:
      return issue.message;
  }
}

function expectation(expected: readonly string[], value: unknown): string {
  const names = expected.map((kind) => KIND_NAMES[kind] ?? kind).join(' or ');
  if (value === undefined) return `is required: expected ${names}`;
  if (expected.includes('int') && typeof value === 'number') return `must be an integer (got ${show(value)})`;
  return `expected ${names}, got ${show(value)}`;
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let value = root;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PathSegment, unknown>)[segment];
  }
  return value;
}

/** What {@link validateFields} returns: the fields that passed, and whether every field did. */
export interface PartialResult<T> {
  readonly value: Partial<T>;
  readonly ok: boolean;
}

/**
 * Like {@link validate} for an object schema, but a field that fails hides nothing else: every
 * issue is recorded, and the fields that passed on their own are returned, so that the importer can
 * go on checking what they hold (the match rules of a lane with a misspelt `strict`). Returns
 * undefined only when `value` is not an object.
 */
export function validateFields<S extends z.ZodRawShape, T>(
  schema: z.ZodObject<S, z.core.$strict> & z.ZodType<T>,
  value: unknown,
  prefix: string,
  issues: IssueList,
  display?: PathDisplay,
): PartialResult<T> | undefined {
  const whole = validate<T>(schema, value, prefix, issues, display);
  if (whole !== undefined) return { value: whole, ok: true };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    if (!Object.hasOwn(record, key)) continue;
    const result = (field as z.ZodType).safeParse(record[key]);
    if (result.success && result.data !== undefined) out[key] = result.data;
  }
  return { value: out as Partial<T>, ok: false };
}
