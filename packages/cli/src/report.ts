import { isGraylaneError } from '@graylane/core';
import type { RuleIssue } from '@graylane/rules';
import type { Context } from './command.js';

/** `  <path>: <message>`, with `warning: ` before the message of a warning. */
export function formatIssue(issue: RuleIssue): string {
  const label = issue.severity === 'warning' ? 'warning: ' : '';
  return `  ${issue.path || '(document)'}: ${label}${issue.message}`;
}

/** The issues a graylane error carries in `details.issues` (rule errors), else none. */
export function issuesOf(error: unknown): readonly RuleIssue[] {
  const issues = isGraylaneError(error) ? error.details['issues'] : undefined;
  return Array.isArray(issues) ? (issues as RuleIssue[]) : [];
}

/**
 * Prints an error as `graylane: <code>: <message>` and then every issue it carries on its own
 * line. Rule errors repeat their first issues in the message, so only its first line is kept.
 */
export function printError(context: Context, error: unknown): void {
  const issues = issuesOf(error);
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  context.err(`graylane: ${typeof code === 'string' ? code : 'error'}: ${issues.length > 0 ? message.split('\n')[0] : message}`);
  for (const issue of issues) context.err(formatIssue(issue));
}

/** Prints rule warnings on standard error as `graylane: warning: <path>: <message>`. */
export function printWarnings(context: Context, warnings: readonly RuleIssue[]): void {
  for (const { path, message } of warnings) context.err(`graylane: warning: ${path || '(document)'}: ${message}`);
}
