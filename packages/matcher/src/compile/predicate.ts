import type { CompareOperator, Predicate } from '@graylane/rules';
import type { RequestView } from '../request-view.js';
import { stickyBucket } from '../hash.js';
import type { FieldReader } from './field.js';
import { MAX_REGEX_INPUT, compileRegex } from './regex.js';
import { randomBucket } from './state.js';
import type { MatchState } from './state.js';

/** A compiled condition. */
export type Test = (req: RequestView) => boolean;

/** Decimal numbers only: no hex, no empty string, no whitespace (unlike `Number()`). */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/**
 * Compiles one predicate over its field's reader into a test, or returns why a regex is refused.
 * Every operator but `not exists` is false when the field is absent.
 */
export function compilePredicate(predicate: Predicate, read: FieldReader, state: MatchState): Test | string {
  if (predicate.operator === 'random') {
    const percentage = predicate.percentage;
    return () => randomBucket(state) < percentage;
  }
  switch (predicate.operator) {
    case 'exists':
      return (req) => read(req) !== undefined;
    case 'not exists':
      return (req) => read(req) === undefined;
    case 'in':
    case 'not in': {
      const values = new Set(predicate.values);
      const inside = predicate.operator === 'in';
      return (req) => {
        const value = read(req);
        return value !== undefined && values.has(value) === inside;
      };
    }
    case 'prefix': {
      const expected = predicate.value;
      return (req) => read(req)?.startsWith(expected) === true;
    }
    case 'suffix': {
      const expected = predicate.value;
      return (req) => read(req)?.endsWith(expected) === true;
    }
    case 'contains': {
      const expected = predicate.value;
      return (req) => read(req)?.includes(expected) === true;
    }
    case 'regex': {
      const regex = compileRegex(predicate.value);
      if (typeof regex === 'string') return regex;
      return (req) => {
        const value = read(req);
        return value !== undefined && value.length <= MAX_REGEX_INPUT && regex.test(value);
      };
    }
    case 'modulo': {
      const { divisor, remainder } = predicate;
      const holds = numberComparison(predicate.compare, remainder);
      return (req) => {
        const value = read(req);
        if (value === undefined || !INTEGER.test(value)) return false;
        const n = Number(value);
        return Number.isSafeInteger(n) && holds(n % divisor);
      };
    }
    case 'sticky': {
      const percentage = predicate.percentage;
      return (req) => {
        const value = read(req);
        return value !== undefined && stickyBucket(value) < percentage;
      };
    }
    default: {
      const expected = predicate.value;
      if (predicate.operator === '==' && !DECIMAL.test(expected)) return (req) => read(req) === expected;
      const holds = valueComparison(predicate.operator, expected);
      return (req) => {
        const value = read(req);
        return value !== undefined && holds(value);
      };
    }
  }
}

/** `actual <op> expected`: numeric when both are decimal numbers, else by UTF-16 code units. */
export function valueComparison(operator: CompareOperator, expected: string): (actual: string) => boolean {
  if (!DECIMAL.test(expected)) return stringComparison(operator, expected);
  const byString = stringComparison(operator, expected);
  const byNumber = numberComparison(operator, Number(expected));
  if (operator === '==') return (actual) => actual === expected || (DECIMAL.test(actual) && byNumber(Number(actual)));
  if (operator === '!=') return (actual) => actual !== expected && (!DECIMAL.test(actual) || byNumber(Number(actual)));
  return (actual) => (DECIMAL.test(actual) ? byNumber(Number(actual)) : byString(actual));
}

function stringComparison(operator: CompareOperator, expected: string): (actual: string) => boolean {
  switch (operator) {
    case '==':
      return (actual) => actual === expected;
    case '!=':
      return (actual) => actual !== expected;
    case '>':
      return (actual) => actual > expected;
    case '<':
      return (actual) => actual < expected;
    case '>=':
      return (actual) => actual >= expected;
    case '<=':
      return (actual) => actual <= expected;
  }
}

function numberComparison(operator: CompareOperator, expected: number): (actual: number) => boolean {
  switch (operator) {
    case '==':
      return (actual) => actual === expected;
    case '!=':
      return (actual) => actual !== expected;
    case '>':
      return (actual) => actual > expected;
    case '<':
      return (actual) => actual < expected;
    case '>=':
      return (actual) => actual >= expected;
    case '<=':
      return (actual) => actual <= expected;
  }
}
