import type { RuleIssue } from './types.js';
import { MAX_ISSUES } from './limits.js';

/** A path segment: an object key or an array index. */
export type PathSegment = string | number;

/** Renders `a`, `[0]`, `b` as `a[0].b`, after `prefix` (which may be empty). */
export function joinPath(prefix: string, segments: readonly PathSegment[] = []): string {
  let out = prefix;
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Collects errors and warnings while input is checked, so every problem is reported at once. */
export class IssueList {
  readonly errors: RuleIssue[] = [];
  readonly warnings: RuleIssue[] = [];

  error(path: string, message: string): void {
    if (this.errors.length < MAX_ISSUES) this.errors.push({ path, message, severity: 'error' });
    else if (this.errors.length === MAX_ISSUES) {
      this.errors.push({ path: '', message: 'too many problems; fix these first', severity: 'error' });
    }
  }

  warn(path: string, message: string): void {
    this.warnings.push({ path, message, severity: 'warning' });
  }

  get failed(): boolean {
    return this.errors.length > 0;
  }
}

/** Short, printable rendering of an input value for messages. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
