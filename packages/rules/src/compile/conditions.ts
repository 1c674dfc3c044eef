import { RE2JS } from 're2js';
import type { Condition, FieldType, Predicate } from '../model/types.js';
import type { ConditionDoc, PredicateDoc } from '../model/schema.js';
import { joinPath, show } from '../model/issues.js';
import type { IssueList } from '../model/issues.js';
import { MAX_REGEX_LENGTH } from '../model/limits.js';

/** Field types that need a `name`. */
const NAMED: ReadonlySet<FieldType> = new Set(['header', 'query', 'cookie', 'attribute']);

/** What a document calls the predicate's name and value fields (OpenSergo says `key`). */
export interface FieldKeys {
  readonly name: string;
  readonly value: string;
}

const NATIVE_KEYS: FieldKeys = { name: 'name', value: 'value' };

/** Converts a validated document condition into the compiled model; records semantic problems. */
export function toCondition(doc: ConditionDoc, path: string, issues: IssueList): Condition | undefined {
  if ('all' in doc || 'any' in doc) {
    const key = 'all' in doc ? 'all' : 'any';
    const items = 'all' in doc ? doc.all : doc.any;
    const out: Condition[] = [];
    items.forEach((item, i) => {
      const condition = toCondition(item, joinPath(path, [key, i]), issues);
      if (condition) out.push(condition);
    });
    if (out.length !== items.length) return undefined;
    return key === 'all' ? { all: out } : { any: out };
  }
  return toPredicate(doc, path, issues);
}

/**
 * Converts one document predicate: checks that `name` is given exactly when the field needs one,
 * lower-cases header names, normalises method (upper case) and host (lower case) values,
 * stringifies numbers, and checks regex patterns compile and stay within {@link MAX_REGEX_LENGTH}.
 */
export function toPredicate(
  doc: PredicateDoc,
  path: string,
  issues: IssueList,
  keys: FieldKeys = NATIVE_KEYS,
): Predicate | undefined {
  if (doc.operator === 'random') return { operator: 'random', percentage: doc.percentage };
  const name = fieldName(doc.type, doc.name, joinPath(path, [keys.name]), issues);
  if (name === undefined) return undefined;
  const field = { type: doc.type, name };
  const normalise = (value: string | number): string => {
    const text = String(value);
    if (doc.type === 'method') return text.toUpperCase();
    if (doc.type === 'host') return text.toLowerCase();
    return text;
  };
  switch (doc.operator) {
    case 'in':
    case 'not in':
      return { ...field, operator: doc.operator, values: [...new Set(doc.values.map(normalise))] };
    case 'regex':
      return checkRegex(doc.value, joinPath(path, [keys.value]), issues)
        ? { ...field, operator: 'regex', value: doc.value }
        : undefined;
    case 'prefix':
    case 'suffix':
    case 'contains':
      return { ...field, operator: doc.operator, value: normalise(doc.value) };
    case 'exists':
    case 'not exists':
      return { ...field, operator: doc.operator };
    case 'modulo':
      return { ...field, operator: 'modulo', divisor: doc.divisor, remainder: doc.remainder, compare: doc.compare ?? '==' };
    case 'sticky':
      return { ...field, operator: 'sticky', percentage: doc.percentage };
    default:
      return { ...field, operator: doc.operator, value: normalise(doc.value) };
  }
}

/** The compiled name of a field (`''` for unnamed fields), or undefined after recording an issue. */
export function fieldName(type: FieldType, name: string | undefined, path: string, issues: IssueList): string | undefined {
  if (NAMED.has(type)) {
    if (name === undefined) {
      issues.error(path, `is required: a ${type} condition names the ${type} to read`);
      return undefined;
    }
    return type === 'header' ? name.toLowerCase() : name;
  }
  if (name !== undefined) {
    issues.error(path, `must be omitted: a ${type} condition reads the request's ${type}, which has no name`);
    return undefined;
  }
  return '';
}

function checkRegex(pattern: string, path: string, issues: IssueList): boolean {
  if (pattern.length > MAX_REGEX_LENGTH) {
    issues.error(path, `regex is ${pattern.length} characters long; the limit is ${MAX_REGEX_LENGTH}`);
    return false;
  }
  const refused = regexProblem(pattern);
  if (refused === undefined) return true;
  issues.error(path, `regex ${show(pattern)} ${refused}`);
  return false;
}

/**
 * Why a rule regex cannot be used, or `undefined`. Rule regexes run on RE2JS, a linear-time engine
 * (no backtracking, so no pattern can hang a request on a long header): RE2 syntax, which is
 * JavaScript's without backreferences and lookaround.
 */
export function regexProblem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (error) {
    const reason = (error as Error).message;
    const unsupported = /\\[1-9]|\\k<|\(\?<?[=!]/.test(pattern);
    return unsupported
      ? `uses a backreference or lookaround, which a linear-time regex engine (RE2) cannot run (${reason}); match the parts with separate conditions instead`
      : `is not a valid RE2 regular expression: ${reason}`;
  }
}
