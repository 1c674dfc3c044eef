import { parseAllDocuments } from 'yaml';
import { ErrorCode, GraylaneError } from '@graylane/core';
import type { LaneRuleSet, RuleIssue } from './model/types.js';
import { IssueList, joinPath } from './model/issues.js';
import { MAX_CONDITIONS, MAX_DOCUMENTS, MAX_DOCUMENT_DEPTH, MAX_LANES, MAX_RULE_TEXT_LENGTH } from './model/limits.js';
import type { Condition } from './model/types.js';
import { keepYamlDigits, quoteLossyJsonNumbers } from './model/numbers.js';
import { importDocument } from './importers/documents.js';
import { merge } from './compile/merge.js';
import { warnShadowedRules } from './compile/shadow.js';

/** Options of {@link parseRules}. */
export interface ParseRulesOptions {
  /** Input format; detected when omitted (`{` or `[` first means JSON, anything else YAML). */
  readonly format?: 'yaml' | 'json';
  /** Where the text came from (a file name), quoted in the error message. */
  readonly source?: string;
}

/** Rules that passed validation, with the warnings found on the way. */
export interface ParsedRules {
  readonly rules: LaneRuleSet;
  readonly warnings: RuleIssue[];
}

/** The non-throwing result of {@link validateRules}. */
export type RuleValidation =
  | { readonly ok: true; readonly rules: LaneRuleSet; readonly warnings: RuleIssue[] }
  | { readonly ok: false; readonly issues: RuleIssue[] };

interface Document {
  readonly value: unknown;
  readonly path: string;
}

/**
 * Parses rule text: YAML (any number of `---` documents) or JSON (one document, or a list of
 * documents), in any supported form (native LaneRules, OpenSergo TrafficLabelRule,
 * WorkloadLabelRule and TrafficRouter, MSE lane JSON), and merges every document into one
 * {@link LaneRuleSet}. Paths in issues start with `documents[i]` for YAML and for JSON lists.
 *
 * @throws GraylaneError `GRAYLANE_ERR_RULE_INVALID` listing every problem in `details.issues`.
 */
export function parseRules(text: string, options: ParseRulesOptions = {}): ParsedRules {
  const issues = new IssueList();
  const documents = readDocuments(text, options.format, issues);
  const result = check(documents, issues);
  if (!result.ok) throw invalid(result.issues, options.source);
  return { rules: result.rules, warnings: result.warnings };
}

/**
 * Validates already-parsed input (one document, or a list of documents) without throwing.
 * `issues` holds the errors, then the warnings.
 */
export function validateRules(input: unknown): RuleValidation {
  const documents = Array.isArray(input)
    ? input.map((value, i) => ({ value, path: joinPath('documents', [i]) }))
    : [{ value: input, path: '' }];
  return check(documents, new IssueList());
}

function check(documents: readonly Document[], issues: IssueList): RuleValidation {
  if (documents.length > MAX_DOCUMENTS) {
    issues.error('', `has ${documents.length} documents; the limit is ${MAX_DOCUMENTS} (see docs/reference/rules.md, size limits)`);
    return failure(issues);
  }
  const contributions = documents.flatMap(({ value, path }) => {
    if (tooDeep(value)) {
      issues.error(path, `is nested deeper than ${MAX_DOCUMENT_DEPTH} levels; rule documents are never that deep`);
      return [];
    }
    return [importDocument(value, path, issues)];
  });
  const { rules, origins, lanePaths } = merge(contributions, issues);
  if (issues.failed) return failure(issues);
  checkSize(rules, issues);
  if (issues.failed) return failure(issues);
  warnShadowedRules(rules, origins, lanePaths, issues);
  return { ok: true, rules, warnings: issues.warnings };
}

/** The lane and condition limits of a merged rule set. */
function checkSize(rules: LaneRuleSet, issues: IssueList): void {
  if (rules.lanes.length > MAX_LANES) {
    issues.error('', `has ${rules.lanes.length} lanes; the limit is ${MAX_LANES} (see docs/reference/rules.md, size limits)`);
    return;
  }
  let predicates = 0;
  const stack: Condition[] = rules.lanes.flatMap((lane) => lane.match.map((rule) => rule.condition));
  while (stack.length > 0 && predicates <= MAX_CONDITIONS) {
    const condition = stack.pop()!;
    if ('all' in condition) stack.push(...condition.all);
    else if ('any' in condition) stack.push(...condition.any);
    else predicates++;
  }
  if (predicates > MAX_CONDITIONS) {
    issues.error('', `has more than ${MAX_CONDITIONS} conditions; the limit is ${MAX_CONDITIONS} (see docs/reference/rules.md, size limits)`);
  }
}

function failure(issues: IssueList): RuleValidation {
  return { ok: false, issues: [...issues.errors, ...issues.warnings] };
}

function readDocuments(text: unknown, format: 'yaml' | 'json' | undefined, issues: IssueList): Document[] {
  if (typeof text !== 'string') {
    issues.error('', `expected rule text (a string), got ${text === null ? 'null' : typeof text}`);
    return [];
  }
  if (text.length > MAX_RULE_TEXT_LENGTH) {
    issues.error('', `is ${text.length} characters long; the limit is ${MAX_RULE_TEXT_LENGTH} (32 Mi; see docs/reference/rules.md, size limits)`);
    return [];
  }
  const json = format === undefined ? /^\s*[[{]/.test(text) : format === 'json';
  return json ? readJson(text, issues) : readYaml(text, issues);
}

function readJson(text: string, issues: IssueList): Document[] {
  let value: unknown;
  try {
    value = JSON.parse(quoteLossyJsonNumbers(text));
  } catch (error) {
    issues.error('', `is not valid JSON: ${(error as Error).message}`);
    return [];
  }
  return Array.isArray(value)
    ? value.map((item, i) => ({ value: item, path: joinPath('documents', [i]) }))
    : [{ value, path: '' }];
}

function readYaml(text: string, issues: IssueList): Document[] {
  const documents: Document[] = [];
  const parsed = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(parsed) ? parsed : [];
  list.forEach((doc, i) => {
    const path = joinPath('documents', [i]);
    if (doc.errors.length > 0) {
      for (const error of doc.errors) issues.error(path, `is not valid YAML: ${error.message.split('\n')[0]}`);
      return;
    }
    let value: unknown;
    try {
      keepYamlDigits(doc);
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      issues.error(path, `cannot be read: ${(error as Error).message}`);
      return;
    }
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) value.forEach((item, j) => documents.push({ value: item, path: joinPath(path, [j]) }));
    else documents.push({ value, path });
  });
  return documents;
}

/** Depth check without recursion, so that hostile nesting cannot overflow the stack. */
function tooDeep(root: unknown): boolean {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= MAX_DOCUMENT_DEPTH) return true;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return false;
}

function invalid(issues: readonly RuleIssue[], source: string | undefined): GraylaneError {
  const errors = issues.filter((issue) => issue.severity === 'error');
  const lines = errors.slice(0, 20).map((issue) => `  ${issue.path || '(document)'}: ${issue.message}`);
  if (errors.length > 20) lines.push(`  ... and ${errors.length - 20} more (see details.issues)`);
  const count = `${errors.length} problem${errors.length === 1 ? '' : 's'}`;
  return new GraylaneError(ErrorCode.RULE_INVALID, `invalid lane rules${source ? ` in ${source}` : ''} (${count}):\n${lines.join('\n')}`, {
    details: { issues, ...(source === undefined ? {} : { source }) },
  });
}
